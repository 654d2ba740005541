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
import type { AlertEvent, WindowResult } from '../../src/domain/index.js';
import { NO_FAULTS, createSimulator } from '../../src/sources/index.js';

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
