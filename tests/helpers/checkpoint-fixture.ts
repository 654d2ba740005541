/**
 * Checkpoint tests' shared fixture: the demo fleet, a deterministic simulated stream, and a
 * feed loop shaped like the pipeline's (decode, record, advance, evaluate alerts) whose
 * processing clock is the message's own largest event time, so two engines fed the same
 * messages from the same state produce the same outputs, whatever came before.
 */
import { decodeMessage } from '../../src/codec/index.js';
import { loadConfigFile, type HeadroomConfig } from '../../src/config/index.js';
import type { WindowEngine } from '../../src/core/index.js';
import type { AlertEngine, AlertRule } from '../../src/core/alerts/index.js';
import type { AlertEvent, EngineSettings, NodeSpec, SiteSpec, Topology, WindowResult } from '../../src/domain/index.js';
import { NO_FAULTS, createSimulator } from '../../src/sources/index.js';
import { SCENARIO_SETTINGS } from './alert-scenarios.js';

export const FIXTURE_START_MS = Date.UTC(2026, 0, 6, 8, 0, 0);

/**
 * The demo fleet, with one more alert rule that fires within the first minute of the
 * simulated stream (utilization above 30 % on 10 s windows), so alert state crosses every
 * checkpoint the tests take.
 */
export function demoConfig(): HeadroomConfig {
  const loaded = loadConfigFile('config/demo-fleet.yaml');
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  const config = loaded.config;
  const busy: AlertRule = {
    name: 'checkpoint_fixture_utilization',
    metric: 'utilization',
    windowMs: 10_000,
    scope: {},
    warning: { at: { value: 0.3, relative: false }, clear: { value: 0.298, relative: false } },
    overrides: [],
    forMs: 0,
    labels: {},
    annotations: {},
  };
  return { ...config, alerts: { ...config.alerts, rules: [...config.alerts.rules, busy] } };
}

export interface StreamMessage {
  subject: string;
  payload: string;
}

/** `seconds` of gateway batches (1 Hz) for every site of `config`, with the simulator's default faults off. */
export function simulatedStream(config: HeadroomConfig, seconds: number, seed = 7): StreamMessage[] {
  const sim = createSimulator(config.topology, { seed, rateMs: 1000, startMs: FIXTURE_START_MS, batch: true, faults: NO_FAULTS });
  const out: StreamMessage[] = [];
  for (let i = 0; i < seconds; i++) out.push(...sim.tick().messages.map((m) => ({ subject: m.subject, payload: m.payload })));
  return out;
}

export interface FeedOutput {
  windows: WindowResult[];
  alerts: AlertEvent[];
  readings: number;
}

/** Feeds payloads through the engines as the pipeline does; readings of sites the engine lacks are dropped as `unknown_site`. */
export function feed(engine: WindowEngine, alerts: AlertEngine | null, payloads: readonly string[], out: FeedOutput = { windows: [], alerts: [], readings: 0 }): FeedOutput {
  for (const payload of payloads) {
    const { readings } = decodeMessage(payload, { maxMessageBytes: 1 << 20 });
    let nowMs = -Infinity;
    for (const r of readings) nowMs = Math.max(nowMs, r.tsMs);
    for (const r of readings) if (engine.record(r, nowMs) !== 'unknown_site') out.readings++;
    const windows = engine.advance(nowMs);
    out.windows.push(...windows);
    if (alerts !== null) out.alerts.push(...alerts.evaluate(windows, engine.watermarksMs()));
  }
  return out;
}

/** Closes everything (end of input) into `out`. */
export function drain(engine: WindowEngine, alerts: AlertEngine | null, out: FeedOutput): FeedOutput {
  const windows = engine.drain();
  out.windows.push(...windows);
  if (alerts !== null) out.alerts.push(...alerts.evaluate(windows, engine.watermarksMs()), ...alerts.flush());
  return out;
}

const RACKS_PER_PDU = 20;

/** The pipeline defaults with 10s/1m/15m windows, as bench/core.bench.ts uses (one copy: the scenarios'). */
export const GENERATED_SETTINGS: EngineSettings = SCENARIO_SETTINGS;

/** bench/core.bench.ts's shape at any size (100,000 racks = 100,015 meters over 5 sites): per site intake, A/B UPS, up to 10 halls, PDUs of 20 racks, a meter per rack. */
export function generatedTopology(racks: number): Topology {
  const siteCount = racks >= 5_000 ? 5 : 1;
  const perSite = Math.max(1, Math.round(racks / siteCount));
  const halls = Math.min(10, Math.ceil(perSite / RACKS_PER_PDU));
  const sites: SiteSpec[] = [];
  for (let s = 0; s < siteCount; s++) {
    const nodes: NodeSpec[] = [
      { id: 'intake', parent: null, level: 'grid', role: 'facility', ratingWatts: 400e6, derate: 1, meters: ['intake-main'] },
      { id: 'ups-a', parent: 'intake', level: 'ups', ratingWatts: 200e6, derate: 0.9, meters: ['ups-a-out'], redundantWith: 'ups-b' },
      { id: 'ups-b', parent: 'intake', level: 'ups', ratingWatts: 200e6, derate: 0.9, meters: ['ups-b-out'], redundantWith: 'ups-a' },
    ];
    const perHall = Math.ceil(perSite / halls);
    for (let h = 0, placed = 0; h < halls && placed < perSite; h++) {
      const hall = `hall-${h}`;
      nodes.push({ id: hall, parent: h % 2 === 0 ? 'ups-a' : 'ups-b', level: 'hall', role: 'it', ratingWatts: 30e6, derate: 0.8, meters: [] });
      const inHall = Math.min(perHall, perSite - placed);
      for (let p = 0; p * RACKS_PER_PDU < inHall; p++) {
        const pdu = `${hall}-pdu-${p}`;
        nodes.push({ id: pdu, parent: hall, level: 'pdu', ratingWatts: 400e3, derate: 0.8, meters: [] });
        for (let r = 0; r < RACKS_PER_PDU && p * RACKS_PER_PDU + r < inHall; r++) {
          const rack = `${pdu}-r${r}`;
          nodes.push({ id: rack, parent: pdu, level: 'rack', ratingWatts: 17.3e3, derate: 0.8, meters: [`${rack}-m`] });
        }
      }
      placed += inHall;
    }
    sites.push({ id: `site-${s}`, nominalHertz: 60, billingPeriod: 'month', demandIntervalMs: 900_000, contractWatts: 380e6, nodes, gridMeters: [] });
  }
  return { sites };
}

/** Every meter of `topology` once a second for `seconds` of event time (the core bench's load), alerts evaluated per second. */
export function feedGenerated(engine: WindowEngine, alerts: AlertEngine | null, topology: Topology, seconds: number, startMs = FIXTURE_START_MS): number {
  const pool = topology.sites.flatMap((s) => s.nodes.flatMap((n) => n.meters.map((m) => ({ site: s.id, meter: m, tsMs: 0, watts: 0 }))));
  for (let sec = 0; sec < seconds; sec++) {
    const ts = startMs + sec * 1000;
    for (let i = 0; i < pool.length; i++) {
      const r = pool[i]!;
      r.tsMs = ts + (i % 1000);
      r.watts = 8000 + ((i * 7919 + sec * 104729) % 6000);
      engine.record(r, ts + 1000);
    }
    const windows = engine.advance(ts + 1000);
    alerts?.evaluate(windows, engine.watermarksMs());
  }
  return pool.length * seconds;
}
