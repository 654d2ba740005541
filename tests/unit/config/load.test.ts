import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, expect } from 'vitest';
import {
  formatIssues,
  loadConfigFile,
  parseConfigText,
  resolveSecret,
  SecretResolutionError,
  validateConfig,
  type ConfigIssue,
  type HeadroomConfig,
} from '../../../src/config/index.js';
import { configFromText, configIssuesFromText } from '../../helpers/config.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/config');
const CONFIG_DIR = join(import.meta.dirname, '../../../config');
const ISSUE_EXAMPLE = readFileSync(join(FIXTURES, 'issue-example.yaml'), 'utf8');

function ok(text: string): HeadroomConfig {
  return configFromText(text, 'test.yaml');
}

function issues(text: string): ConfigIssue[] {
  return configIssuesFromText(text, 'test.yaml');
}

function pathsAndMessages(text: string): string[] {
  return issues(text).map((i) => `${i.path}: ${i.message}`);
}

/** One site with the given node lines (YAML flow maps) and optional extra site keys. */
function site(nodes: string[], extra = ''): string {
  return ['sites:', '  - id: s1', ...(extra === '' ? [] : [`    ${extra}`]), '    nodes:', ...nodes.map((n) => `      - ${n}`), ''].join('\n');
}

describe('the issue example', () => {
  const config = ok(ISSUE_EXAMPLE);

  it('normalises the engine settings to ms', () => {
    expect(config.engine).toEqual({
      windowsMs: [10_000, 60_000, 900_000],
      maxOutOfOrderMs: 2000,
      allowedLatenessMs: 10_000,
      maxHoldMs: 5000,
      maxCounterGapMs: 900_000,
      idleTimeoutMs: 30_000,
      maxClockSkewMs: 300_000,
      completenessThreshold: 0.9,
      trendWindows: 6,
      trendHorizonMs: 600_000,
      watermarkQuorum: 3,
      plausibleRatingMultiple: 2,
    });
  });

  it('normalises the topology to watts with defaults filled', () => {
    const [ash1] = config.topology.sites;
    expect(ash1).toMatchObject({
      id: 'ash1',
      contractWatts: 300_000_000,
      nominalHertz: 60,
      billingPeriod: 'month',
      demandIntervalMs: 900_000,
      gridMeters: [{ id: 'grid-pmu', signals: ['hertz', 'volts'] }],
    });
    expect(ash1?.nodes[0]).toEqual({
      id: 'intake',
      parent: null,
      level: 'grid',
      role: 'facility',
      ratingWatts: 320_000_000,
      derate: 0.8,
      meters: ['intake-main'],
    });
    expect(ash1?.nodes[1]).toEqual({
      id: 'ups-a',
      parent: 'intake',
      level: 'ups',
      ratingWatts: 2_000_000,
      derate: 0.9,
      meters: ['ups-a-out'],
      redundantWith: 'ups-b',
    });
    expect(ash1?.nodes[3]).toMatchObject({ id: 'hall-1', ratingWatts: 1_800_000, meters: [], role: 'it' });
    expect(ash1?.nodes[4]).toMatchObject({ id: 'pdu-a1', ratingWatts: 400_000, derate: 0.8 });
  });

  it('fills the optional sections with defaults', () => {
    expect(config.source).toEqual({ kind: 'memory', subjectPrefix: 'telemetry', maxMessageBytes: 1_048_576, lineProtocol: [] });
    expect(config.nats).toBeUndefined();
    expect(config.deadLetter).toEqual({ enabled: true, subjectPrefix: 'headroom.deadletter' });
    expect(config.sinks).toEqual({
      natsResults: { enabled: false, resultsPrefix: 'headroom.results', alertsPrefix: 'headroom.alerts' },
    });
    expect(config.simulator.seed).toBe(1);
    expect(config.simulator.rateMs).toBe(1000);
    expect(config.simulator.faults.outOfOrder).toBe(0.002);
  });

  it('is equally accepted as plain data by validateConfig', () => {
    const r = validateConfig({ sites: [{ id: 'x', nodes: [{ id: 'n', level: 'rack', rating: '10kW' }] }] });
    expect(r.ok).toBe(true);
  });
});

