/**
 * The dashboards read only series /metrics exports by default: every window they name is the
 * default export window (1m, for the default pipeline windows and the demo fleet's), other
 * panels follow the `$window` variable, and levels and nodes come from `label_values` of the
 * exported series, never from a hard-coded level (the rack rows are not exported by default).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defaultMetricsWindowsMs, formatIssues, loadConfigFile } from '../../../src/config/index.js';
import { windowLabel } from '../../../src/core/index.js';
import { configFromText } from '../../helpers/config.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const dashboardsDir = join(repoRoot, 'grafana/dashboards');
const texts = readdirSync(dashboardsDir).filter((f) => f.endsWith('.json')).map((f) => ({ file: f, text: readFileSync(join(dashboardsDir, f), 'utf8') }));

/** Values of `label="…"` / `label=~"…"` matchers in the dashboards' JSON text (quotes escaped in JSON). */
function matcherValues(text: string, label: string): string[] {
  return [...text.matchAll(new RegExp(`\\b${label}=~?\\\\"((?:[^"\\\\]|\\\\\\\\.)*)\\\\"`, 'g'))].map((m) => m[1] ?? '');
}

describe('Grafana dashboards and the /metrics defaults', () => {
  it('the dashboards have window and level matchers (the test reads them)', () => {
    expect(texts.length).toBeGreaterThan(0);
    expect(new Set(texts.flatMap((t) => matcherValues(t.text, 'window')))).toEqual(new Set(['$window', '1m']));
    expect(texts.flatMap((t) => matcherValues(t.text, 'level')).length).toBeGreaterThan(0);
  });

  it('every window a dashboard names is exported by default (default pipeline windows and the demo fleet\'s)', () => {
    const defaults = configFromText('sinks: { metrics: {} }\nsites:\n  - id: s1\n    nodes:\n      - { id: a, level: grid, rating: 1MW, meters: [m] }\n');
    const demo = loadConfigFile(join(repoRoot, 'config/demo-fleet.yaml'));
    if (!demo.ok) throw new Error(formatIssues('demo-fleet.yaml', demo.issues));
    const exportedByDefault = [defaultMetricsWindowsMs(defaults.engine.windowsMs), defaultMetricsWindowsMs(demo.config.engine.windowsMs), demo.config.sinks.metrics?.windowsMs ?? []];
    for (const { file, text } of texts) {
      for (const w of matcherValues(text, 'window')) {
        if (w === '$window') continue;
        for (const windowsMs of exportedByDefault) expect(windowsMs.map(windowLabel), `${file}: window="${w}"`).toContain(w);
      }
    }
  });

  it('levels come from the $level variable, never a hard-coded level', () => {
    for (const { file, text } of texts) for (const l of matcherValues(text, 'level')) expect(l, file).toBe('$level');
  });
});
