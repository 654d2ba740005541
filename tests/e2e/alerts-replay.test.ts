/**
 * A recorded breach, end to end: an NDJSON recording of a PDU ramping through its 80 %
 * derate goes through the replay driver, the windowing core and the alert engine (built-in
 * rules). The transitions and their event times are checked exactly; the same readings fed
 * live (reading by reading) and in another arrival order within maxOutOfOrder give the same
 * sequence, and so does a run restored from snapshots half-way.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinAlertsConfig } from '../../src/config/index.js';
import { AlertEngine, type AlertsConfig } from '../../src/core/alerts/index.js';
import { WindowEngine } from '../../src/core/index.js';
import type { AlertEvent, EngineSettings, Reading, Topology, WindowResult } from '../../src/domain/index.js';
import { replayFiles } from '../../src/pipeline/replay.js';
import { AlertingSink } from '../helpers/collecting-sink.js';

const T0 = Date.UTC(2026, 2, 2, 9, 0, 0);
const W = 10_000;

const settings: EngineSettings = {
  windowsMs: [W, 60_000],
  maxOutOfOrderMs: 2_000,
  allowedLatenessMs: 10_000,
  maxHoldMs: 5_000,
  maxCounterGapMs: 900_000,
  idleTimeoutMs: 30_000,
  maxClockSkewMs: 300_000,
  completenessThreshold: 0.9,
  trendWindows: 6,
  // A one-minute trend horizon (6 windows): the recording is short.
  trendHorizonMs: 60_000,
  watermarkQuorum: 3,
};

/** A 400 kW UPS feeding two 100 kW PDUs (usable 80 kW at the default 0.8 derate). */
const topology: Topology = {
  sites: [
    {
      id: 'lab',
      nominalHertz: 60,
      billingPeriod: 'month',
      demandIntervalMs: 900_000,
      gridMeters: [],
      nodes: [
        { id: 'ups-1', parent: null, level: 'ups', ratingWatts: 400_000, derate: 0.8, meters: [] },
        { id: 'pdu-1', parent: 'ups-1', level: 'pdu', ratingWatts: 100_000, derate: 0.8, meters: ['pdu-1-m'] },
        { id: 'pdu-2', parent: 'ups-1', level: 'pdu', ratingWatts: 100_000, derate: 0.8, meters: ['pdu-2-m'] },
      ],
    },
  ],
};

const WINDOWS = 40;

/**
 * pdu-1 draws 61 kW in window 0 and 2 kW more every 10 s window up to 85 kW (window 12),
 * holds, and drops back to 61 kW from window 16. pdu-2 draws 40 kW. One reading a second.
 */
function pdu1Watts(k: number): number {
  if (k >= 16) return 61_000;
  return 61_000 + 2_000 * Math.min(k, 12);
}

function recording(): Reading[] {
  const out: Reading[] = [];
  for (let s = 0; s < WINDOWS * 10; s++) {
    const tsMs = T0 + s * 1000;
    out.push({ site: 'lab', meter: 'pdu-1-m', tsMs, watts: pdu1Watts(Math.floor(s / 10)) });
    out.push({ site: 'lab', meter: 'pdu-2-m', tsMs, watts: 40_000 });
  }
  return out;
}

/** Another arrival order, each reading at most 1.5 s behind the newest one seen: blocks of 2 s, reversed. */
function reordered(readings: Reading[]): Reading[] {
  const out: Reading[] = [];
  for (let i = 0; i < readings.length; i += 4) out.push(...readings.slice(i, i + 4).reverse());
  return out;
}

const toNdjson = (readings: Reading[]): string => readings.map((r) => JSON.stringify({ site: r.site, meter: r.meter, ts: r.tsMs, watts: r.watts })).join('\n') + '\n';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'headroom-alerts-replay-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function replay(readings: Reading[], alertsConfig: AlertsConfig, name: string): Promise<{ alerts: AlertEvent[]; windows: WindowResult[]; engine: AlertEngine }> {
  const file = join(dir, `${name}.ndjson`);
  await writeFile(file, toNdjson(readings));
  const engine = new AlertEngine(topology, alertsConfig);
  const sink = new AlertingSink(engine);
  await replayFiles(new WindowEngine(topology, settings), [sink], { inputs: [file], maxMessageBytes: 1 << 20 });
  sink.alerts.push(...engine.flush());
  return { alerts: sink.alerts, windows: sink.windows, engine };
}