describe('defaults and normalisation', () => {
  it('defaults every pipeline setting and sorts windows', () => {
    const c = ok(`pipeline: { windows: [15m, 10s, 1m] }\n${site(['{ id: a, level: rack, rating: 10kW }'])}`);
    expect(c.engine.windowsMs).toEqual([10_000, 60_000, 900_000]);
    expect(c.engine.maxOutOfOrderMs).toBe(2000);
    expect(c.engine.trendWindows).toBe(6);
    expect(c.topology.sites[0]?.nominalHertz).toBe(60);
    expect(c.topology.sites[0]?.demandIntervalMs).toBe(900_000);
    expect(c.topology.sites[0]?.gridMeters).toEqual([]);
  });

  it('defaults metrics windows to one window (the smallest of 1m or longer), levels and maxDepth to absent, and parses listen', () => {
    const c = ok(`sinks: { metrics: {} }\n${site(['{ id: a, level: rack, rating: 10kW }'])}`);
    expect(c.sinks.metrics).toEqual({ listen: '127.0.0.1:9464', host: '127.0.0.1', port: 9464, windowsMs: [60_000], levels: undefined, maxDepth: undefined });
  });

  it('fills jetstream stream subjects from the subject prefix and a default nats connection', () => {
    const c = ok(`source: { kind: jetstream, subjectPrefix: meters }\n${site(['{ id: a, level: rack, rating: 10kW }'])}`);
    expect(c.source.kind).toBe('jetstream');
    if (c.source.kind === 'jetstream') {
      expect(c.source.stream).toEqual({ name: 'TELEMETRY', subjects: ['meters.>'], maxAgeMs: 604_800_000, maxBytes: undefined, replicas: 1, storage: 'file' });
      expect(c.source.consumer).toEqual({ durable: 'headroom', maxAckPending: 10_000, batch: 500, expiresMs: 5000, ackWaitMs: 30_000 });
    }
    expect(c.nats?.servers).toEqual(['nats://127.0.0.1:4222']);
  });

  it('converts influx durations', () => {
    const c = ok(`sinks: { influx: { url: 'http://127.0.0.1:8428', org: o, bucket: b, token: { env: T } } }\n${site(['{ id: a, level: rack, rating: 10kW }'])}`);
    expect(c.sinks.influx).toEqual({
      url: 'http://127.0.0.1:8428',
      org: 'o',
      bucket: 'b',
      token: { env: 'T' },
      precision: 'ms',
      batchSize: 5000,
      flushIntervalMs: 1000,
      maxBufferedPoints: 100_000,
      retry: { maxRetries: 10, minDelayMs: 500, maxDelayMs: 30_000 },
    });
  });
});

