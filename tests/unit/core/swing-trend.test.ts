/**
 * Swing metrics and the time-to-breach trend on generated loads whose answers are known:
 * square, sine and noisy swings through the windowing core (1 Hz readings, so each 1-second
 * bucket is one reading), and the trend's significance test on ramps, steps and swings.
 */
import { describe, expect, it } from 'vitest';
import { WindowEngine } from '../../../src/core/index.js';
import { projectBreachSeconds, tQuantile975 } from '../../../src/core/trend.js';
import { newTrendScratch } from '../../../src/core/trend.js';
import type { EngineSettings, NodeWindow, Topology } from '../../../src/domain/index.js';
import { noise } from '../../helpers/alert-scenarios.js';

const T0 = Date.UTC(2026, 3, 1, 0, 0, 0);

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
  watermarkQuorum: 1,
};

const topology: Topology = {
  sites: [
    {
      id: 'lab',
      nominalHertz: 50,
      billingPeriod: 'month',
      demandIntervalMs: 900_000,
      gridMeters: [],
      nodes: [{ id: 'rack', parent: null, level: 'rack', ratingWatts: 100_000, derate: 0.8, meters: ['m'] }],
    },
  ],
};

/** Node windows of `rack` for a load given per second, `seconds` long, 1 reading a second. */
function windowsOf(wattsAt: (s: number) => number, seconds: number): NodeWindow[] {
  const engine = new WindowEngine(topology, settings);
  const out: NodeWindow[] = [];
  for (let s = 0; s < seconds; s++) {
    const tsMs = T0 + s * 1000;
    expect(engine.record({ site: 'lab', meter: 'm', tsMs, watts: wattsAt(s) }, tsMs)).toBe('accepted');
    for (const r of engine.advance(tsMs)) if (r.type === 'node') out.push(r);
  }
  for (const r of engine.drain()) if (r.type === 'node') out.push(r);
  return out;
}

/** Full windows of one size (the drain also emits the window the last reading's hold reaches into). */
const of = (ws: NodeWindow[], windowMs: number): NodeWindow[] => {
  const sized = ws.filter((w) => w.windowMs === windowMs);
  const lastEnd = Math.max(...sized.map((w) => w.end));
  return sized.filter((w) => w.end < lastEnd);
};

/** Standard normal deviates (Box-Muller) from a seeded uniform source. */
function gaussian(seed: number): () => number {
  const u = noise(seed);
  return () => {
    const a = (u() + 1) / 2 || 1e-12;
    const b = (u() + 1) / 2;
    return Math.sqrt(-2 * Math.log(a)) * Math.cos(2 * Math.PI * b);
  };
}

describe('swing metrics', () => {
  it('a square swing of ±A every 10 s (period 20 s): swing 2A, period 20 s, all its variance periodic', () => {
    const A = 5_000;
    const ws = windowsOf((s) => 50_000 + (Math.floor(s / 10) % 2 === 0 ? A : -A), 1800);
    const minutes = of(ws, 60_000);
    expect(minutes.length).toBe(30);
    for (const w of minutes) {
      // Half the seconds at +A, half at -A: the 5th percentile is the low level, the 95th the high one.
      expect(w.swingWatts).toBe(2 * A);
      expect(w.swingPeriodSeconds).toBeCloseTo(20, 0);
      expect(w.swingPeriodShare).toBeGreaterThan(0.9);
    }
    for (const w of of(ws, 900_000)) {
      expect(w.swingWatts).toBe(2 * A);
      expect(w.swingPeriodSeconds).toBeCloseTo(20, 1);
      expect(w.swingPeriodShare).toBeGreaterThan(0.99);
    }
    // 10 s windows carry no swing metrics.
    expect(of(ws, 10_000).every((w) => w.swingWatts === null && w.swingPeriodSeconds === null && w.swingPeriodShare === null)).toBe(true);
  });

  it('a sine swing of amplitude A, period 37 s: swing 2A cos(0.05 π) (5th to 95th percentile of a sine), period 37 s', () => {
    const A = 8_000;
    const ws = windowsOf((s) => 40_000 + A * Math.sin((2 * Math.PI * s) / 37), 1800);
    // The p-quantile of A sin(θ), θ uniform, is -A cos(π p): p95 - p5 = 2 A cos(0.05 π).
    const expected = 2 * A * Math.cos(0.05 * Math.PI);
    for (const w of of(ws, 900_000)) {
      expect(Math.abs(w.swingWatts! - expected) / expected).toBeLessThan(0.01);
      expect(w.swingPeriodSeconds).toBeCloseTo(37, 0);
      expect(w.swingPeriodShare).toBeGreaterThan(0.98);
    }
  });

  it('a noisy square swing (±A plus Gaussian noise of σ = 0.3 A): swing and variance share as the mixture predicts', () => {
    const A = 10_000;
    const sigma = 0.3 * A;
    const g = gaussian(7);
    const ws = windowsOf((s) => 60_000 + (Math.floor(s / 15) % 2 === 0 ? A : -A) + sigma * g(), 1800);
    // p95 of 0.5 N(A, σ²) + 0.5 N(-A, σ²) with A/σ = 3.3: the lower component adds ~0, so
    // Φ((x - A)/σ) = 0.9 and x = A + 1.2816 σ; symmetric for p5.
    const expectedSwing = 2 * (A + 1.2816 * sigma);
    // The periodic part carries A² of the variance A² + σ².
    const expectedShare = (A * A) / (A * A + sigma * sigma);
    for (const w of of(ws, 900_000)) {
      expect(Math.abs(w.swingWatts! - expectedSwing) / expectedSwing).toBeLessThan(0.03);
      expect(w.swingPeriodSeconds).toBeCloseTo(30, 0);
      expect(Math.abs(w.swingPeriodShare! - expectedShare)).toBeLessThan(0.05);
    }
  });

  it('noise alone has no period; a steady load swings 0 with no period; a ramp is not a period', () => {
    const g = gaussian(3);
    for (const w of of(windowsOf(() => 30_000 + 2_000 * g(), 1800), 900_000)) {
      expect(w.swingWatts).toBeGreaterThan(0);
      expect(w.swingPeriodSeconds).toBeNull();
      expect(w.swingPeriodShare).toBeNull();
    }
    for (const w of of(windowsOf(() => 30_000, 600), 60_000)) {
      expect(w.swingWatts).toBe(0);
      expect(w.swingPeriodSeconds).toBeNull();
    }
    for (const w of of(windowsOf((s) => 30_000 + 10 * s, 1800), 900_000)) expect(w.swingPeriodSeconds).toBeNull();
  });

  it('a snapshot taken inside a window restores its swing series: the same windows follow', () => {
    const load = (s: number): number => 50_000 + (Math.floor(s / 10) % 2 === 0 ? 4_000 : -4_000);
    const straight = windowsOf(load, 1200);
    const engine0 = new WindowEngine(topology, settings);
    const out: NodeWindow[] = [];
    let engine = engine0;
    for (let s = 0; s < 1200; s++) {
      const tsMs = T0 + s * 1000;
      if (s === 437) engine = WindowEngine.restore(topology, settings, engine.snapshot());
      engine.record({ site: 'lab', meter: 'm', tsMs, watts: load(s) }, tsMs);
      for (const r of engine.advance(tsMs)) if (r.type === 'node') out.push(r);
    }
    for (const r of engine.drain()) if (r.type === 'node') out.push(r);
    expect(out).toEqual(straight);
  });
});

