import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BUILTIN_ALERT_RULES, formatIssues, loadConfigFile, parseThreshold, type HeadroomConfig } from '../../../src/config/index.js';
import { configFromText, configIssuesFromText } from '../../helpers/config.js';

const CONFIG_DIR = join(import.meta.dirname, '../../../config');

const SITE = ['sites:', '  - id: s1', '    contract: 1MW', '    nodes:', '      - { id: ups, level: ups, role: facility, rating: 1MW, meters: [m0] }', '      - { id: pdu-a, parent: ups, level: pdu, rating: 100kW, meters: [ma] }', ''].join('\n');

function ok(text: string): HeadroomConfig {
  return configFromText(text, 'test.yaml');
}

function problems(text: string): string[] {
  return configIssuesFromText(text, 'test.yaml').map((i) => `${i.path}: ${i.message}`);
}

const withRules = (rules: string[], extra = ''): string => ['alerts:', ...(extra === '' ? [] : [`  ${extra}`]), '  rules:', ...rules.map((r) => `    - ${r}`), SITE].join('\n');

describe('alerts config', () => {
  it('without an alerts section every built-in rule applies, on the smallest window unless it names one', () => {
    const c = ok(`pipeline: { windows: [1m, 10s] }\n${SITE}`);
    expect(c.alerts.rules.map((r) => r.name)).toEqual(BUILTIN_ALERT_RULES.map((r) => r.name));
    const minuteRules = ['ramp_rate_high', 'swing_high'];
    expect(c.alerts.rules.filter((r) => !minuteRules.includes(r.name)).every((r) => r.windowMs === 10_000)).toBe(true);
    expect(c.alerts.rules.filter((r) => minuteRules.includes(r.name)).map((r) => r.windowMs)).toEqual([60_000, 60_000]);
    // Without a 1m window they take the next longer one; with none that long they are left out.
    const long = ok(`pipeline: { windows: [10s, 5m] }\n${SITE}`);
    expect(long.alerts.rules.filter((r) => minuteRules.includes(r.name)).map((r) => r.windowMs)).toEqual([300_000, 300_000]);
    const short = ok(`pipeline: { windows: [10s] }\n${SITE}`);
    expect(short.alerts.rules.map((r) => r.name).filter((n) => minuteRules.includes(n))).toEqual([]);
    expect(c.alerts.revisions).toBe('final');
    expect(c.alerts.allowedLatenessMs).toBe(10_000);
    expect(c.alerts.trendWindows).toBe(6);
  });

  it('the built-in rules resolve to the documented thresholds', () => {
    const c = ok(SITE);
    const rule = (name: string) => c.alerts.rules.find((r) => r.name === name)!;
    expect(rule('headroom_low')).toMatchObject({
      metric: 'headroom',
      forMs: 30_000,
      warning: { at: { value: 0.15, relative: true }, clear: { value: 0.2, relative: true } },
      critical: { at: { value: 0.05, relative: true }, clear: { value: 0.08, relative: true } },
    });
    expect(rule('failover_headroom_low').critical?.at).toEqual({ value: 0, relative: true });
    expect(rule('ramp_rate_high').scope).toEqual({ roles: ['facility'] });
    expect(rule('grid_frequency_out_of_band').warning?.at).toEqual({ value: 0.1, relative: false });
    expect(rule('time_to_breach_short').warning?.at).toEqual({ value: 900, relative: false });
    expect(rule('meter_stale').critical?.at).toEqual({ value: 300, relative: false });
    expect(rule('demand_near_period_peak')).toMatchObject({ reference: 'period_peak', warning: { at: { value: 0.95, relative: true } } });
    expect(rule('demand_near_contract')).toMatchObject({ reference: 'contract' });
    expect(rule('completeness_low').warning?.at).toEqual({ value: 0.9, relative: false });
    expect(rule('headroom_low').annotations['runbook_url']).toContain('{{site}}');
  });

  it('config/alerts.yaml holds exactly the built-in rules', () => {
    const doc = parse(readFileSync(join(CONFIG_DIR, 'alerts.yaml'), 'utf8')) as { alerts: { rules: unknown[] } };
    expect(doc.alerts.rules).toEqual(BUILTIN_ALERT_RULES);
    const r = loadConfigFile(join(CONFIG_DIR, 'alerts.yaml'));
    if (!r.ok) throw new Error(formatIssues('alerts.yaml', r.issues));
    expect(r.config.alerts.rules).toHaveLength(BUILTIN_ALERT_RULES.length);
  });

  it('demo-fleet: built-ins plus its ramp limits and rack rule', () => {
    const r = loadConfigFile(join(CONFIG_DIR, 'demo-fleet.yaml'));
    if (!r.ok) throw new Error(formatIssues('demo-fleet.yaml', r.issues));
    const names = r.config.alerts.rules.map((x) => x.name);
    expect(names).toContain('rack_headroom_low');
    expect(names.filter((n) => n === 'ramp_rate_high')).toHaveLength(1);
    const ramp = r.config.alerts.rules.find((x) => x.name === 'ramp_rate_high')!;
    expect(ramp.overrides[0]?.warning?.at).toEqual({ value: 500_000, relative: false });
  });

  it('a user rule replaces the built-in of its name; enabled: false drops it; builtins: false keeps only user rules', () => {
    const c = ok(withRules(['{ name: headroom_low, metric: headroom, warning: 25%, for: 1m }', '{ name: meter_stale, metric: stale_meter, warning: 1m, enabled: false }']));
    const names = c.alerts.rules.map((r) => r.name);
    expect(names).not.toContain('meter_stale');
    expect(names.filter((n) => n === 'headroom_low')).toHaveLength(1);
    expect(c.alerts.rules.find((r) => r.name === 'headroom_low')).toMatchObject({ forMs: 60_000, warning: { at: { value: 0.25, relative: true } } });
    expect(c.alerts.rules.find((r) => r.name === 'headroom_low')?.critical).toBeUndefined();
    const only = ok(withRules(['{ name: mine, metric: utilization, critical: 0.95, window: 1m, labels: { team: power } }'], 'builtins: false'));
    expect(only.alerts.rules.map((r) => [r.name, r.windowMs, r.labels])).toEqual([['mine', 60_000, { team: 'power' }]]);
  });

  it('reports rule problems with their paths', () => {
    expect(
      problems(
        withRules([
          '{ name: a, metric: headroom, warning: 15, window: 5s }',
          '{ name: b, metric: headroom, warning: { at: 15%, clear: 10% } }',
          '{ name: c, metric: utilization, warning: 0.9, critical: 0.8 }',
          '{ name: d, metric: headroom, warning: 10%, scope: { nodes: [nope], levels: [rack], sites: [zz] } }',
          '{ name: e, metric: demand, warning: 95%, scope: { levels: [ups] } }',
          '{ name: f, metric: headroom, warning: 10%, labels: { site: x }, annotations: { summary: "{{nodee}}" } }',
          '{ name: g, metric: headroom }',
          '{ name: a, metric: ramp_rate, warning: 5MW/fortnight }',
          '{ name: h, metric: headroom, warning: { at: 10%, clear: 20kW } }',
          '{ name: i, metric: completeness, warning: 0.9, of: contract }',
        ]),
      ),
    ).toEqual([
      'alerts.rules[0].warning: expected a percentage of usable (15%) or a power (200kW), got a bare number',
      'alerts.rules[0].window: 5s is not one of pipeline.windows',
      'alerts.rules[1].warning.clear: headroom alerts on values below the threshold: clear must be at or above at',
      'alerts.rules[2].critical: critical must be at or above warning for utilization',
      'alerts.rules[3].scope.nodes[0]: unknown node \'nope\'',
      'alerts.rules[3].scope.levels[0]: no node has level \'rack\'',
      'alerts.rules[3].scope.sites[0]: unknown site \'zz\'',
      'alerts.rules[4].scope: demand is a site metric: its scope takes only sites',
      'alerts.rules[5].labels.site: \'site\' is set by the engine',
      'alerts.rules[5].annotations.summary: unknown template variable {{nodee}} (known: site, node, level, value, threshold, rule, severity, window)',
      'alerts.rules[6]: a rule needs warning, critical or both',
      'alerts.rules[7].name: duplicate rule name \'a\' (first at alerts.rules[0])',
      'alerts.rules[7].warning: expected a power per time (5MW/min, 100kW/s) or a share of usable per time (10%/min), got \'5MW/fortnight\'',
      'alerts.rules[8].warning.clear: clear must be of the same kind as at (both relative, e.g. %, or both absolute)',
      'alerts.rules[9].of: of applies to demand rules only',
    ]);
  });

  it('swing rules need a window of 1m or longer; minUtilization is a ratio for node rules', () => {
    expect(problems(withRules(['{ name: s, metric: swing, window: 10s, warning: 40% }']))).toEqual([
      'alerts.rules[0].window: swing metrics exist for windows of 1m and longer: set window: 1m (or longer)',
    ]);
    expect(ok(withRules(['{ name: s, metric: swing, window: 1m, warning: 40%, minUtilization: 50% }'])).alerts.rules.find((r) => r.name === 's')).toMatchObject({ windowMs: 60_000, minUtilization: 0.5 });
    expect(problems(withRules(['{ name: t, metric: time_to_breach, warning: 15m, minUtilization: lots }']))[0]).toMatch(/^alerts\.rules\[0\]\.minUtilization: expected a ratio/);
    expect(problems(withRules(['{ name: d, metric: demand, warning: 95%, minUtilization: 0.5 }']))[0]).toMatch(/minUtilization applies to node rules only/);
  });

  it('rejects unknown keys and metrics', () => {
    expect(problems(withRules(['{ name: a, metric: voltage, warning: 1 }']))).toEqual([
      "alerts.rules[0].metric: expected one of headroom, utilization, failover_headroom, ramp_rate, completeness, stale_meter, time_to_breach, swing, demand, grid_frequency, got 'voltage'",
    ]);
    expect(problems(withRules(['{ name: a, metric: headroom, warning: 10%, fr: 1m }']))[0]).toMatch(/^alerts\.rules\[0\]\.fr: unknown key 'fr'/);
  });

  it('parses thresholds per metric into base units', () => {
    const t = (metric: Parameters<typeof parseThreshold>[0], v: string | number) => parseThreshold(metric, v);
    expect(t('headroom', '-50kW')).toEqual({ ok: true, value: { value: -50_000, relative: false } });
    expect(t('ramp_rate', '6MW/min')).toEqual({ ok: true, value: { value: 100_000, relative: false } });
    expect(t('ramp_rate', '100kW/s')).toEqual({ ok: true, value: { value: 100_000, relative: false } });
    expect(t('ramp_rate', 250)).toEqual({ ok: true, value: { value: 250, relative: false } });
    expect(t('utilization', '85%')).toEqual({ ok: true, value: { value: 0.85, relative: false } });
    expect(t('time_to_breach', '15m')).toEqual({ ok: true, value: { value: 900, relative: false } });
    expect(t('demand', '3.5MW')).toEqual({ ok: true, value: { value: 3_500_000, relative: false } });
    expect(t('grid_frequency', 0.05)).toEqual({ ok: true, value: { value: 0.05, relative: false } });
    expect(t('grid_frequency', '59.9')).toMatchObject({ ok: false });
  });
});
