/**
 * A worker group under kill -9 (docs/worker-groups.md): three `headroom run` processes share the
 * partitions of a stream on a 3-node JetStream cluster while the stream is published, paced,
 * through the server's partition mapping. A seeded schedule SIGKILLs a random worker at ten
 * points; half the time it is restarted at once, half the time the others take its
 * partitions over when its leases run out and it comes back at the next point (and takes its
 * share back by hand-over). Every final window of the union of the workers' NDJSON results and
 * of the results stream (JetStream de-duplicates re-sent windows by message id) and every
 * point in InfluxDB 1.x (same series and time overwrite; written through a v2 write shim) must equal
 * `headroom replay` of the same stream: none missing, none extra, none different.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, StringCodec, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { loadConfigFile } from '../../src/config/index.js';
import { outputRecordId, recordToPoint } from '../../src/codec/index.js';
import type { OutputRecord, WindowResult } from '../../src/domain/index.js';
import { createSimulator, NO_FAULTS } from '../../src/sources/index.js';
import { Prng } from '../../src/sources/simulator/prng.js';
import { finalWindows } from '../helpers/final-windows.js';
import { parseNdjsonResults } from '../helpers/ndjson-results.js';
import { startInfluxV1Shim, type InfluxV1Shim } from '../helpers/influx-v1-shim.js';
import { retryUntil, startInfluxdb1, startNatsCluster, type InfluxDb1Server, type NatsCluster } from '../helpers/servers.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const mainJs = join(repoRoot, 'dist/cli/main.js');
const PARTITIONS = 6;
const WORKERS = 3;
const KILLS = 10;
/** Event time of the stream: 10 minutes at 1 s per meter. */
const TICKS = 600;
/** Wall time to publish it: about 40 s (15× real time), so the kills land mid-stream. */
const PUBLISH_MS = 40_000;
/**
 * Recent event time (the stream ends 5 to 20 minutes ago): once it ends, idle partitions
 * advance on the processing clock and close their last windows, as a live site's would.
 */
const START_MS = Math.floor(Date.now() / 900_000) * 900_000 - 900_000;

let cluster: NatsCluster;
let influx: InfluxDb1Server;
let shim: InfluxV1Shim;
let nc: NatsConnection;
let dir = '';
const children = new Set<ChildProcess>();

beforeAll(async () => {
  cluster = await startNatsCluster({ extraConfig: `mappings { "telemetry.*.*": "tp.{{partition(${PARTITIONS},1)}}.{{wildcard(1)}}.{{wildcard(2)}}" }` });
  nc = await connect({ servers: cluster.urls });
  influx = await startInfluxdb1();
  shim = await startInfluxV1Shim(influx.url);
  await influx.query('CREATE DATABASE headroom');
  dir = await mkdtemp(join(tmpdir(), 'headroom-group-kill-'));
}, 120_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await nc?.close();
  await cluster?.stop();
  await shim?.close();
  await influx?.stop();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

interface Worker {
  index: number;
  child: ChildProcess;
  exited: Promise<void>;
  stderr: () => string;
}

function startWorker(index: number, config: string): Worker {
  const args = [mainJs, 'run', '--config', config, '--data-dir', join(dir, `w${index}`), '--metrics-listen', '127.0.0.1:0', '--no-summary', '--log-level', 'warn'];
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, HEADROOM_WORKER_ID: `w${index}` } });
  children.add(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => (children.delete(child), r())));
  return { index, child, exited, stderr: () => stderr };
}

/** The demo fleet as a group worker's config: the stream on the cluster, R3, NDJSON and NATS results. */
async function groupConfig(): Promise<string> {
  const demo = parseYaml(await readFile(join(repoRoot, 'config/demo-fleet.yaml'), 'utf8')) as Record<string, unknown>;
  const config = {
    ...demo,
    pipeline: { ...(demo.pipeline as object), idleTimeout: '5s' },
    nats: { servers: cluster.urls },
    source: {
      kind: 'jetstream',
      subjectPrefix: 'telemetry',
      stream: { name: 'GROUPK', replicas: 3 },
      consumer: { durable: 'k', expires: '1s' },
      partitions: { count: PARTITIONS },
      group: { name: 'kill', lease: '3s', heartbeat: '1s', safetyMargin: '500ms', checkpointEvery: '2s' },
    },
    sinks: { ndjson: { path: 'results.ndjson' }, influx: { url: shim.url, org: 'headroom', bucket: 'headroom', flushInterval: '200ms' }, natsResults: { enabled: true, resultsPrefix: 'results.windows', alertsPrefix: 'results.alerts' } },
  };
  const path = join(dir, 'group.yaml');
  await writeFile(path, stringifyYaml(config));
  return path;
}

