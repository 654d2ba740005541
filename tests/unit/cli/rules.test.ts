/**
 * `headroom rules`: the Prometheus rules and Alertmanager routing come from the config (levels
 * are free text, sites and teams are the fleet's), and the committed deploy/ files are exactly
 * what the generator writes for the demo fleet.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { formatIssues, loadConfigFile, parseConfigText, type HeadroomConfig } from '../../../src/config/index.js';
import { generateRulesFiles, levelOrder } from '../../../src/cli/rules/index.js';
import { configFromText } from '../../helpers/config.js';

const ROOT = join(import.meta.dirname, '../../..');

function load(text: string): HeadroomConfig {
  return configFromText(text, 'made-up.yaml');
}

/** A fleet whose level and site names are nothing like the demo's (one with regex and quote characters). */
const MADE_UP_CONFIG = readFileSync(join(ROOT, 'tests/fixtures/config/made-up-levels.yaml'), 'utf8');

interface AlertmanagerDoc {
  route: { receiver: string; routes: { matchers: string[]; receiver: string; routes?: { matchers: string[]; receiver: string }[] }[] };
  inhibit_rules: { source_matchers: string[]; target_matchers?: string[] }[];
  receivers: { name: string; webhook_configs?: { url: string }[] }[];
}

describe('headroom rules', () => {
  it('the committed deploy/ files are what the generator writes for the demo fleet', () => {
    const r = loadConfigFile(join(ROOT, 'config/demo-fleet.yaml'));
    if (!r.ok) throw new Error(formatIssues('demo-fleet.yaml', r.issues));
    const files = generateRulesFiles(r.config, 'demo-fleet.yaml');
    expect([...files.keys()].sort()).toEqual(['alertmanager/alertmanager.yml', 'prometheus/rules/headroom-alerts.yml', 'prometheus/rules/headroom-recording.yml']);
    for (const [path, text] of files) expect(readFileSync(join(ROOT, 'deploy', path), 'utf8'), path).toBe(text);
  });

  it('takes the intake level, the alerting window and the level order from the config, not the demo fleet', () => {
    const files = generateRulesFiles(load(MADE_UP_CONFIG), 'made-up.yaml');
    const recording = files.get('prometheus/rules/headroom-recording.yml') ?? '';
    const alerts = files.get('prometheus/rules/headroom-alerts.yml') ?? '';
    expect(recording).toContain('abs(headroom_node_ramp_watts_per_second{window="30s", level="utility-feed"})');
    // Every level matcher in every file names a level of this config; none is the demo's.
    const all = [...files.values()].join('\n');
    const levelValues = [...all.matchAll(/level=~?\\?"((?:[^"\\]|\\.)*)\\?"/g)].map((m) => m[1]);
    expect(levelValues.length).toBeGreaterThan(0);
    for (const v of levelValues) expect(v).not.toMatch(/\b(grid|switchgear|ups|pdu|rack|hall|pod)\b/);
    expect(all).not.toMatch(/\b(fra3|ash1|dfw2)\b/);
    expect(alerts).not.toContain('window="10s"');
    expect(alerts).toContain('headroom_site_contract_headroom_watts{window="30s"} < 0');
  });

  it('routes sites to their team, escapes free-text levels, and inhibits down the config\'s tree', () => {
    const am = parse(generateRulesFiles(load(MADE_UP_CONFIG), 'made-up.yaml').get('alertmanager/alertmanager.yml') ?? '') as AlertmanagerDoc;
    expect(am.route.receiver).toBe('noc-chat');
    expect(am.route.routes[0]).toEqual({ matchers: ['site="north-7"'], receiver: 'polar-chat', routes: [{ matchers: ['severity="critical"'], receiver: 'polar-pager' }] });
    expect(am.receivers.map((r) => [r.name, r.webhook_configs?.[0]?.url])).toEqual([
      ['noc-pager', 'http://127.0.0.1:1/page/noc'],
      ['noc-chat', 'http://127.0.0.1:1/chat/noc'],
      ['polar-pager', 'http://127.0.0.1:1/page/polar'],
      ['polar-chat', 'http://127.0.0.1:1/chat/polar'],
      ['sre-pager', 'http://127.0.0.1:1/page/sre'],
    ]);
    const byLevel = am.inhibit_rules.filter((r) => r.source_matchers.some((m) => m.startsWith('level=')) && r.source_matchers.includes('severity="critical"'));
    expect(byLevel.map((r) => [r.source_matchers[0], r.target_matchers?.[0]])).toEqual([
      ['level="utility-feed"', String.raw`level=~"lineup|rpp \\(A\\+B\\)|cab'net"`],
      ['level="lineup"', String.raw`level=~"rpp \\(A\\+B\\)|cab'net"`],
      ['level="rpp (A+B)"', `level="cab'net"`],
    ]);
  });

  it('drops a pair of levels found each above the other in different sites, so they never silence each other', () => {
    const site = (id: string, top: string, bottom: string) => ({
      id,
      nominalHertz: 60 as const,
      billingPeriod: 'month' as const,
      demandIntervalMs: 900_000,
      gridMeters: [],
      nodes: [
        { id: 'root', parent: null, level: 'intake', ratingWatts: 1e6, derate: 0.8, meters: [] },
        { id: 'a', parent: 'root', level: top, ratingWatts: 1e5, derate: 0.8, meters: [] },
        { id: 'b', parent: 'a', level: bottom, ratingWatts: 1e4, derate: 0.8, meters: ['m'] },
      ],
    });
    expect(levelOrder([site('s1', 'pdu', 'busway'), site('s2', 'busway', 'pdu')])).toEqual([{ level: 'intake', below: ['pdu', 'busway'] }]);
  });

  it('the config names only known sites in alertRouting, each in one team', () => {
    const r = parseConfigText(MADE_UP_CONFIG.replace('polar: [north-7]', 'polar: [north-7, nowhere]\n    other: [north-7]'), 'x.yaml');
    expect(r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      "alertRouting.teams.polar[1]: unknown site 'nowhere'",
      "alertRouting.teams.other[0]: site 'north-7' already belongs to team 'polar'",
    ]);
  });
});
