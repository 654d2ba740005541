/**
 * Alert scenarios with known answers: generated training-hall loads (stationary swings, swings
 * on a ramping mean, a job start that steps up and plateaus) and the demo fleet from the
 * simulator, fed through the windowing core and the alert engine in-process on an event-time
 * clock, as the pipeline does (record, advance, evaluate with the watermarks, drain, flush).
 */
import { WindowEngine } from '../../src/core/index.js';
import { AlertEngine, type AlertsConfig } from '../../src/core/alerts/index.js';
import { decodeMessage } from '../../src/codec/index.js';
import type { AlertEvent, EngineSettings, NodeWindow, Reading, SiteWindow, Topology, WindowResult } from '../../src/domain/index.js';
import { createSimulator, DEFAULT_FAULT_RATES, type FaultRates, type Simulator } from '../../src/sources/simulator/index.js';

export const T0_MS = Date.UTC(2026, 5, 1, 8, 0, 0);

/** The pipeline defaults (config/schema/pipeline.ts) with the demo's 10 s / 1 m / 15 m windows. */
export const SCENARIO_SETTINGS: EngineSettings = {
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

/** A training hall rated 2 MW at the 0.8 derate (usable 1.6 MW), four pods of one meter each. */
export const HALL_RATING_WATTS = 2_000_000;
export const HALL_USABLE_WATTS = 1_600_000;
export const PODS = 4;

export const HALL_TOPOLOGY: Topology = {
  sites: [
    {
      id: 'train',
      nominalHertz: 60,
      billingPeriod: 'month',
      demandIntervalMs: 900_000,
      gridMeters: [],
      nodes: [
        { id: 'hall', parent: null, level: 'hall', ratingWatts: HALL_RATING_WATTS, derate: 0.8, meters: [] },
        ...Array.from({ length: PODS }, (_, i) => ({
          id: `pod-${i + 1}`,
          parent: 'hall',
          level: 'pod',
          ratingWatts: HALL_RATING_WATTS / PODS,
          derate: 0.8,
          meters: [`pod-${i + 1}-m`],
        })),
      ],
    },
  ],
};

/** Deterministic noise in [-1, 1) (xorshift32). */
export function noise(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 31 - 1;
  };
}

/** Hall load over time: mean(t) × (1 ± swing share on 30 s steps), split evenly over the pods with ±0.5 % noise. */
export interface HallLoad {
  /** Mean load at event second s (from T0). */
  meanWatts: (s: number) => number;
  /** Swing as a share of the mean: the load is mean × (1 + share) for 30 s, then mean × (1 − share) for 30 s. */
  swingShare: number;
  /** Seconds of the whole scenario. */
  seconds: number;
}

/** The square swing's sign at second s: high for 30 s, low for 30 s, phase shifted 7 s from the 10 s windows. */
export const swingSign = (s: number): number => (Math.floor((s + 7) / 30) % 2 === 0 ? 1 : -1);

export function hallWatts(load: HallLoad, s: number): number {
  return load.meanWatts(s) * (1 + load.swingShare * swingSign(s));
}

export function* hallReadings(load: HallLoad, seed = 1): Generator<Reading> {
  const rnd = noise(seed);
  for (let s = 0; s < load.seconds; s++) {
    const w = hallWatts(load, s);
    for (let p = 0; p < PODS; p++) yield { site: 'train', meter: `pod-${p + 1}-m`, tsMs: T0_MS + s * 1000, watts: (w / PODS) * (1 + 0.005 * rnd()) };
  }
}

/** Stationary training swings at half of the usable power, for an hour. */
export const STATIONARY: HallLoad = { meanWatts: () => HALL_USABLE_WATTS / 2, swingShare: 0.125, seconds: 3600 };

/** 20 min at half of usable, then the mean ramps 10 kW/min toward usable; 95 min in all. */
export const RAMP_START_S = 1200;
export const RAMP_WATTS_PER_SECOND = 10_000 / 60;
export const RAMPING: HallLoad = {
  meanWatts: (s) => HALL_USABLE_WATTS / 2 + Math.max(0, s - RAMP_START_S) * RAMP_WATTS_PER_SECOND,
  swingShare: 0.125,
  seconds: 95 * 60,
};

/**
 * A job start: 10 min idle at 30 % of usable, a 20 s step up to 70 % of usable (56 % of the
 * rating, above the time-to-breach floor), then a plateau with small swings for 50 min.
 */
