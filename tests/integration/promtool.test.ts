/**
 * The Prometheus and Alertmanager files under deploy/ checked by the real tools:
 * `promtool check config`, `promtool check rules`, `promtool test rules` (unit tests for every
 * alert rule in deploy/prometheus/tests/) and `amtool check-config`. A missing binary fails
 * the run (MissingServerBinaryError), it never skips.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { findBinary } from '../helpers/servers.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');
const PROM_DIR = join(ROOT, 'deploy/prometheus');
const RULE_FILES = readdirSync(join(PROM_DIR, 'rules')).filter((f) => f.endsWith('.yml')).map((f) => join(PROM_DIR, 'rules', f));
const TEST_FILES = readdirSync(join(PROM_DIR, 'tests')).filter((f) => f.endsWith('.yml')).map((f) => join(PROM_DIR, 'tests', f));

async function tool(binary: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(binary, args, { cwd: ROOT, timeout: 60_000 });
    return stdout + stderr;
  } catch (err: unknown) {
    const out = typeof err === 'object' && err !== null && 'stdout' in err && 'stderr' in err ? `${String(err.stdout)}${String(err.stderr)}` : '';
    throw new Error(`${binary} ${args.join(' ')} failed:\n${out || String(err)}`);
  }
}

interface AlertRuleDoc {
  alert?: string;
  record?: string;
  labels?: Record<string, string>;
}
interface RuleFileDoc {
  groups: { rules: AlertRuleDoc[] }[];
}
interface TestFileDoc {
  tests: { alert_rule_test?: { alertname: string; exp_alerts?: { exp_labels?: Record<string, string> }[] }[] }[];
}

describe('deploy/prometheus and deploy/alertmanager, checked by promtool and amtool', () => {
  it('promtool check config accepts prometheus.yml (rule files and file_sd included)', async () => {
    const promtool = findBinary('promtool', 'prometheus');
    const out = await tool(promtool, ['check', 'config', join(PROM_DIR, 'prometheus.yml')]);
    expect(out).toMatch(/SUCCESS: 2 rule files found/);
  });

  it('promtool check rules accepts every rule file', async () => {
    const promtool = findBinary('promtool', 'prometheus');
    expect(RULE_FILES.length).toBeGreaterThanOrEqual(2);
    const out = await tool(promtool, ['check', 'rules', ...RULE_FILES]);
    expect(out).not.toMatch(/FAILED/);
  });

  it('promtool test rules passes the unit tests of every alert rule', async () => {
    const promtool = findBinary('promtool', 'prometheus');
    expect(TEST_FILES.length).toBeGreaterThan(0);
    const out = await tool(promtool, ['test', 'rules', ...TEST_FILES]);
    expect(out.match(/SUCCESS/g)?.length).toBe(TEST_FILES.length);
  });

  it('every alert rule (name and severity) is tested firing, and every alert name not firing', () => {
    const rules = RULE_FILES.flatMap((f) => (parse(readFileSync(f, 'utf8')) as RuleFileDoc).groups.flatMap((g) => g.rules)).filter((r) => r.alert !== undefined);
    const checks = TEST_FILES.flatMap((f) => (parse(readFileSync(f, 'utf8')) as TestFileDoc).tests.flatMap((t) => t.alert_rule_test ?? []));
    const firing = new Set(checks.flatMap((c) => (c.exp_alerts ?? []).map((a) => `${c.alertname}/${a.exp_labels?.['severity'] ?? ''}`)));
    const quiet = new Set(checks.filter((c) => (c.exp_alerts ?? []).length === 0).map((c) => c.alertname));
    const untestedFiring = rules.map((r) => `${r.alert ?? ''}/${r.labels?.['severity'] ?? ''}`).filter((k) => !firing.has(k));
    const untestedQuiet = [...new Set(rules.map((r) => r.alert ?? ''))].filter((a) => !quiet.has(a));
    expect(untestedFiring).toEqual([]);
    expect(untestedQuiet).toEqual([]);
    expect(rules.length).toBeGreaterThanOrEqual(20);
  });

  it('amtool check-config accepts alertmanager.yml', async () => {
    const amtool = findBinary('amtool', 'prometheus-alertmanager');
    const out = await tool(amtool, ['check-config', join(ROOT, 'deploy/alertmanager/alertmanager.yml')]);
    expect(out).toMatch(/SUCCESS/);
    expect(out).toMatch(/19 inhibit rules/);
  });

  it('alertmanager routes critical site alerts to the site pager and pipeline alerts to the platform team', async () => {
    const amtool = findBinary('amtool', 'prometheus-alertmanager');
    const route = async (...labels: string[]): Promise<string> =>
      (await tool(amtool, ['config', 'routes', 'test', `--config.file=${join(ROOT, 'deploy/alertmanager/alertmanager.yml')}`, ...labels]))
        .split('\n')
        .filter((l) => l.trim() !== '' && !l.startsWith('Warning'))
        .join(',');
    expect(await route('alertname=headroom_low', 'site=fra3', 'severity=critical')).toBe('colo-pager');
    expect(await route('alertname=headroom_low', 'site=fra3', 'severity=warning')).toBe('colo-chat');
    expect(await route('alertname=headroom_low', 'site=ash1', 'severity=critical')).toBe('campus-pager');
    expect(await route('alertname=headroom_low', 'site=other', 'severity=critical')).toBe('ops-pager');
    expect(await route('alertname=headroom_low', 'site=other', 'severity=warning')).toBe('ops-chat');
    expect(await route('alertname=headroom_scrape_down', 'severity=critical', 'instance=w1:9464')).toBe('platform-pager');
  });
});

/** promtool unit test of the generated ramp rule: it fires at the made-up intake level only. */
const MADE_UP_RAMP_TEST = `rule_files:
  - rules/headroom-recording.yml
  - rules/headroom-alerts.yml
evaluation_interval: 30s
tests:
  - interval: 30s
    input_series:
      # 500 kW/s = 30 MW/min against 32 MW usable: 93.75 % of intake capacity per minute.
      - series: 'headroom_node_ramp_watts_per_second{site="north-7",node="feed",level="utility-feed",window="30s"}'
        values: '500000x4'
      - series: 'headroom_node_usable_watts{site="north-7",node="feed",level="utility-feed",window="30s"}'
        values: '32000000x4'
      # The same ramp below the intake is not checked.
      - series: 'headroom_node_ramp_watts_per_second{site="north-7",node="r-1",level="rpp (A+B)",window="30s"}'
        values: '500000x4'
      - series: 'headroom_node_usable_watts{site="north-7",node="r-1",level="rpp (A+B)",window="30s"}'
        values: '1600000x4'
    alert_rule_test:
      - eval_time: 60s
        alertname: ramp_rate_high
        exp_alerts:
          - exp_labels: { alertname: ramp_rate_high, severity: warning, site: north-7, node: feed, level: utility-feed, window: 30s }
            exp_annotations:
              summary: 'Site north-7 ramps at 93.75% of intake capacity per minute'
              runbook_url: 'https://runbooks.example.com/headroom/ramp-rate?site=north-7'
          - exp_labels: { alertname: ramp_rate_high, severity: critical, site: north-7, node: feed, level: utility-feed, window: 30s }
            exp_annotations:
              summary: 'Site north-7 ramps at 93.75% of intake capacity per minute'
              runbook_url: 'https://runbooks.example.com/headroom/ramp-rate?site=north-7'
`;