/** Live: readings one by one on a wall clock that follows them, the watermark passed along. */
function live(readings: Reading[], alertsConfig: AlertsConfig, restoreAt = -1): AlertEvent[] {
  let windows = new WindowEngine(topology, settings);
  let alerts = new AlertEngine(topology, alertsConfig);
  const out: AlertEvent[] = [];
  let nowMs = -Infinity;
  readings.forEach((r, i) => {
    if (i === restoreAt) {
      // A crash and a restart from checkpoints: both engines restored from their snapshots.
      windows = WindowEngine.restore(topology, settings, windows.snapshot());
      alerts = AlertEngine.restore(topology, alertsConfig, alerts.snapshot());
    }
    nowMs = Math.max(nowMs, r.tsMs);
    windows.record(r, nowMs);
    out.push(...alerts.evaluate(windows.advance(nowMs), windows.stats().watermarkMs));
  });
  out.push(...alerts.evaluate(windows.drain()), ...alerts.flush());
  return out;
}

const endOf = (k: number): number => T0 + (k + 1) * W;

/** `rule severity state node @window`. */
const brief = (events: AlertEvent[]): string[] => events.map((e) => `${e.rule} ${e.severity} ${e.state} ${e.node ?? e.site} @${(e.atMs - T0) / W - 1}`);

const EXPECTED = [
  // window 4: 69 kW, headroom 11 kW = 13.75 % of 80 kW usable (< 15 %)
  'headroom_low warning pending pdu-1 @4',
  // window 5: 6 windows (the 1 min horizon) of stable completeness: a clean rise of 200 W/s,
  // 9 kW of headroom = 45 s to breach
  'time_to_breach_short warning pending pdu-1 @5',
  'time_to_breach_short critical pending pdu-1 @5',
  // for 30 s: breach since the start of window 4, end of window 6 is 30 s later
  'headroom_low warning firing pdu-1 @6',
  // window 8: 77 kW, headroom 3 kW = 3.75 % (< 5 %)
  'headroom_low critical pending pdu-1 @8',
  'headroom_low critical firing pdu-1 @10',
  // The load stops rising at window 12, before time_to_breach_short's `for` (2 min): its
  // pending alerts end without a resolved event (they never fired).
  // window 16: back to 61 kW (23.75 % headroom, past both clear thresholds); clearFor (2 min)
  // later, at the end of window 27, both severities resolve
  'headroom_low warning resolved pdu-1 @27',
  'headroom_low critical resolved pdu-1 @27',
];

describe('alerts: replay of a recorded breach', () => {
  const finalConfig = builtinAlertsConfig(settings);
  const firstConfig: AlertsConfig = { ...finalConfig, revisions: 'first' };

  it('raises exactly the expected transitions at the expected event times', async () => {
    const { alerts, engine } = await replay(recording(), finalConfig, 'in-order');
    expect(brief(alerts)).toEqual(EXPECTED);
    const firing = alerts.find((e) => e.rule === 'headroom_low' && e.severity === 'critical' && e.state === 'firing')!;
    expect(firing).toMatchObject({ site: 'lab', node: 'pdu-1', atMs: endOf(10), windowMs: W, value: -1000, threshold: 4000 });
    expect(firing.labels).toEqual({ alertname: 'headroom_low', severity: 'critical', site: 'lab', node: 'pdu-1', level: 'pdu', window: '10s' });
    expect(firing.annotations['summary']).toBe('Headroom of pdu pdu-1 at lab is -1 kW (threshold 4 kW)');
    expect(firing.annotations['runbook_url']).toBe('https://runbooks.example.com/headroom/headroom-low?site=lab&node=pdu-1');
    expect(engine.activeAlerts()).toEqual([]);
  });

  it('another arrival order within maxOutOfOrder gives the same windows and the same transitions', async () => {
    const a = await replay(recording(), finalConfig, 'a');
    const b = await replay(reordered(recording()), finalConfig, 'b');
    expect(reordered(recording())).not.toEqual(recording());
    const nodes = (ws: WindowResult[]) => ws.filter((w) => w.type === 'node');
    expect(nodes(b.windows)).toEqual(nodes(a.windows));
    expect(b.alerts).toEqual(a.alerts);
    expect(brief(b.alerts)).toEqual(EXPECTED);
  });

  it('live processing raises the same transitions as the replay, with either revision policy', async () => {
    const replayed = (await replay(recording(), finalConfig, 'live-ref')).alerts;
    expect(live(recording(), finalConfig)).toEqual(replayed);
    expect(live(reordered(recording()), finalConfig)).toEqual(replayed);
    expect(live(recording(), firstConfig)).toEqual(replayed);
    expect(live(reordered(recording()), firstConfig)).toEqual(replayed);
  });

  it('a restart from snapshots half-way through raises the same transitions', () => {
    const straight = live(recording(), finalConfig);
    for (const cut of [37, 150, 241, 300]) expect(live(recording(), finalConfig, cut)).toEqual(straight);
  });
});
