import type { OutputRecord, WindowResult } from '../../src/domain/index.js';

/**
 * The final (highest-revision) record of every window, keyed `type|site|node-or-meter|windowMs|start`.
 * Alerts and non-window lines are left out. What two runs must agree on, however often a
 * window was restated on the way.
 */
export function finalWindows(records: readonly (OutputRecord | { type: string })[]): Map<string, WindowResult> {
  const out = new Map<string, WindowResult>();
  for (const rec of records) {
    if (rec.type !== 'node' && rec.type !== 'meter' && rec.type !== 'site') continue;
    const r = rec as WindowResult;
    const id = r.type === 'node' ? r.node : r.type === 'meter' ? r.meter : '';
    const key = `${r.type}|${r.site}|${id}|${r.windowMs}|${r.start}`;
    const prev = out.get(key);
    if (prev === undefined || prev.revision < r.revision) out.set(key, r);
  }
  return out;
}