describe('headroom rules on a fleet with made-up level and site names, checked by promtool and amtool', () => {
  it('writes rules that promtool checks and tests, and routing that amtool checks and routes by team', async () => {
    const promtool = findBinary('promtool', 'prometheus');
    const amtool = findBinary('amtool', 'prometheus-alertmanager');
    const out = mkdtempSync(join(tmpdir(), 'headroom-rules-'));
    try {
      const wrote = await tool(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'rules', '-c', join(ROOT, 'tests/fixtures/config/made-up-levels.yaml'), '-o', out]);
      expect(wrote.split('\n').filter((l) => l.startsWith('wrote '))).toHaveLength(3);
      const rules = [join(out, 'prometheus/rules/headroom-recording.yml'), join(out, 'prometheus/rules/headroom-alerts.yml')];
      expect(await tool(promtool, ['check', 'rules', ...rules])).not.toMatch(/FAILED/);
      writeFileSync(join(out, 'prometheus/ramp-test.yml'), MADE_UP_RAMP_TEST);
      expect(await tool(promtool, ['test', 'rules', join(out, 'prometheus/ramp-test.yml')])).toMatch(/SUCCESS/);
      const am = join(out, 'alertmanager/alertmanager.yml');
      expect(await tool(amtool, ['check-config', am])).toMatch(/SUCCESS/);
      const route = async (...labels: string[]): Promise<string> =>
        (await tool(amtool, ['config', 'routes', 'test', `--config.file=${am}`, ...labels]))
          .split('\n')
          .filter((l) => l.trim() !== '' && !l.startsWith('Warning'))
          .join(',');
      expect(await route('alertname=headroom_low', 'site=north-7', 'severity=critical')).toBe('polar-pager');
      expect(await route('alertname=headroom_low', 'site=south_2', 'severity=critical')).toBe('noc-pager');
      expect(await route('alertname=headroom_low', 'site=south_2', 'severity=warning')).toBe('noc-chat');
      expect(await route('alertname=headroom_scrape_down', 'severity=critical', 'instance=w1:9464')).toBe('sre-pager');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
