/**
 * Core benchmark: decoded readings through the windowing core alone.
 * 100,000 meters over 5 sites (intake → A/B UPS → halls → PDUs → racks), windows 10s/1m/15m,
 * one reading per meter per second of event time. Reports readings/s on one core, the ratio
 * to a baseline loop over the same readings (lookup + store, measured in the same run), and
 * heap bytes per meter in steady state, with the typed arrays' bytes per meter (arrayBuffers:
 * outside the heap, most of the core's state). Run: npm run bench [-- --json FILE] (writes the
 * figures as JSON too); BENCH_SECONDS (120, at least 6) sets the seconds of event time.
 */
import { WindowEngine, type EngineWork } from '../src/core/index.js';
import type { EngineSettings, NodeSpec, Reading, SiteSpec, Topology } from '../src/domain/index.js';
import { envNumber, writeReport } from './report.js';

const SITES = 5;
const HALLS = 10;
const PDUS_PER_HALL = 100;
const RACKS_PER_PDU = 20;
const SECONDS = envNumber('BENCH_SECONDS', 120);
// The steady-state heap is read 5 s before the end.
if (!Number.isInteger(SECONDS) || SECONDS < 6) throw new Error(`BENCH_SECONDS must be a whole number of at least 6, got ${SECONDS}`);

function buildTopology(): Topology {
  const sites: SiteSpec[] = [];
  for (let s = 0; s < SITES; s++) {
    const nodes: NodeSpec[] = [
      { id: 'intake', parent: null, level: 'grid', role: 'facility', ratingWatts: 400e6, derate: 1, meters: ['intake-main'] },
      { id: 'ups-a', parent: 'intake', level: 'ups', ratingWatts: 200e6, derate: 0.9, meters: ['ups-a-out'], redundantWith: 'ups-b' },
      { id: 'ups-b', parent: 'intake', level: 'ups', ratingWatts: 200e6, derate: 0.9, meters: ['ups-b-out'], redundantWith: 'ups-a' },
    ];
    for (let h = 0; h < HALLS; h++) {
      const hall = `hall-${h}`;
      nodes.push({ id: hall, parent: h % 2 === 0 ? 'ups-a' : 'ups-b', level: 'hall', role: 'it', ratingWatts: 30e6, derate: 0.8, meters: [] });
      for (let p = 0; p < PDUS_PER_HALL; p++) {
        const pdu = `${hall}-pdu-${p}`;
        nodes.push({ id: pdu, parent: hall, level: 'pdu', ratingWatts: 400e3, derate: 0.8, meters: [] });
        for (let r = 0; r < RACKS_PER_PDU; r++) {
          const rack = `${pdu}-r${r}`;
          nodes.push({ id: rack, parent: pdu, level: 'rack', ratingWatts: 17.3e3, derate: 0.8, meters: [`${rack}-m`] });
        }
      }
    }
    sites.push({ id: `site-${s}`, nominalHertz: 60, billingPeriod: 'month', demandIntervalMs: 900_000, contractWatts: 380e6, nodes, gridMeters: [] });
  }
  return { sites };
}

const settings: EngineSettings = {
  windowsMs: [10_000, 60_000, 900_000],
  maxOutOfOrderMs: 2_000,
  allowedLatenessMs: 10_000,
  maxHoldMs: 5_000,
  maxCounterGapMs: 900_000,
  idleTimeoutMs: 30_000,
  maxClockSkewMs: 300_000,
  completenessThreshold: 0.9,
  trendWindows: 6,
  watermarkQuorum: 3,
};

const gc = (globalThis as { gc?: () => void }).gc;
/** Heap and typed-array (arrayBuffers) bytes in use, after two full GCs when exposed. */
const memory = (): { heapBytes: number; arrayBytes: number } => {
  gc?.();
  gc?.();
  const usage = process.memoryUsage();
  return { heapBytes: usage.heapUsed, arrayBytes: usage.arrayBuffers };
};

const topology = buildTopology();
const pool: Reading[] = topology.sites.flatMap((s) =>
  s.nodes.flatMap((n) => n.meters.map((m): Reading => ({ site: s.id, meter: m, tsMs: 0, watts: 0 }))),
);
const meterCount = pool.length;
const T0 = 1_767_225_600_000;

function wattsAt(i: number, sec: number): number {
  return 8000 + ((i * 7919 + sec * 104729) % 6000);
}

/**
 * Baseline: the minimum any consumer does per reading, on the same readings: find the site
 * and the meter (the same two map lookups the core makes) and store the value.
 */
/** CPU time (user + system, all threads of the process) since `from`, seconds: less bent by other processes than wall time. */
function cpuSeconds(from: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1e6;
}