describe('worker group under kill -9', () => {
  it('ten SIGKILLs mid-stream: every output ends equal to one replay of the stream', async () => {
    const loaded = loadConfigFile(join(repoRoot, 'config/demo-fleet.yaml'));
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    const demo = loaded.config;
    const sim = createSimulator(demo.topology, { seed: 11, rateMs: 1000, startMs: START_MS, batch: true, faults: NO_FAULTS });
    const ticks: { subject: string; payload: string }[][] = [];
    for (let i = 0; i < TICKS; i++) ticks.push(sim.tick().messages);
    const streamFile = join(dir, 'stream.ndjson');
    await writeFile(streamFile, ticks.flat().map((m) => m.payload).join('\n') + '\n');

    // Reference: `headroom replay` of the same stream.
    const referenceFile = join(dir, 'reference.ndjson');
    await runCli(['replay', '--config', join(repoRoot, 'config/demo-fleet.yaml'), '--output', referenceFile, streamFile]);
    const referenceRecords = parseNdjsonResults<OutputRecord>(await readFile(referenceFile, 'utf8')).records;
    const reference = finalWindows(referenceRecords);
    expect(reference.size).toBeGreaterThan(1000);

    const jsm = await nc.jetstreamManager();
    // The results stream: JetStream drops a window re-sent after a take-over by its message id.
    await jsm.streams.add({ name: 'RESULTS', subjects: ['results.>'], num_replicas: 3, duplicate_window: 10 * 60 * 1e9 });
    // The telemetry stream as an operator would create it (the workers would, too, on start).
    await jsm.streams.add({ name: 'GROUPK', subjects: ['tp.>'], num_replicas: 3 });
    const config = await groupConfig();
    const workers: (Worker | null)[] = [];
    for (let i = 0; i < WORKERS; i++) workers.push(startWorker(i, config));

    // Seeded (the simulator's mulberry32): the same kill schedule on every run.
    const prng = new Prng(20261201);
    const random = (): number => prng.next();
    const killAtMs = Array.from({ length: KILLS }, () => 2_000 + random() * (PUBLISH_MS - 4_000)).sort((a, b) => a - b);
    const killLog: string[] = [];
    const js = nc.jetstream();
    const sc = StringCodec();
    const startedMs = performance.now();
    let next = 0;
    for (let i = 0; i < ticks.length; i++) {
      const dueMs = (i / ticks.length) * PUBLISH_MS;
      const waitMs = startedMs + dueMs - performance.now();
      if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
      // Each message until the stream has it; its id makes a retried one a duplicate the stream drops.
      for (const [j, m] of ticks[i]!.entries()) await retryUntil(() => js.publish(m.subject, sc.encode(m.payload), { msgID: `${i}-${j}` }), 60_000, 250);
      while (next < killAtMs.length && performance.now() - startedMs >= killAtMs[next]!) {
        next++;
        // A worker left dead at the previous point (its partitions taken over by the others
        // once its leases ran out) comes back now and takes its share again.
        for (let k = 0; k < WORKERS; k++) {
          if (workers[k] !== null) continue;
          workers[k] = startWorker(k, config);
          killLog.push(`${Math.round(performance.now() - startedMs)} ms: w${k} back`);
        }
        const alive = workers.filter((w): w is Worker => w !== null);
        const victim = alive[Math.floor(random() * alive.length)]!;
        victim.child.kill('SIGKILL');
        await victim.exited;
        const restart = random() < 0.5;
        killLog.push(`${Math.round(performance.now() - startedMs)} ms: w${victim.index} killed${restart ? ', restarted' : ''}`);
        workers[victim.index] = restart ? startWorker(victim.index, config) : null;
      }
    }
    // Bring every worker back for the end (the group shares the partitions again).
    for (let i = 0; i < WORKERS; i++) if (workers[i] === null) workers[i] = startWorker(i, config);

    const readAll = async (): Promise<OutputRecord[]> => {
      const records: OutputRecord[] = [];
      for (let i = 0; i < WORKERS; i++) {
        const text = await readFile(join(dir, `w${i}`, 'results.ndjson'), 'utf8').catch(() => '');
        records.push(...parseNdjsonResults<OutputRecord>(text).records);
      }
      return records;
    };
    const written = await retryUntil(
      async () => {
        const records = await readAll();
        const got = finalWindows(records);
        const missing = [...reference.keys()].filter((k) => !got.has(k));
        if (missing.length > 0) throw new Error(`${missing.length} windows missing, e.g. ${missing.slice(0, 3).join(', ')}`);
        return records;
      },
      120_000,
      1_000,
    );
    const diffs = compare(reference, finalWindows(written));
    expect(diffs, `kills: ${killLog.join('; ')}`).toEqual([]);
    // Alert transitions: each one the replay has, none twice for one breach (a reader drops a
    // re-emitted record by its id, as the results stream does).
    const alertIds = (records: readonly OutputRecord[]): string[] => [...new Set(records.filter((r) => r.type === 'alert').map(outputRecordId))].sort();
    expect(alertIds(written)).toEqual(alertIds(referenceRecords));

    // The results stream: every record version once (JetStream dropped the re-sent ones by
    // Nats-Msg-Id), with the same final values and the same alert transitions.
    const streamed = await readStream(nc, 'RESULTS');
    const streamedIds = streamed.map(outputRecordId);
    expect(streamedIds.length - new Set(streamedIds).size, 'records stored twice in the results stream').toBe(0);
    expect(new Set(streamedIds)).toEqual(new Set(written.map(outputRecordId)));
    expect(compare(reference, finalWindows(streamed))).toEqual([]);
    expect(alertIds(streamed)).toEqual(alertIds(referenceRecords));
    // InfluxDB: every final window is one point (same series and time overwritten), with the
    // replay's values; nothing else.
    let influxDiffs: string[] = [];
    await retryUntil(
      async () => {
        influxDiffs = await influxDifferences(reference);
        if (influxDiffs.length > 0) throw new Error(`${influxDiffs.length} differences in InfluxDB`);
      },
      30_000,
      1_000,
    ).catch(() => undefined);
    expect(influxDiffs).toEqual([]);

    // Evidence the kills mattered: windows emitted after the last checkpoint were emitted again.
    expect(written.length).toBeGreaterThan(new Set(written.map(outputRecordId)).size);

    for (const w of workers) if (w !== null) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => w?.exited));
  }, 420_000);
});

