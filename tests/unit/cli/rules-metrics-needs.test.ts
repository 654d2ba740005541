/**
 * `headroom rules` against what /metrics exports: the generated rules read only windows the
 * config exports, and every input they need that the config does not export (the swing
 * rule's 1m window, the in-stream rules' smallest window, levels such as the rack rows) is
 * named with the `sinks.metrics` setting that exports it, in the generated files (the command
 * also prints them on stderr).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatIssues, loadConfigFile, type HeadroomConfig } from '../../../src/config/index.js';
import { generateRulesFiles, rulesInput } from '../../../src/cli/rules/index.js';
import { windowLabel } from '../../../src/core/index.js';
import { configFromText } from '../../helpers/config.js';

const ROOT = join(import.meta.dirname, '../../..');

/** grid (intake) → UPS → hall (role it) → PDU → racks. */
function fleet(metrics: string, windows = '[10s, 1m, 15m]'): HeadroomConfig {
  return configFromText([
    `pipeline: { windows: ${windows} }`,
    `sinks: { metrics: ${metrics} }`,
    'sites:',
    '  - id: s1',
    '    nodes:',
    '      - { id: intake, level: grid, role: facility, rating: 10MW, meters: [m-in] }',
    '      - { id: ups, parent: intake, level: ups, rating: 4MW, meters: [m-ups] }',
    '      - { id: hall, parent: ups, level: hall, role: it, rating: 3MW }',
    '      - { id: pdu, parent: hall, level: pdu, rating: 400kW }',
    '      - { id: r1, parent: pdu, level: rack, rating: 17kW, meters: [m-r1] }',
    '      - { id: r2, parent: pdu, level: rack, rating: 17kW, meters: [m-r2] }',
    '',
  ].join('\n'));
}

/** Every `window="…"` the generated rule files read. */
function windowsRead(config: HeadroomConfig): Set<string> {
  const text = [...generateRulesFiles(config, 'x.yaml').values()].join('\n');
  return new Set([...text.matchAll(/window="([^"]*)"/g)].map((m) => m[1] ?? ''));
}

describe('headroom rules and the sinks.metrics defaults', () => {
  it('with the defaults the rules read only the exported window (1m) and name what they miss: the 10s window of the in-stream rules and the racks', () => {
    const config = fleet('{}');
    const exported = new Set(config.sinks.metrics?.windowsMs.map(windowLabel));
    expect([...exported]).toEqual(['1m']);
    for (const w of windowsRead(config)) expect(exported.has(w), w).toBe(true);
    const notes = rulesInput(config, 'x.yaml').metricsNotes;
    expect(notes).toHaveLength(2);
    expect(notes[0]).toContain('sinks.metrics.windows: [10s, 1m]');
    expect(notes[1]).toMatch(/level rack are not exported .*sinks\.metrics\.levels/);
    // Both files carry the notes as comments.
    for (const [path, text] of generateRulesFiles(config, 'x.yaml')) {
      if (!path.startsWith('prometheus/')) continue;
      for (const note of notes) expect(text, path).toContain(`# - ${note}`);
    }
  });

  it('names the swing rule\'s 1m window when the config does not export it, and the intake level when it is not exported', () => {
    const notes = rulesInput(fleet('{}', '[10s, 5m]'), 'x.yaml').metricsNotes;
    expect(notes.find((n) => n.startsWith('swing_high'))).toBe('swing_high reads window="1m", which /metrics does not export: add 1m to sinks.metrics.windows (and to pipeline.windows).');
    const noIntake = rulesInput(fleet('{ windows: [10s, 1m], levels: [ups, pdu] }'), 'x.yaml').metricsNotes;
    expect(noIntake).toEqual([
      'ramp_rate_high reads level grid, which /metrics does not export (fully): add it to sinks.metrics.levels.',
      'the node alerts cover only the nodes /metrics exports: nodes of level grid, hall, rack are not exported (sinks.metrics.levels, maxDepth), so their alerts come from the in-stream rules only; to alert on them here, add the levels to sinks.metrics.levels.',
    ]);
  });

  it('a config that exports every input gets no notes: the demo fleet (windows [10s, 1m], maxDepth 10)', () => {
    const r = loadConfigFile(join(ROOT, 'config/demo-fleet.yaml'));
    if (!r.ok) throw new Error(formatIssues('demo-fleet.yaml', r.issues));
    expect(rulesInput(r.config, 'demo-fleet.yaml').metricsNotes).toEqual([]);
    expect(rulesInput(fleet('{ windows: [10s, 1m], maxDepth: 10 }'), 'x.yaml').metricsNotes).toEqual([]);
  });
});