describe('cross-field rules: one test per kind', () => {
  it('duplicate site ids', () => {
    const text = `sites:\n  - { id: a, nodes: [{ id: n, level: rack, rating: 1kW }] }\n  - { id: a, nodes: [{ id: n, level: rack, rating: 1kW }] }\n`;
    expect(pathsAndMessages(text)).toEqual(["sites[1].id: duplicate site id 'a' (first at sites[0])"]);
  });

  it('duplicate node ids within a site', () => {
    expect(pathsAndMessages(site(['{ id: a, level: grid, rating: 1MW }', '{ id: a, level: ups, rating: 1MW }']))).toEqual([
      "sites[0].nodes[1].id: duplicate node id 'a' (first at nodes[0])",
    ]);
  });

  it('the same node id in two sites is fine', () => {
    ok(`sites:\n  - { id: a, nodes: [{ id: n, level: rack, rating: 1kW, meters: [m] }] }\n  - { id: b, nodes: [{ id: n, level: rack, rating: 1kW, meters: [m] }] }\n`);
  });

  it('unknown parent', () => {
    const text = site([
      '{ id: intake, level: grid, rating: 10MW }',
      '{ id: ups-a, parent: intake, level: ups, rating: 2MW }',
      '{ id: hall-1, parent: ups-a, level: hall, rating: 2MW }',
      '{ id: pdu-a1, parent: hal-1, level: pdu, rating: 400kW }',
    ]);
    expect(pathsAndMessages(text)).toEqual(["sites[0].nodes[3].parent: unknown node 'hal-1'"]);
  });

  it('cycles in parent links', () => {
    const text = site([
      '{ id: root, level: grid, rating: 10MW }',
      '{ id: a, parent: c, level: ups, rating: 1MW }',
      '{ id: b, parent: a, level: ups, rating: 1MW }',
      '{ id: c, parent: b, level: ups, rating: 1MW }',
    ]);
    expect(pathsAndMessages(text)).toEqual(['sites[0].nodes[1].parent: cycle in parent links: a → c → b → a']);
  });

  it('a node that is its own parent', () => {
    expect(pathsAndMessages(site(['{ id: a, parent: a, level: ups, rating: 1MW }']))).toEqual([
      "sites[0].nodes[0].parent: node 'a' cannot be its own parent",
    ]);
  });

  it('redundantWith not reciprocal', () => {
    const text = site([
      '{ id: root, level: grid, rating: 10MW }',
      '{ id: a, parent: root, level: ups, rating: 1MW, redundantWith: b }',
      '{ id: b, parent: root, level: ups, rating: 1MW }',
    ]);
    expect(pathsAndMessages(text)).toEqual(["sites[0].nodes[1].redundantWith: not reciprocal: 'b' must declare redundantWith: a"]);
  });

  it('redundantWith pointing at an unknown node', () => {
    expect(pathsAndMessages(site(['{ id: a, level: ups, rating: 1MW, redundantWith: zz }']))).toEqual([
      "sites[0].nodes[0].redundantWith: unknown node 'zz'",
    ]);
  });

  it('redundantWith pointing at itself', () => {
    expect(pathsAndMessages(site(['{ id: a, level: ups, rating: 1MW, redundantWith: a }']))).toEqual([
      "sites[0].nodes[0].redundantWith: node 'a' cannot be redundant with itself",
    ]);
  });

  it('a meter claimed by two nodes', () => {
    const text = site([
      '{ id: root, level: grid, rating: 10MW, meters: [m1] }',
      '{ id: a, parent: root, level: ups, rating: 1MW, meters: [m2, m1] }',
    ]);
    expect(pathsAndMessages(text)).toEqual(["sites[0].nodes[1].meters[1]: meter 'm1' is already claimed by node 'root'"]);
  });

  it('a meter claimed by a node and a grid meter', () => {
    const text = site(['{ id: root, level: grid, rating: 10MW, meters: [pmu] }'], 'gridMeters: [{ id: pmu, signals: [hertz] }]');
    expect(pathsAndMessages(text)).toEqual(["sites[0].gridMeters[0].id: meter 'pmu' is already claimed by node 'root'"]);
  });

  it('non-positive ratings', () => {
    expect(pathsAndMessages(site(['{ id: a, level: ups, rating: 0MW }']))).toEqual(['sites[0].nodes[0].rating: rating must be greater than 0']);
    expect(pathsAndMessages(site(['{ id: a, level: ups, rating: -5MW }']))).toEqual([
      "sites[0].nodes[0].rating: invalid power '-5MW': must not be negative",
    ]);
  });

  it('more than one facility node per site', () => {
    const text = site([
      '{ id: a, level: grid, role: facility, rating: 10MW }',
      '{ id: b, level: grid, role: facility, rating: 10MW }',
    ]);
    expect(pathsAndMessages(text)).toEqual([
      "sites[0].nodes[1].role: only one node per site may have role facility; 'a' already has it",
    ]);
  });

  it('n+1 on a node with fewer than 2 children', () => {
    const text = site([
      '{ id: grp, level: ups, rating: 4MW, redundancy: n+1 }',
      '{ id: m1, parent: grp, level: ups-module, rating: 1MW }',
    ]);
    expect(pathsAndMessages(text)).toEqual(["sites[0].nodes[0].redundancy: n+1 needs at least 2 children; 'grp' has 1"]);
  });

  it('n+1 with two children is fine', () => {
    ok(site(['{ id: grp, level: ups, rating: 4MW, redundancy: n+1 }', '{ id: m1, parent: grp, level: m, rating: 1MW }', '{ id: m2, parent: grp, level: m, rating: 1MW }']));
  });

  it('metrics windows must be pipeline windows', () => {
    expect(pathsAndMessages(`sinks: { metrics: { windows: [10s, 5m] } }\n${site(['{ id: a, level: rack, rating: 1kW }'])}`)).toEqual([
      'sinks.metrics.windows[1]: 5m is not one of pipeline.windows',
    ]);
  });
});

