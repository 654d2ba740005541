/**
 * A brute-force reference for the core's definitions (DESIGN section 5), written
 * independently of src/core: it sees all readings at once and integrates directly.
 */
import type { EngineSettings, Reading, SiteSpec } from '../../../src/domain/index.js';

export interface RefWindow {
  key: string;
  loadWatts: number;
  energyWh: number;
  coverage?: number;
  count?: number;
  peakWatts?: number;
  minWatts?: number;
  completeness?: number;
}

interface RefReading {
  ts: number;
  /** NaN when absent. */
  w: number;
  wh: number;
}

/** Readings per meter, first arrival wins, sorted by time. */
export function dedupe(readings: Reading[]): Map<string, RefReading[]> {
  const byMeter = new Map<string, Map<number, RefReading>>();
  for (const r of readings) {
    if (r.watts === undefined && r.wattHours === undefined) continue;
    let m = byMeter.get(r.meter);
    if (!m) byMeter.set(r.meter, (m = new Map()));
    if (!m.has(r.tsMs)) m.set(r.tsMs, { ts: r.tsMs, w: r.watts ?? NaN, wh: r.wattHours ?? NaN });
  }
  const out = new Map<string, RefReading[]>();
  for (const [meter, m] of byMeter) out.set(meter, [...m.values()].sort((a, b) => a.ts - b.ts));
  return out;
}

/** A stretch of constant power. */
interface Segment {
  from: number;
  to: number;
  w: number;
}

/**
 * The covered stretches of one meter, straight from the README: a counter-only reading after
 * a reading with a counter measures the time between them (ΔWh / Δt), unless the counter
 * dropped or the gap exceeds maxCounterGap; otherwise a reading with watts holds them until
 * the next reading, at most maxHold.
 */
function segments(series: RefReading[], settings: EngineSettings): Segment[] {
  const out: Segment[] = [];
  for (let i = 0; i < series.length; i++) {
    const a = series[i]!;
    const b = series[i + 1];
    if (b !== undefined && Number.isNaN(b.w) && !Number.isNaN(b.wh) && !Number.isNaN(a.wh)) {
      const dt = b.ts - a.ts;
      if (b.wh >= a.wh && dt <= settings.maxCounterGapMs) out.push({ from: a.ts, to: b.ts, w: ((b.wh - a.wh) * 3_600_000) / dt });
    } else if (!Number.isNaN(a.w)) {
      out.push({ from: a.ts, to: Math.min(b?.ts ?? Infinity, a.ts + settings.maxHoldMs), w: a.w });
    }
  }
  return out;
}

/** Energy (W·ms) and covered ms of a meter over [from, to). */
function integrate(segs: Segment[], from: number, to: number): [number, number] {
  let e = 0;
  let c = 0;
  for (const s of segs) {
    const a = Math.max(s.from, from);
    const b = Math.min(s.to, to);
    if (b > a) {
      e += s.w * (b - a);
      c += b - a;
    }
  }
  return [e, c];
}

export function referenceWindows(site: SiteSpec, readings: Reading[], settings: EngineSettings): Map<string, RefWindow> {
  const series = dedupe(readings);
  const segs = new Map<string, Segment[]>();
  for (const [meter, ser] of series) segs.set(meter, segments(ser, settings));
  const out = new Map<string, RefWindow>();
  const all = [...series.values()].flat();
  if (all.length === 0) return out;
  const minTs = Math.min(...all.map((x) => x.ts));
  const maxTs = Math.max(...all.map((x) => x.ts)) + settings.maxHoldMs;
  const meterSet = (id: string): string[] => {
    const n = site.nodes.find((x) => x.id === id)!;
    if (n.meters.length > 0) return n.meters;
    return [...new Set(site.nodes.filter((c) => c.parent === id).flatMap((c) => meterSet(c.id)))];
  };
  for (const w of settings.windowsMs) {
    for (let s = Math.floor(minTs / w) * w; s < maxTs; s += w) {
      const e = s + w;
      const perMeter = new Map<string, [number, number]>();
      for (const [meter, seg] of segs) perMeter.set(meter, integrate(seg, s, e));
      for (const [meter, [en, cov]] of perMeter) {
        const count = series.get(meter)!.filter((x) => x.ts >= s && x.ts < e).length;
        if (cov === 0) continue;
        out.set(`meter|${meter}|${w}|${s}`, {
          key: `meter|${meter}|${w}|${s}`,
          loadWatts: cov > 0 ? en / cov : 0,
          energyWh: en / 3_600_000,
          coverage: cov / w,
          count,
        });
      }
      for (const n of site.nodes) {
        const set = meterSet(n.id);
        const live = set.filter((m) => (perMeter.get(m)?.[1] ?? 0) > 0);
        if (live.length === 0) continue;
        let peak = -Infinity;
        let low = Infinity;
        for (let sec = s; sec < e; sec += 1000) {
          let sum = 0;
          let any = false;
          for (const m of set) {
            const seg = segs.get(m);
            if (!seg) continue;
            const [be, bc] = integrate(seg, sec, sec + 1000);
            if (bc > 0) {
              sum += be / bc;
              any = true;
            }
          }
          if (any) {
            peak = Math.max(peak, sum);
            low = Math.min(low, sum);
          }
        }
        out.set(`node|${n.id}|${w}|${s}`, {
          key: `node|${n.id}|${w}|${s}`,
          loadWatts: live.reduce((acc, m) => acc + perMeter.get(m)![0] / perMeter.get(m)![1], 0),
          energyWh: live.reduce((acc, m) => acc + perMeter.get(m)![0], 0) / 3_600_000,
          peakWatts: peak,
          minWatts: low,
          completeness: live.length / set.length,
        });
      }
    }
  }
  return out;
}
