/**
 * A jump in event time (a checkpoint of an old stream, then recent data; or a site idle for
 * months advancing on the processing clock) costs the windows that hold data, not the length
 * of the jump: stretches without data are skipped in one step. Work is counted through
 * WindowEngine.work(), never timed. The reference for what a jump must produce is the same
 * gap walked in 10-second steps of idle advance, where each advance passes a window or two.
 */
import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../../src/codec/index.js';
import { WindowEngine, type EngineWork } from '../../../src/core/index.js';
import { AlertEngine } from '../../../src/core/alerts/index.js';
import type { AlertEvent, EngineSettings, Reading, WindowResult } from '../../../src/domain/index.js';
import { NO_FAULTS, createSimulator } from '../../../src/sources/index.js';
import { FIXTURE_START_MS, demoConfig } from '../../helpers/checkpoint-fixture.js';
import { baseSettings, node, site, topo } from './fixtures.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const STEP_MS = 10_000;
const config = demoConfig();

/** What a run put out, in a form that does not depend on how the results were batched. */
interface RunOutput {
  windows: string[];
  alerts: string[];
  active: string;
}

class Run {
  readonly engine: WindowEngine;
  readonly alerts: AlertEngine;
  private windows: WindowResult[] = [];
  private events: AlertEvent[] = [];

  constructor(settings: EngineSettings = config.engine, from?: Run) {
    // From another run: its engines restored from their snapshots (a worker taking over a checkpoint).
    this.engine = from === undefined ? new WindowEngine(config.topology, settings) : WindowEngine.restore(config.topology, settings, from.engine.snapshot());
    this.alerts = from === undefined ? new AlertEngine(config.topology, config.alerts) : AlertEngine.restore(config.topology, config.alerts, from.alerts.snapshot());
  }

  /** `seconds` of gateway batches from `startMs`, at 1 Hz, recorded at the batch's own event time (as a replay does). */
  feed(startMs: number, seconds: number, seed: number): void {
    const sim = createSimulator(config.topology, { seed, rateMs: 1000, startMs, batch: true, faults: NO_FAULTS });
    for (let i = 0; i < seconds; i++) {
      for (const message of sim.tick().messages) {
        const { readings } = decodeMessage(message.payload, { maxMessageBytes: 1 << 20 });
        let nowMs = -Infinity;
        for (const reading of readings) nowMs = Math.max(nowMs, reading.tsMs);
        for (const reading of readings) this.engine.record(reading, nowMs);
        this.advance(nowMs);
      }
    }
  }

  advance(nowMs: number): WindowResult[] {
    const windows = this.engine.advance(nowMs);
    this.windows.push(...windows);
    this.events.push(...this.alerts.evaluate(windows, this.engine.watermarksMs()));
    return windows;
  }

  /** Forgets what was put out so far: finish() returns only what comes after. */
  forget(): void {
    this.windows = [];
    this.events = [];
  }

  finish(): RunOutput {
    const windows = this.engine.drain();
    this.windows.push(...windows);
    this.events.push(...this.alerts.evaluate(windows, this.engine.watermarksMs()), ...this.alerts.flush());
    return {
      windows: this.windows.map((w) => JSON.stringify(w)).sort(),
      alerts: this.events.map((e) => JSON.stringify(e)).sort(),
      active: JSON.stringify(this.alerts.activeAlerts()),
    };
  }
}

const BEFORE_S = 120;
const AFTER_S = 60;

/** BEFORE_S seconds of the demo fleet, a gap of `gapMs` without data (walked in idle steps or not), AFTER_S seconds more. */
function runWithGap(gapMs: number, walk: 'jump' | 'steps' | 'idle-jump'): { out: RunOutput; jumpWork: EngineWork } {
  const run = new Run();
  run.feed(FIXTURE_START_MS, BEFORE_S, 7);
  const resumeMs = FIXTURE_START_MS + BEFORE_S * 1000 + gapMs;
  if (walk === 'steps') for (let nowMs = FIXTURE_START_MS + BEFORE_S * 1000; nowMs < resumeMs; nowMs += STEP_MS) run.advance(nowMs);
  const before = run.engine.work();
  if (walk === 'idle-jump') run.advance(resumeMs);
  run.feed(resumeMs, 1, 8);
  const after = run.engine.work();
  run.feed(resumeMs + 1000, AFTER_S, 9);
  return {
    out: run.finish(),
    jumpWork: { windowsPassed: after.windowsPassed - before.windowsPassed, rangesIntegrated: after.rangesIntegrated - before.rangesIntegrated, rangesReused: after.rangesReused - before.rangesReused },
  };
}

