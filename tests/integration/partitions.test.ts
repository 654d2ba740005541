/**
 * Partitioned JetStream (DESIGN 8): nats-server maps `telemetry.<site>.<source>` to
 * `tp.<p>.<site>.<source>` with the `partition` function; two workers each consume half of
 * the partitions. Every site lands with exactly one worker, and together they compute what
 * one replay of the whole stream computes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringCodec, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfigText, type HeadroomConfig } from '../../src/config/index.js';
import { WindowEngine } from '../../src/core/index.js';
import type { OutputRecord } from '../../src/domain/index.js';
import { Pipeline, replayFiles } from '../../src/pipeline/index.js';
import { JetStreamSource, NO_FAULTS, createSimulator, parseTelemetrySubject, telemetrySubjectPattern } from '../../src/sources/index.js';
import { createLogger } from '../../src/telemetry/index.js';
import { retryUntil, type NatsServer } from '../helpers/servers.js';
import { finalWindows } from '../helpers/final-windows.js';
import { CollectingSink } from '../helpers/collecting-sink.js';
import { configFromText } from '../helpers/config.js';
import { startNatsWithClient, stopNatsWithClient } from '../helpers/nats.js';

const PARTITIONS = 4;
const START_MS = Date.UTC(2026, 0, 6, 8, 0, 0);


/** Final load of every node window. */
function finals(records: readonly OutputRecord[]): Map<string, number> {
  return new Map([...finalWindows(records)].flatMap(([key, r]) => (r.type === 'node' ? [[key, r.loadWatts] as const] : [])));
}

let server: NatsServer;
let nc: NatsConnection;
let demo: HeadroomConfig;
let dir: string;

beforeAll(async () => {
  ({ server, nc } = await startNatsWithClient({ jetstream: true, extraConfig: `mappings { "telemetry.*.*": "tp.{{partition(${PARTITIONS},1)}}.{{wildcard(1)}}.{{wildcard(2)}}" }` }));
  const loaded = loadConfigFile('config/demo-fleet.yaml');
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  demo = loaded.config;
  dir = mkdtempSync(join(tmpdir(), 'headroom-partitions-'));
});

afterAll(async () => {
  await stopNatsWithClient(server, nc);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function workerConfig(ids: number[]): HeadroomConfig {
  return configFromText(
    `source: { kind: jetstream, stream: { name: PARTS }, consumer: { durable: w, expires: 1s }, partitions: { ids: [${ids.join(', ')}] } }\nsites: [{ id: x, nodes: [{ id: n, level: l, rating: 1kW }] }]`,
    'worker.yaml',
  );
}

describe('partitioned JetStream stream', () => {
  it('config: partitions and sites exclude each other; ids are unique', () => {
    const both = parseConfigText('source: { kind: jetstream, sites: [x], partitions: { ids: [0] } }\nsites: [{ id: x, nodes: [{ id: n, level: l, rating: 1kW }] }]', 'x.yaml');
    expect(both.ok ? [] : both.issues.map((i) => i.path)).toEqual(['source.partitions']);
    const dup = parseConfigText('source: { kind: jetstream, partitions: { ids: [1, 1] } }\nsites: [{ id: x, nodes: [{ id: n, level: l, rating: 1kW }] }]', 'x.yaml');
    expect(dup.ok ? [] : dup.issues.map((i) => i.path)).toEqual(['source.partitions.ids']);
    expect(parseTelemetrySubject('tp.3.ash1.gw-1', 'tp.*')).toEqual({ site: 'ash1', source: 'gw-1' });
    expect(parseTelemetrySubject('telemetry.ash1.gw-1', 'tp.*')).toBeNull();
  });

  it('two workers on disjoint partitions split the sites and together equal one replay', async () => {
    const sim = createSimulator(demo.topology, {
      seed: 5,
      rateMs: 1000,
      startMs: START_MS,
      batch: true,
      faults: NO_FAULTS,
    });
    const messages: { subject: string; payload: string }[] = [];
    for (let i = 0; i < 90; i++) messages.push(...sim.tick().messages);
    const readings = messages.reduce((n, m) => n + (JSON.parse(m.payload) as unknown[]).length, 0);

    // Reference: one replay of the whole stream.
    const file = join(dir, 'stream.ndjson');
    writeFileSync(file, messages.map((m) => m.payload).join('\n') + '\n');
    const refSink = new CollectingSink();
    await replayFiles(new WindowEngine(demo.topology, demo.engine), [refSink], { inputs: [file], maxMessageBytes: 1 << 20 });
    const reference = finals(refSink.records);

    // The stream captures the mapped subjects; publish through the mapping.
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'PARTS', subjects: ['tp.>'] });
    const js = nc.jetstream();
    const sc = StringCodec();
    for (const m of messages) await js.publish(m.subject, sc.encode(m.payload));

    const log = createLogger({ level: 'silent' });
    const workers = [[0, 1], [2, 3]].map((ids) => {
      const source = workerConfig(ids).source;
      if (source.kind !== 'jetstream') throw new Error('expected a jetstream source');
      const sink = new CollectingSink();
      const pipeline = new Pipeline({
        config: { subjectPrefix: telemetrySubjectPattern(source), maxMessageBytes: 1 << 20 },
        engine: new WindowEngine(demo.topology, demo.engine),
        source: new JetStreamSource({ nc }, source, { log }),
        sinks: [sink],
        clock: Date.now,
        logger: log,
        tickMs: 100,
      });
      return { pipeline, sink };
    });
    for (const w of workers) await w.pipeline.start();
    await retryUntil(async () => {
      const total = workers.reduce((n, w) => n + w.pipeline.counters.readings, 0);
      if (total < readings) throw new Error(`${total}/${readings}`);
    }, 60_000, 100);
    for (const w of workers) await w.pipeline.stop();

    const sitesOf = workers.map((w) => new Set(w.sink.records.filter((r) => r.type === 'node').map((r) => r.site)));
    // Each site went to exactly one worker, and all sites were covered.
    for (const site of demo.topology.sites.map((s) => s.id)) expect(sitesOf.filter((set) => set.has(site)).length, site).toBe(1);
    const consumers = await jsm.consumers.list('PARTS').next();
    expect(consumers.map((c) => c.name).sort()).toEqual(['w-p0', 'w-p1', 'w-p2', 'w-p3']);

    const union = new Map([...finals(workers[0]!.sink.records), ...finals(workers[1]!.sink.records)]);
    expect([...union.keys()].sort()).toEqual([...reference.keys()].sort());
    for (const [key, load] of reference) expect(Math.abs(union.get(key)! - load), key).toBeLessThanOrEqual(2e-6 + 1e-12 * load);
  }, 120_000);
});
