/**
 * Checkpoint cost (issue 13, item 5): one partition holding a generated fleet shaped like the
 * core bench's (100,000 racks = 100,015 meters over 5 sites, windows 10s/1m/15m, the built-in
 * alert rules), fed BENCH_CKPT_SECONDS of event time at 1 Hz, then checkpointed through a
 * real nats-server's Object Store: bytes per meter; time to snapshot, encode (gzip + SHA-256),
 * put, get (latest: list + read), decode and restore; CPU per checkpoint and the share of one
 * core that checkpointing every 10 s costs; the longest the event loop was blocked while one
 * checkpoint was taken and put (perf_hooks.monitorEventLoopDelay, 10 ms resolution, and the
 * synchronous take timed alone); peak RSS. Median of BENCH_CKPT_ROUNDS rounds.
 * Run: npx tsc -p tsconfig.bench.json && node dist-bench/bench/checkpoint.bench.js [--json FILE]; BENCH_CKPT_RACKS (100000), BENCH_CKPT_SECONDS (30), BENCH_CKPT_ROUNDS (3).
 */
import { PerformanceObserver, monitorEventLoopDelay, type PerformanceEntry } from 'node:perf_hooks';
import { connect } from 'nats';
import { builtinAlertsConfig } from '../src/config/index.js';
import { WindowEngine } from '../src/core/index.js';
import { AlertEngine } from '../src/core/alerts/index.js';
import { restoreFromCheckpoint, takeCheckpoint } from '../src/pipeline/group/checkpoint.js';
import { decodeCheckpoint, encodeCheckpoint } from '../src/pipeline/group/checkpoint-codec.js';
import { CheckpointStore } from '../src/pipeline/group/checkpoint-store.js';
import { GENERATED_SETTINGS, feedGenerated, generatedTopology } from '../tests/helpers/checkpoint-fixture.js';
import { startNats } from '../tests/helpers/servers.js';
import { envNumber, writeReport } from './report.js';

const RACKS = envNumber('BENCH_CKPT_RACKS', 100_000);
const SECONDS = envNumber('BENCH_CKPT_SECONDS', 30);
const ROUNDS = envNumber('BENCH_CKPT_ROUNDS', 3);
const INTERVAL_MS = 10_000;
const T0 = 1_767_225_600_000;

const settings = GENERATED_SETTINGS;


const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const topology = generatedTopology(RACKS);
const alertsConfig = builtinAlertsConfig(settings);
const meters = topology.sites.reduce((n, s) => n + s.nodes.reduce((k, node) => k + node.meters.length, 0), 0);
const engine = new WindowEngine(topology, settings);
const alerts = new AlertEngine(topology, alertsConfig);
const feedStart = performance.now();
feedGenerated(engine, alerts, topology, SECONDS, T0);
const feedSeconds = (performance.now() - feedStart) / 1000;
console.log(`fed ${SECONDS} s of event time to ${meters.toLocaleString('en-US')} meters in ${feedSeconds.toFixed(1)} s; checkpointing`);
const scope = { group: 'bench', partition: 0, partitionCount: 1, stream: 'TELEMETRY' };

// Garbage-collection pauses (main thread), to tell how much of a block was a collection the
// snapshot's allocations set off.
const gcPauses: PerformanceEntry[] = [];
const gcObserver = new PerformanceObserver((list) => gcPauses.push(...list.getEntries()));
gcObserver.observe({ entryTypes: ['gc'] });
const gcMsWithin = (fromMs: number, toMs: number): number =>
  gcPauses.filter((e) => e.startTime >= fromMs && e.startTime < toMs).reduce((ms, e) => ms + e.duration, 0);