/** Differences between the points of the reference's final windows and what InfluxDB holds. */
async function influxDifferences(reference: Map<string, WindowResult>): Promise<string[]> {
  const stored = new Map<string, Record<string, unknown>>();
  for (const measurement of new Set([...reference.values()].map((r) => recordToPoint(r).measurement))) {
    for (const series of (await influx.query(`SELECT * FROM "${measurement}" GROUP BY *`)).results[0]?.series ?? []) {
      for (const values of series.values) {
        const row: Record<string, unknown> = {};
        series.columns.forEach((c, i) => (row[c] = values[i]));
        stored.set(pointKey(measurement, series.tags ?? {}, Number(row.time)), row);
      }
    }
  }
  const out: string[] = [];
  for (const [key, ref] of reference) {
    const point = recordToPoint(ref);
    const row = stored.get(pointKey(point.measurement, point.tags, point.timeMs));
    if (row === undefined) {
      out.push(`${key}: no point`);
      continue;
    }
    for (const [field, want] of Object.entries(point.fields)) {
      const got = row[field];
      const same = typeof want.value === 'number' && typeof got === 'number' ? Math.abs(want.value - got) <= 2e-6 + 1e-12 * Math.abs(want.value) : want.value === got;
      if (!same) out.push(`${key}: ${field} ${String(got)} vs ${String(want.value)}`);
    }
  }
  if (stored.size !== reference.size) out.push(`${stored.size} points for ${reference.size} windows`);
  return out;
}

function pointKey(measurement: string, tags: Readonly<Record<string, string>>, timeMs: number): string {
  const sorted = Object.entries(tags).filter(([, v]) => v !== '').sort(([a], [b]) => a.localeCompare(b));
  return `${measurement}|${JSON.stringify(sorted)}|${timeMs}`;
}

/** Every difference between two sets of final windows, one line each (every field; numbers to float noise). */
function compare(reference: Map<string, WindowResult>, got: Map<string, WindowResult>): string[] {
  const out: string[] = [];
  for (const [key, ref] of reference) {
    const r = got.get(key);
    if (r === undefined) out.push(`${key}: missing`);
    else {
      const fields = differingFields(ref, r);
      if (fields.length > 0) out.push(`${key}: ${fields.join(', ')}`);
    }
  }
  for (const key of got.keys()) if (!reference.has(key)) out.push(`${key}: not in the reference`);
  return out;
}

function differingFields(want: unknown, got: unknown, path = ''): string[] {
  if (typeof want === 'number' && typeof got === 'number') return Math.abs(want - got) <= 2e-6 + 1e-12 * Math.abs(want) ? [] : [`${path} ${got} vs ${want}`];
  if (typeof want !== 'object' || want === null || typeof got !== 'object' || got === null) return want === got ? [] : [`${path} ${JSON.stringify(got)} vs ${JSON.stringify(want)}`];
  const keys = new Set([...Object.keys(want), ...Object.keys(got)]);
  return [...keys].flatMap((k) => differingFields((want as Record<string, unknown>)[k], (got as Record<string, unknown>)[k], path === '' ? k : `${path}.${k}`));
}

async function readStream(conn: NatsConnection, stream: string): Promise<OutputRecord[]> {
  const consumer = await conn.jetstream().consumers.get(stream);
  const info = await consumer.info();
  const out: OutputRecord[] = [];
  let left = info.num_pending;
  while (left > 0) {
    const batch = await consumer.fetch({ max_messages: Math.min(left, 1000), expires: 2_000 });
    for await (const m of batch) {
      out.push(m.json<OutputRecord>());
      left--;
    }
  }
  return out;
}

function runCli(args: string[]): Promise<void> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [mainJs, ...args], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => (code === 0 ? res() : rej(new Error(`headroom ${args[0]} exited ${code}: ${stderr}`))));
  });
}