export const JOB_START_S = 600;
export const JOB_START: HallLoad = {
  meanWatts: (s) => HALL_USABLE_WATTS * (s < JOB_START_S ? 0.3 : s < JOB_START_S + 20 ? 0.3 + (0.4 * (s - JOB_START_S)) / 20 : 0.7),
  swingShare: 0.03,
  seconds: 3600,
};

export interface ScenarioRun {
  alerts: AlertEvent[];
  /** Final revision of every node window of the tracked nodes, by node then window size, in time order. */
  nodeWindows: Map<string, Map<number, NodeWindow[]>>;
  /** Final revision of every site window of the tracked sites, by site then window size, in time order. */
  siteWindows: Map<string, Map<number, SiteWindow[]>>;
}

function byIdAndSize<T extends { windowMs: number; start: number }>(records: Iterable<T>, idOf: (r: T) => string): Map<string, Map<number, T[]>> {
  const out = new Map<string, Map<number, T[]>>();
  for (const w of records) {
    let bySize = out.get(idOf(w));
    if (bySize === undefined) out.set(idOf(w), (bySize = new Map()));
    let list = bySize.get(w.windowMs);
    if (list === undefined) bySize.set(w.windowMs, (list = []));
    list.push(w);
  }
  for (const bySize of out.values()) for (const list of bySize.values()) list.sort((a, b) => a.start - b.start);
  return out;
}

/** Readings in event-time order, on a processing clock that follows them, alerts evaluated per advance. */
export function runScenario(
  topology: Topology,
  settings: EngineSettings,
  alertsConfig: AlertsConfig,
  readings: Iterable<Reading>,
  trackedNodes: ReadonlySet<string> = new Set(),
  trackedSites: ReadonlySet<string> = new Set(),
): ScenarioRun {
  const windows = new WindowEngine(topology, settings);
  const alertEngine = new AlertEngine(topology, alertsConfig);
  const alerts: AlertEvent[] = [];
  const latest = new Map<string, NodeWindow>();
  const latestSite = new Map<string, SiteWindow>();
  const keep = (results: readonly WindowResult[]): void => {
    for (const r of results) {
      if (r.type === 'site' && trackedSites.has(r.site)) {
        const key = `${r.site}|${r.windowMs}|${r.start}`;
        const prev = latestSite.get(key);
        if (prev === undefined || r.revision >= prev.revision) latestSite.set(key, r);
      }
      if (r.type !== 'node' || !trackedNodes.has(r.node)) continue;
      const key = `${r.node}|${r.windowMs}|${r.start}`;
      const prev = latest.get(key);
      if (prev === undefined || r.revision >= prev.revision) latest.set(key, r);
    }
  };
  let nowMs = -Infinity;
  let lastAdvanceMs = -Infinity;
  for (const r of readings) {
    nowMs = Math.max(nowMs, r.tsMs);
    windows.record(r, nowMs);
    if (nowMs - lastAdvanceMs < 1000) continue;
    lastAdvanceMs = nowMs;
    const results = windows.advance(nowMs);
    keep(results);
    alerts.push(...alertEngine.evaluate(results, windows.stats().watermarkMs));
  }
  const last = windows.drain();
  keep(last);
  alerts.push(...alertEngine.evaluate(last), ...alertEngine.flush());
  return { alerts, nodeWindows: byIdAndSize(latest.values(), (w) => w.node), siteWindows: byIdAndSize(latestSite.values(), (w) => w.site) };
}

/** Readings of the demo fleet's simulator (default fault rates, as `npm start` runs it) for `seconds`. */
export function* simulatorReadings(topology: Topology, seconds: number, seed = 42, faults: Partial<FaultRates> = DEFAULT_FAULT_RATES): Generator<Reading> {
  const sim: Simulator = createSimulator(topology, { seed, rateMs: 1000, startMs: T0_MS, batch: true, faults });
  for (let i = 0; i < seconds; i++) {
    for (const m of sim.tick().messages) {
      const { readings } = decodeMessage(m.payload, { maxMessageBytes: 1 << 20 });
      yield* readings;
    }
  }
}

/** Counts per rule and state, e.g. `time_to_breach_short critical firing` → 3. */
export function tally(alerts: readonly AlertEvent[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of alerts) {
    const k = `${a.rule} ${a.severity} ${a.state}`;
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}