function baseline(): { readingsPerSecond: number; readingsPerCpuSecond: number } {
  const siteIndex = new Map(topology.sites.map((s, i) => [s.id, i] as const));
  const perSite = topology.sites.map((s) => new Map(s.nodes.flatMap((n) => n.meters).map((m, i) => [m, i] as const)));
  const lastTs = topology.sites.map((s) => new Float64Array(s.nodes.reduce((n, x) => n + x.meters.length, 0)));
  const lastW = lastTs.map((a) => new Float64Array(a.length));
  const start = process.hrtime.bigint();
  const startCpu = process.cpuUsage();
  for (let sec = 0; sec < SECONDS; sec++) {
    const ts = T0 + sec * 1000;
    for (let i = 0; i < meterCount; i++) {
      const r = pool[i]!;
      r.tsMs = ts + (i % 1000);
      r.watts = wattsAt(i, sec);
      const s = siteIndex.get(r.site)!;
      const m = perSite[s]!.get(r.meter)!;
      lastTs[s]![m] = r.tsMs;
      lastW[s]![m] = r.watts;
    }
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { readingsPerSecond: (SECONDS * meterCount) / seconds, readingsPerCpuSecond: (SECONDS * meterCount) / cpuSeconds(startCpu) };
}

function core(): { readingsPerSecond: number; readingsPerCpuSecond: number; bytesPerMeter: number; arrayBytesPerMeter: number; windows: number; work: EngineWork; outcomes: Record<string, number> } {
  const before = memory();
  const engine = new WindowEngine(topology, settings);
  const outcomes: Record<string, number> = {};
  let windows = 0;
  let steady = before;
  // The heap measurement (two full GCs) is paused out of the timing.
  let pausedNs = 0n;
  let pausedCpuSeconds = 0;
  const start = process.hrtime.bigint();
  const startCpu = process.cpuUsage();
  for (let sec = 0; sec < SECONDS; sec++) {
    const ts = T0 + sec * 1000;
    for (let i = 0; i < meterCount; i++) {
      const r = pool[i]!;
      r.tsMs = ts + (i % 1000);
      r.watts = wattsAt(i, sec);
      const o = engine.record(r, ts + 1000);
      outcomes[o] = (outcomes[o] ?? 0) + 1;
    }
    windows += engine.advance(ts + 1000).length;
    if (sec === SECONDS - 5) {
      const paused = process.hrtime.bigint();
      const pausedCpu = process.cpuUsage();
      steady = memory();
      pausedNs += process.hrtime.bigint() - paused;
      pausedCpuSeconds += cpuSeconds(pausedCpu);
    }
  }
  const seconds = Number(process.hrtime.bigint() - start - pausedNs) / 1e9;
  const busySeconds = cpuSeconds(startCpu) - pausedCpuSeconds;
  windows += engine.drain().length;
  const work = engine.work();
  return {
    readingsPerSecond: (SECONDS * meterCount) / seconds,
    readingsPerCpuSecond: (SECONDS * meterCount) / busySeconds,
    bytesPerMeter: (steady.heapBytes - before.heapBytes) / meterCount,
    arrayBytesPerMeter: (steady.arrayBytes - before.arrayBytes) / meterCount,
    windows,
    work,
    outcomes,
  };
}

const base = baseline();
const result = core();
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
console.log(`meters: ${fmt(meterCount)} over ${SITES} sites, ${SECONDS} s of event time at 1 Hz, windows 10s/1m/15m`);
const ratio = result.readingsPerSecond / base.readingsPerSecond;
const cpuRatio = result.readingsPerCpuSecond / base.readingsPerCpuSecond;
console.log(`baseline (lookup + store): ${fmt(base.readingsPerSecond)} readings/s`);
console.log(`core (record + advance):   ${fmt(result.readingsPerSecond)} readings/s  (ratio to baseline ${ratio.toFixed(3)})`);
console.log(`by CPU time (process):     baseline ${fmt(base.readingsPerCpuSecond)}, core ${fmt(result.readingsPerCpuSecond)} readings/CPU-s  (ratio ${cpuRatio.toFixed(3)})`);
console.log(`heap per meter (steady):   ${fmt(result.bytesPerMeter)} bytes${gc ? '' : '  (run with --expose-gc for a precise figure)'}`);
console.log(`typed arrays per meter:    ${fmt(result.arrayBytesPerMeter)} bytes (arrayBuffers, outside the heap)`);
console.log(`windows emitted: ${fmt(result.windows)}; outcomes: ${JSON.stringify(result.outcomes)}`);
console.log(`work: ${fmt(result.work.windowsPassed)} windows passed, ${fmt(result.work.rangesIntegrated)} ranges integrated, ${fmt(result.work.rangesReused)} reused`);
const written = writeReport('core', {
  meters: meterCount,
  sites: SITES,
  eventSeconds: SECONDS,
  windowsMs: settings.windowsMs,
  baselineReadingsPerSecond: base.readingsPerSecond,
  coreReadingsPerSecond: result.readingsPerSecond,
  ratio,
  baselineReadingsPerCpuSecond: base.readingsPerCpuSecond,
  coreReadingsPerCpuSecond: result.readingsPerCpuSecond,
  cpuRatio,
  heapBytesPerMeter: result.bytesPerMeter,
  arrayBufferBytesPerMeter: result.arrayBytesPerMeter,
  heapMeasured: gc !== undefined,
  windowsEmitted: result.windows,
  work: result.work,
  outcomes: result.outcomes,
});
if (written !== undefined) console.log(`figures written to ${written}`);