describe('field-level errors', () => {
  it('windows must be whole seconds, at least 1s, without duplicates', () => {
    expect(pathsAndMessages(`pipeline: { windows: [1500ms, 10s, 500ms, 10s] }\n${site(['{ id: a, level: rack, rating: 1kW }'])}`)).toEqual([
      'pipeline.windows[0]: 1500ms is not a whole number of seconds',
      'pipeline.windows[2]: 500ms is shorter than 1s',
      'pipeline.windows[3]: duplicate window 10s (first at windows[1])',
    ]);
  });

  it('maxCounterGap is a positive duration, default 15m', () => {
    const rack = site(['{ id: a, level: rack, rating: 1kW }']);
    expect(ok(`pipeline: { maxCounterGap: 20m }\n${rack}`).engine.maxCounterGapMs).toBe(1_200_000);
    expect(pathsAndMessages(`pipeline: { maxCounterGap: 0s }\n${rack}`)).toEqual(['pipeline.maxCounterGap: maxCounterGap must be greater than 0']);
    expect(pathsAndMessages(`pipeline: { maxCounterGap: soon }\n${rack}`)).toHaveLength(1);
    expect(pathsAndMessages(`pipeline: { maxCounterGap: soon }\n${rack}`)[0]).toMatch(/^pipeline\.maxCounterGap: /);
  });

  it('1.5s is a fine duration elsewhere', () => {
    expect(ok(`pipeline: { maxHold: 1.5s }\n${site(['{ id: a, level: rack, rating: 1kW }'])}`).engine.maxHoldMs).toBe(1500);
  });

  it('bad units name the value', () => {
    expect(pathsAndMessages(site(['{ id: a, level: rack, rating: 10 parsecs }']))).toEqual([
      "sites[0].nodes[0].rating: invalid power '10 parsecs': expected watts or a number with a unit (W, kW, MW, GW), e.g. 750W, 400kW, 2.5MW",
    ]);
  });

  it('derate outside (0, 1]', () => {
    expect(pathsAndMessages(site(['{ id: a, level: rack, rating: 1kW, derate: 0 }', '{ id: b, level: rack, rating: 1kW, derate: 1.2 }']))).toEqual([
      'sites[0].nodes[0].derate: derate must be greater than 0',
      'sites[0].nodes[1].derate: derate must be at most 1',
    ]);
  });

  it('bad ids, missing fields, enums and secrets', () => {
    const text = [
      'source: { kind: kafka }',
      'nats: { token: { vault: x } }',
      site(['{ id: "bad id", level: rack }', '{ id: b, level: rack, rating: 1kW, role: IT }']),
    ].join('\n');
    expect(pathsAndMessages(text)).toEqual([
      'source.kind: expected one of memory, nats, jetstream',
      'nats.token: expected a string, { env: VAR_NAME } or { file: path }',
      'sites[0].nodes[0].rating: required',
      'sites[0].nodes[0].id: must match [A-Za-z0-9_-]{1,64}',
      "sites[0].nodes[1].role: expected one of facility, it, got 'IT'",
    ]);
  });

  it('sites are required', () => {
    expect(pathsAndMessages('pipeline: {}\n')).toEqual(['sites: required']);
  });

  it('an empty file and a non-mapping top level', () => {
    expect(pathsAndMessages('')).toEqual([': the file is empty: expected a mapping with at least `sites`']);
    expect(pathsAndMessages('- a\n- b\n')).toEqual([': the top level must be a mapping, got a list']);
  });
});

