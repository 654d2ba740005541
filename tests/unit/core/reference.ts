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

/** Readings per meter, first arrival wins, sorted by time. */
export function dedupe(readings: Reading[]): Map<string, { ts: number; w: number }[]> {
  const byMeter = new Map<string, Map<number, number>>();
  for (const r of readings) {
    if (r.watts === undefined) continue;
    let m = byMeter.get(r.meter);
    if (!m) byMeter.set(r.meter, (m = new Map()));
    if (!m.has(r.tsMs)) m.set(r.tsMs, r.watts);
  }
  const out = new Map<string, { ts: number; w: number }[]>();
  for (const [meter, m] of byMeter) out.set(meter, [...m].map(([ts, w]) => ({ ts, w })).sort((a, b) => a.ts - b.ts));
  return out;
}

/** Energy (W·ms) and covered ms of a meter over [from, to). */
function integrate(series: { ts: number; w: number }[], from: number, to: number, holdMs: number): [number, number] {
  let e = 0;
  let c = 0;
  for (let i = 0; i < series.length; i++) {
    const start = series[i]!.ts;
    const end = Math.min(i + 1 < series.length ? series[i + 1]!.ts : Infinity, start + holdMs);
    const a = Math.max(start, from);
    const b = Math.min(end, to);
    if (b > a) {
      e += series[i]!.w * (b - a);
      c += b - a;
    }
  }
  return [e, c];
}

export function referenceWindows(site: SiteSpec, readings: Reading[], settings: EngineSettings): Map<string, RefWindow> {
  const series = dedupe(readings);
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
      for (const [meter, ser] of series) perMeter.set(meter, integrate(ser, s, e, settings.maxHoldMs));
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
            const ser = series.get(m);
            if (!ser) continue;
            const [be, bc] = integrate(ser, sec, sec + 1000, settings.maxHoldMs);
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