describe('a jump in event time', () => {
  it('the demo fleet with its alert rules: a 2-hour jump gives the windows and alerts of the gap walked step by step', () => {
    const walked = runWithGap(2 * HOUR_MS, 'steps').out;
    // The run is not trivial: windows on both sides of the gap, alerts raised.
    expect(walked.windows.length).toBeGreaterThan(1000);
    expect(walked.alerts.length).toBeGreaterThan(0);
    const jumped = runWithGap(2 * HOUR_MS, 'jump').out;
    expect(jumped.windows).toEqual(walked.windows);
    expect(jumped.alerts).toEqual(walked.alerts);
    expect(jumped.active).toEqual(walked.active);
    const idle = runWithGap(2 * HOUR_MS, 'idle-jump').out;
    expect(idle.windows).toEqual(walked.windows);
    expect(idle.alerts).toEqual(walked.alerts);
    expect(idle.active).toEqual(walked.active);
  });

  it('a 90-day jump costs what a 2-hour jump costs, by data or by idle advance', () => {
    for (const walk of ['jump', 'idle-jump'] as const) {
      const short = runWithGap(2 * HOUR_MS, walk);
      const long = runWithGap(90 * DAY_MS, walk);
      expect(short.jumpWork.windowsPassed).toBeGreaterThan(0);
      expect(long.jumpWork, walk).toEqual(short.jumpWork);
      // Walking 90 days of 10 s windows would pass 777 600 windows per site.
      expect(long.jumpWork.windowsPassed).toBeLessThan(1000);
      // The windows after the gap are the same in number (only their times and the billing period differ).
      expect(long.out.windows.length, walk).toBe(short.out.windows.length);
    }
  });
});

describe('a checkpoint of an old stream, then recent data', () => {
  it('the restored engines jump 90 days at the cost of 2 hours, with the outputs of engines that ran through', () => {
    const outputs = (gapMs: number, restore: boolean): { out: RunOutput; jumpWindows: number } => {
      const old = new Run();
      old.feed(FIXTURE_START_MS, BEFORE_S, 7);
      const run = restore ? new Run(config.engine, old) : old;
      run.forget();
      const before = run.engine.work().windowsPassed;
      const resumeMs = FIXTURE_START_MS + BEFORE_S * 1000 + gapMs;
      run.feed(resumeMs, 1, 8);
      const jumpWindows = run.engine.work().windowsPassed - before;
      run.feed(resumeMs + 1000, AFTER_S, 9);
      return { out: run.finish(), jumpWindows };
    };
    const through = outputs(90 * DAY_MS, false);
    const restored = outputs(90 * DAY_MS, true);
    const short = outputs(2 * HOUR_MS, true);
    expect(restored.jumpWindows).toBe(short.jumpWindows);
    expect(restored.jumpWindows).toBe(through.jumpWindows);
    expect(restored.out.windows.length).toBeGreaterThan(0);
    expect(restored.out.windows).toEqual(through.out.windows);
    expect(restored.out.alerts).toEqual(through.out.alerts);
    expect(restored.out.active).toEqual(through.out.active);
  });
});