describe('unknown keys', () => {
  it('are rejected everywhere, one issue per key, with suggestions', () => {
    const text = [
      'pipeline: { windows: [10s], maxHoldMs: 5000 }',
      'sinks: { influx: { url: "http://x:1", org: o, bucket: b, retry: { maxRetrys: 3 } } }',
      'colour: blue',
      site(['{ id: a, level: rack, ratingWatts: 1000, color: red }']),
    ].join('\n');
    expect(pathsAndMessages(text)).toEqual([
      "pipeline.maxHoldMs: unknown key 'maxHoldMs' (did you mean 'maxHold'? values take units, e.g. 10s or 2MW)",
      "sinks.influx.retry.maxRetrys: unknown key 'maxRetrys' (did you mean 'maxRetries'?)",
      "colour: unknown key 'colour'",
      // A missing key is placed at its mapping, so it comes first within the node.
      'sites[0].nodes[0].rating: required',
      "sites[0].nodes[0].ratingWatts: unknown key 'ratingWatts' (did you mean 'rating'? values take units, e.g. 10s or 2MW)",
      "sites[0].nodes[0].color: unknown key 'color'",
    ]);
  });

  it('jetstream-only sections are rejected on other sources', () => {
    expect(pathsAndMessages(`source: { kind: nats, stream: { name: X } }\n${site(['{ id: a, level: rack, rating: 1kW }'])}`)).toEqual([
      "source.stream: unknown key 'stream'",
    ]);
  });
});

describe('reporting', () => {
  it('reports every problem at once, schema and cross-field alike', () => {
    const text = [
      'pipeline: { windows: [10s, 1.5s] }',
      'sites:',
      '  - id: ash1',
      '    nodes:',
      '      - { id: intake, level: grid, role: facility, rating: 320MW, meters: [m1] }',
      '      - { id: ups-a, parent: intake, level: ups, rating: 2 furlongs, redundantWith: ups-b, meters: [m1] }',
      '      - { id: ups-b, parent: intake, level: ups, rating: 2MW }',
      '      - { id: hall-1, parent: hal-1, level: hall, role: facility, rating: 1.8MW }',
      '      - { id: ups-b, parent: intake, level: ups, rating: 2MW }',
    ].join('\n');
    const found = pathsAndMessages(text);
    // In document order.
    expect(found).toEqual([
      'pipeline.windows[1]: 1500ms is not a whole number of seconds',
      "sites[0].nodes[1].rating: invalid power '2 furlongs': expected watts or a number with a unit (W, kW, MW, GW), e.g. 750W, 400kW, 2.5MW",
      "sites[0].nodes[1].redundantWith: not reciprocal: 'ups-b' must declare redundantWith: ups-a",
      "sites[0].nodes[1].meters[0]: meter 'm1' is already claimed by node 'intake'",
      "sites[0].nodes[3].parent: unknown node 'hal-1'",
      "sites[0].nodes[3].role: only one node per site may have role facility; 'intake' already has it",
      "sites[0].nodes[4].id: duplicate node id 'ups-b' (first at nodes[2])",
    ]);
  });

  it('attaches YAML positions to issues', () => {
    const [issue] = issues(site(['{ id: a, level: rack, rating: 1kW }', '{ id: b, parent: zz, level: rack, rating: 1kW }']));
    expect(issue).toEqual({ path: 'sites[0].nodes[1].parent', message: "unknown node 'zz'", line: 5, column: 26 });
  });

  it('formats one line per problem', () => {
    const r = parseConfigText(site(['{ id: pdu-a1, parent: hal-1, level: pdu, rating: 400kW }']), 'config/site.yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(formatIssues('config/site.yaml', r.issues)).toBe("config/site.yaml: sites[0].nodes[0].parent: unknown node 'hal-1'");
    }
    expect(formatIssues('f.yaml', [{ path: '', message: 'a' }, { path: 'x[1]', message: 'b' }])).toBe('f.yaml: a\nf.yaml: x[1]: b');
  });

  it('turns YAML syntax errors into issues with line and column', () => {
    const found = issues('sites:\n  - id: a\n    nodes: [\n');
    expect(found.length).toBeGreaterThan(0);
    expect(found[0]?.path).toBe('');
    expect(found[0]?.message).toMatch(/^YAML syntax error at line \d+, column \d+: /);
    expect(found[0]?.line).toBeTypeOf('number');
  });

  it('reports duplicate YAML keys', () => {
    const found = issues('sites: []\nsites: []\n');
    expect(found[0]?.message).toMatch(/^YAML syntax error at line 2, column 1: .*unique/i);
  });

  it('reports an unreadable file as an issue', () => {
    const r = loadConfigFile(join(FIXTURES, 'does-not-exist.yaml'));
    expect(r).toEqual({ ok: false, issues: [{ path: '', message: 'cannot read config file: no such file' }] });
  });
});