describe('time to breach: a significant trend over the horizon, projected with the swing peaks', () => {
  const step = 10;
  const series = (n: number, f: (i: number) => number): Float64Array => Float64Array.from({ length: n }, (_, i) => f(i));

  it("Student's t quantiles: 12.706 at 1 degree of freedom, 2.042 at 30, toward 1.96", () => {
    expect(tQuantile975(1)).toBe(12.706);
    expect(tQuantile975(30)).toBe(2.042);
    expect(tQuantile975(1000)).toBeCloseTo(1.962, 3);
  });

  it('a clean ramp: usable minus the current load over the slope', () => {
    // 60 windows of 10 s, 100 W/s from 50 kW: the newest window's middle is 5 s before its end.
    const y = series(60, (i) => 50_000 + 100 * (i * step + 5));
    const u = noise(11);
    for (let i = 0; i < y.length; i++) y[i] = y[i]! + 50 * u();
    const loadAtEnd = 50_000 + 100 * 600;
    const ttb = projectBreachSeconds(y, step, 150_000, newTrendScratch(60), 1200);
    // The envelope adds the 95th percentile of the ±50 W noise around the line (< 50 W = 0.5 s).
    expect(ttb).not.toBeNull();
    expect(Math.abs(ttb! - (150_000 - loadAtEnd) / 100)).toBeLessThan(1);
  });

  it('a crossing beyond the projection horizon, a flat load and a falling one give none', () => {
    const y = series(60, (i) => 50_000 + 100 * i * step);
    expect(projectBreachSeconds(y, step, 1_000_000, newTrendScratch(60), 1200)).toBeNull();
    expect(projectBreachSeconds(series(60, (i) => 50_000 + 20 * Math.sin(i)), step, 60_000, newTrendScratch(60), 1200)).toBeNull();
    expect(projectBreachSeconds(series(60, (i) => 90_000 - 50 * i * step), step, 100_000, newTrendScratch(60), 1200)).toBeNull();
  });

  it('a step that plateaus is not a trend, wherever the step sits in the horizon', () => {
    const u = noise(5);
    for (const at of [5, 15, 30, 45, 55]) {
      const y = series(60, (i) => (i < at ? 30_000 : 70_000) + 300 * u());
      expect(projectBreachSeconds(y, step, 80_000, newTrendScratch(60), 1200), `step at window ${at}`).toBeNull();
    }
  });

  it('a swinging load on a ramp projects its peaks: the crossing comes a swing amplitude earlier than the mean', () => {
    // Square swing ±A over 6 windows (60 s), mean ramping 100 W/s.
    const A = 8_000;
    const y = series(60, (i) => 50_000 + 100 * (i * step + 5) + (Math.floor(i / 3) % 2 === 0 ? A : -A));
    const usable = 150_000;
    const ttb = projectBreachSeconds(y, step, usable, newTrendScratch(60), 1200)!;
    const meanAtEnd = 50_000 + 100 * 600;
    expect(Math.abs(ttb - (usable - meanAtEnd - A) / 100)).toBeLessThan(2);
  });

  it('a swing without a rise is not a trend, whatever its phase at the end of the horizon', () => {
    for (let phase = 0; phase < 6; phase++) {
      const y = series(60, (i) => 50_000 + (Math.floor((i + phase) / 3) % 2 === 0 ? 8_000 : -8_000));
      expect(projectBreachSeconds(y, step, 70_000, newTrendScratch(60), 1200), `phase ${phase}`).toBeNull();
    }
  });
});