const server = await startNats({ jetstream: true });
const nc = await connect({ servers: server.url });
const rounds: Record<string, number>[] = [];
try {
  const store = await CheckpointStore.open(nc, 'bench', { bucket: 'bench-checkpoints' });
  for (let round = 0; round < ROUNDS; round++) {
    // The event loop's longest stall while a checkpoint is taken and put: what a lease renewal
    // timer due meanwhile would have waited for.
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const cpu0 = cpuMs();
    const t0 = performance.now();
    const checkpoint = takeCheckpoint({ ...scope, engine, alerts, lastSeq: round + 1, takenAtMs: Date.now(), workerId: 'bench' });
    const snapshotMs = performance.now() - t0;
    const snapshotCpuMs = cpuMs() - cpu0;
    // GC entries are delivered asynchronously: read them once the put has been awaited.
    const snapshotEndMs = performance.now();
    const put = await store.put(checkpoint);
    const cpuPerCheckpointMs = cpuMs() - cpu0;
    loopDelay.disable();
    // max is the longest delay past the 10 ms tick (ns); the synchronous take is one block on its own.
    const longestBlockMs = Math.max(snapshotMs, loopDelay.max / 1e6);
    const gcMsInSnapshot = gcMsWithin(t0, snapshotEndMs);

    const t1 = performance.now();
    const latest = await store.latest(0);
    const getMs = performance.now() - t1;
    if (latest === null || latest.checkpoint.lastSeq !== round + 1) throw new Error('latest() did not return the checkpoint just stored');
    const encoded = await encodeCheckpoint(checkpoint);
    const t2 = performance.now();
    await decodeCheckpoint(encoded);
    const decodeMs = performance.now() - t2;
    const t3 = performance.now();
    const restored = restoreFromCheckpoint(latest.checkpoint, { ...scope, topology, settings, alerts: alertsConfig });
    const restoreMs = performance.now() - t3;
    if (!Buffer.from(restored.engine.snapshot()).equals(Buffer.from(checkpoint.engine))) throw new Error('restored engine differs from the one checkpointed');
    const rawBytes = checkpoint.engine.byteLength + (checkpoint.alerts?.byteLength ?? 0);
    rounds.push({
      engineSnapshotBytes: checkpoint.engine.byteLength,
      alertSnapshotBytes: checkpoint.alerts?.byteLength ?? 0,
      rawBytes,
      storedBytes: put.object.sizeBytes,
      chunks: put.object.chunks,
      snapshotMs,
      snapshotCpuMs,
      gcMsInSnapshot,
      longestBlockMs,
      encodeMs: put.encodeMs,
      putMs: put.putMs,
      getMs,
      decodeMs,
      restoreMs,
      cpuPerCheckpointMs,
    });
  }
} finally {
  gcObserver.disconnect();
  await nc.close();
  await server.stop();
}

const m = (key: string): number => median(rounds.map((r) => r[key]!));
const figures = {
  meters,
  sites: topology.sites.length,
  eventSeconds: SECONDS,
  rounds: ROUNDS,
  feedReadingsPerSecond: (meters * SECONDS) / feedSeconds,
  engineSnapshotBytes: m('engineSnapshotBytes'),
  alertSnapshotBytes: m('alertSnapshotBytes'),
  storedBytes: m('storedBytes'),
  chunks: m('chunks'),
  rawBytesPerMeter: m('rawBytes') / meters,
  storedBytesPerMeter: m('storedBytes') / meters,
  compressionRatio: m('storedBytes') / m('rawBytes'),
  snapshotMs: m('snapshotMs'),
  snapshotCpuMs: m('snapshotCpuMs'),
  /** Garbage-collection pauses during the synchronous snapshot (set off by its allocations). */
  gcMsInSnapshot: m('gcMsInSnapshot'),
  /** Longest the event loop was blocked while one checkpoint was taken and put. */
  longestBlockMs: m('longestBlockMs'),
  encodeMs: m('encodeMs'),
  putMs: m('putMs'),
  getMs: m('getMs'),
  decodeMs: m('decodeMs'),
  restoreMs: m('restoreMs'),
  cpuPerCheckpointMs: m('cpuPerCheckpointMs'),
  /** Share of one core spent checkpointing every 10 s (snapshot, encode, put). */
  coreShareAt10s: m('cpuPerCheckpointMs') / INTERVAL_MS,
  /** Peak resident set size of the bench process (feed, engines, checkpoints, restores). */
  peakRssBytes: process.resourceUsage().maxRSS * 1024,
  /** The event loop is blocked for the longest block: readings not processed meanwhile, at the feed rate. */
  readingsDeferredPerCheckpoint: (m('longestBlockMs') / 1000) * ((meters * SECONDS) / feedSeconds),
};
const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits });
console.log(`meters: ${fmt(meters)} over ${topology.sites.length} sites, ${SECONDS} s of event time fed (${fmt(figures.feedReadingsPerSecond)} readings/s), median of ${ROUNDS}`);
console.log(`state: engine ${fmt(figures.engineSnapshotBytes)} B + alerts ${fmt(figures.alertSnapshotBytes)} B = ${fmt(figures.rawBytesPerMeter)} B/meter; stored ${fmt(figures.storedBytes)} B (${fmt(figures.storedBytesPerMeter)} B/meter, ratio ${fmt(figures.compressionRatio, 3)}, ${figures.chunks} chunks)`);
console.log(`ms: snapshot ${fmt(figures.snapshotMs)}, encode ${fmt(figures.encodeMs)}, put ${fmt(figures.putMs)}, get ${fmt(figures.getMs)}, decode ${fmt(figures.decodeMs)}, restore ${fmt(figures.restoreMs)}`);
console.log(`cpu per checkpoint ${fmt(figures.cpuPerCheckpointMs)} ms (snapshot ${fmt(figures.snapshotCpuMs)}) = ${fmt(figures.coreShareAt10s * 100, 1)} % of a core at one checkpoint per 10 s`);
console.log(`longest event-loop block per checkpoint ${fmt(figures.longestBlockMs)} ms (GC pauses in the snapshot ${fmt(figures.gcMsInSnapshot)} ms); peak RSS ${fmt(figures.peakRssBytes / 2 ** 20)} MiB`);
const written = writeReport('checkpoint', figures);
if (written !== undefined) console.log(`figures written to ${written}`);