describe('a jump over a counter meter', () => {
  // Counter-only readings (`wattHours` without `watts`): the interval across a gap longer than
  // maxCounterGap covers nothing, and must not be walked either.
  const SITE = site('s1', [node('root', null, 10_000, [], { level: 'grid' }), node('n1', 'root', 5_000, ['kwh']), node('n2', 'root', 5_000, ['w'])]);
  const T0 = Date.UTC(2026, 0, 6, 8);

  function readingsAt(tsMs: number, wattHours: number): Reading[] {
    return [
      { site: 's1', meter: 'kwh', tsMs, wattHours },
      { site: 's1', meter: 'w', tsMs, watts: 1000 },
    ];
  }

  function run(gapMs: number, steps: boolean): { windows: string[]; jumpWork: EngineWork } {
    const engine = new WindowEngine(topo(SITE), baseSettings);
    const out: WindowResult[] = [];
    let wattHours = 1_000;
    const feed = (fromMs: number, seconds: number): void => {
      for (let s = 0; s < seconds; s++) {
        const tsMs = fromMs + s * 1000;
        wattHours += 0.5;
        for (const reading of readingsAt(tsMs, wattHours)) expect(engine.record(reading, tsMs)).toMatch(/^accepted/);
        out.push(...engine.advance(tsMs));
      }
    };
    feed(T0, 120);
    const resumeMs = T0 + 120_000 + gapMs;
    if (steps) for (let nowMs = T0 + 120_000; nowMs < resumeMs; nowMs += STEP_MS) out.push(...engine.advance(nowMs));
    const before = engine.work();
    feed(resumeMs, 1);
    const after = engine.work();
    feed(resumeMs + 1000, 60);
    out.push(...engine.drain());
    return {
      windows: out.map((w) => JSON.stringify(w)).sort(),
      jumpWork: { windowsPassed: after.windowsPassed - before.windowsPassed, rangesIntegrated: after.rangesIntegrated - before.rangesIntegrated, rangesReused: after.rangesReused - before.rangesReused },
    };
  }

  it('gives the windows of the gap walked step by step, at the cost of a short gap', () => {
    const walked = run(2 * HOUR_MS, true);
    const jumped = run(2 * HOUR_MS, false);
    expect(walked.windows.length).toBeGreaterThan(0);
    expect(jumped.windows).toEqual(walked.windows);
    const long = run(90 * DAY_MS, false);
    expect(long.jumpWork).toEqual(jumped.jumpWork);
    // The counter interval that a reading still acceptable could close holds the fold back for
    // up to maxCounterGap: the windows of that stretch are passed one by one, the rest skipped.
    const { maxCounterGapMs, allowedLatenessMs, maxOutOfOrderMs, windowsMs } = baseSettings;
    let boundWindows = 0;
    for (const windowMs of windowsMs) boundWindows += Math.ceil((maxCounterGapMs + allowedLatenessMs + maxOutOfOrderMs) / windowMs) + 2;
    expect(long.jumpWork.windowsPassed).toBeLessThanOrEqual(boundWindows);
  });
});

describe('a reading far in the future', () => {
  it('live: refused as from the future; the engine does no work for it and the alerts never see it', () => {
    const run = new Run();
    run.feed(FIXTURE_START_MS, 60, 7);
    const before = run.engine.work();
    const nowMs = FIXTURE_START_MS + 60_000;
    const meter = config.topology.sites[0]!.nodes.find((n) => n.meters.length > 0)!.meters[0]!;
    const far: Reading = { site: config.topology.sites[0]!.id, meter, tsMs: nowMs + 90 * DAY_MS, watts: 1000 };
    expect(run.engine.record(far, nowMs)).toBe('future');
    run.advance(nowMs);
    expect(run.engine.work().windowsPassed - before.windowsPassed).toBeLessThan(20);
    const out = run.finish();
    const farEnds = out.windows.filter((w) => (JSON.parse(w) as WindowResult).end > nowMs + DAY_MS);
    expect(farEnds).toEqual([]);
  });

  it('at the accept horizon (maxClockSkew ahead, at most a day): accepted; it does not move the site, and closing its window costs no walk', () => {
    const run = new Run({ ...config.engine, maxClockSkewMs: DAY_MS });
    run.feed(FIXTURE_START_MS, 60, 7);
    const siteSpec = config.topology.sites[0]!;
    const meter = siteSpec.nodes.find((n) => n.meters.length > 0)!.meters[0]!;
    const nowMs = FIXTURE_START_MS + 60_000;
    const farMs = nowMs + DAY_MS - 1000;
    const watermarkMs = run.engine.siteWatermarkMs(siteSpec.id);
    expect(run.engine.record({ site: siteSpec.id, meter, tsMs: farMs, watts: 1000 }, nowMs)).toBe('accepted');
    run.advance(nowMs);
    // The event clock is never ahead of the processing clock: the watermark stays.
    expect(run.engine.siteWatermarkMs(siteSpec.id)).toBe(watermarkMs);
    run.feed(nowMs, 30, 8);
    const before = run.engine.work();
    const out = run.finish();
    // Walking the day in 10 s windows would pass 8640 windows of that size alone.
    expect(run.engine.work().windowsPassed - before.windowsPassed).toBeLessThan(1000);
    // drain() closes the far window too, and the alert engine evaluated it like any other.
    const farWindows = out.windows.map((w) => JSON.parse(w) as WindowResult).filter((w) => w.type === 'node' && w.start <= farMs && farMs < w.end);
    expect(farWindows.length).toBeGreaterThan(0);
  });
});