describe('shipped configs', () => {
  const files = readdirSync(CONFIG_DIR).filter((f) => f.endsWith('.yaml'));

  it('include the demo, minimal and production examples', () => {
    expect(files).toEqual(expect.arrayContaining(['demo-fleet.yaml', 'minimal.yaml', 'production-example.yaml']));
  });

  it.each(files)('%s validates', (file) => {
    const r = loadConfigFile(join(CONFIG_DIR, file));
    if (!r.ok) throw new Error(formatIssues(file, r.issues));
    expect(r.config.topology.sites.length).toBeGreaterThan(0);
  });

  it('demo-fleet has three sites, 60 to 120 meters, and the standard windows', () => {
    const r = loadConfigFile(join(CONFIG_DIR, 'demo-fleet.yaml'));
    if (!r.ok) throw new Error(formatIssues('demo-fleet.yaml', r.issues));
    const sites = r.config.topology.sites;
    expect(sites.map((s) => s.id)).toEqual(['ash1', 'dfw2', 'fra3']);
    const meters = sites.reduce((sum, s) => sum + s.gridMeters.length + s.nodes.reduce((n, node) => n + node.meters.length, 0), 0);
    expect(meters).toBeGreaterThanOrEqual(60);
    expect(meters).toBeLessThanOrEqual(120);
    expect(r.config.engine.windowsMs).toEqual([10_000, 60_000, 900_000]);
    for (const s of sites) expect(s.nodes.filter((n) => n.role === 'facility')).toHaveLength(1);
    expect(sites.find((s) => s.id === 'dfw2')?.nodes.some((n) => n.redundancy === 'n+1')).toBe(true);
  });

  it('production-example uses jetstream, env secrets and influx', () => {
    const r = loadConfigFile(join(CONFIG_DIR, 'production-example.yaml'));
    if (!r.ok) throw new Error(formatIssues('production-example.yaml', r.issues));
    expect(r.config.source.kind).toBe('jetstream');
    expect(r.config.nats?.password).toEqual({ env: 'HEADROOM_NATS_PASSWORD' });
    expect(r.config.sinks.influx?.bucket).toBe('headroom');
  });
});

describe('resolveSecret', () => {
  const env = { TOKEN: 's3cret', EMPTY: '' };
  const files: Record<string, string> = { '/run/secrets/t': 'from-file\n' };
  const readFile = (path: string): string => {
    const text = files[path];
    if (text === undefined) throw new Error(`ENOENT: ${path}`);
    return text;
  };

  it('returns literals, env values and file contents without the trailing newline', () => {
    expect(resolveSecret('literal', env, readFile)).toBe('literal');
    expect(resolveSecret({ env: 'TOKEN' }, env, readFile)).toBe('s3cret');
    expect(resolveSecret({ file: '/run/secrets/t' }, env, readFile)).toBe('from-file');
  });

  it('fails with a typed error naming the source, never the value', () => {
    expect(() => resolveSecret({ env: 'MISSING' }, env, readFile)).toThrow(SecretResolutionError);
    expect(() => resolveSecret({ env: 'EMPTY' }, env, readFile)).toThrow('environment variable EMPTY is not set');
    expect(() => resolveSecret({ file: '/nope' }, env, readFile)).toThrow('cannot read secret file /nope: ENOENT: /nope');
  });
});
