import { describe, expect, it } from 'vitest';
import type { NodeSpec, SiteSpec, Topology } from '../../../src/domain/index.js';
import {
  GATEWAY_MAX_METERS,
  NO_FAULTS,
  createSimulator,
  type FaultRates,
  type SimulatedTick,
  type Simulator,
  type SimulatorOptions,
} from '../../../src/sources/simulator/index.js';

// ---------------------------------------------------------------------------------------
// fixtures

const START_MS = Date.UTC(2025, 5, 10, 12, 0, 0);

function node(
  id: string,
  parent: string | null,
  level: string,
  ratingWatts: number,
  meters: string[],
  extra: Partial<NodeSpec> = {},
): NodeSpec {
  return { id, parent, level, ratingWatts, derate: 0.8, meters, ...extra };
}

/** Training site: intake → 2 UPS (it) → 2 PDUs each → 6 racks each; plus cooling. */
function trainingSite(): SiteSpec {
  const nodes: NodeSpec[] = [
    node('intake', null, 'grid', 2_000_000, ['t-util'], { role: 'facility', derate: 1 }),
    node('cooling', 'intake', 'cooling', 400_000, ['t-chiller-1', 't-chiller-2'], { derate: 0.9 }),
  ];
  for (const u of ['1', '2']) {
    nodes.push(node(`ups-${u}`, 'intake', 'ups', 750_000, [`t-ups-${u}`], { role: 'it', derate: 0.9 }));
    nodes.push(node(`hall-train-${u}`, `ups-${u}`, 'hall', 700_000, []));
    for (const p of ['a', 'b']) {
      const pdu = `pdu-${u}${p}`;
      nodes.push(node(pdu, `hall-train-${u}`, 'pdu', 300_000, [`t-${pdu}`]));
      for (let r = 1; r <= 6; r++) {
        const rack = `rack-${u}${p}-0${r}`;
        nodes.push(node(rack, pdu, 'rack', 50_000, [r === 1 ? `t-${rack}-kwh` : `t-${rack}`]));
      }
    }
  }
  return {
    id: 'train1',
    nominalHertz: 50,
    billingPeriod: 'month',
    demandIntervalMs: 900_000,
    nodes,
    gridMeters: [
      { id: 't-pmu', signals: ['hertz', 'volts'] },
      { id: 't-iso', signals: ['price', 'carbon'] },
    ],
  };
}

/** Inference site at 60 Hz, with A/B fed racks. */
function inferenceSite(): SiteSpec {
  const nodes: NodeSpec[] = [
    node('intake', null, 'grid', 1_000_000, ['i-util'], { role: 'facility', derate: 1 }),
    node('mech', 'intake', 'cooling', 200_000, ['i-crah']),
    node('pdu-a', 'intake', 'pdu', 200_000, ['i-pdu-a'], { role: 'it', redundantWith: 'pdu-b' }),
    node('pdu-b', 'intake', 'pdu', 200_000, ['i-pdu-b'], { role: 'it', redundantWith: 'pdu-a' }),
  ];
  for (let r = 1; r <= 4; r++) {
    nodes.push(node(`rack-${r}a`, 'pdu-a', 'rack', 22_000, [`i-rack-${r}a`], { redundantWith: `rack-${r}b` }));
    nodes.push(node(`rack-${r}b`, 'pdu-b', 'rack', 22_000, [`i-rack-${r}b`], { redundantWith: `rack-${r}a` }));
  }
  return {
    id: 'infer1',
    nominalHertz: 60,
    billingPeriod: 'month',
    demandIntervalMs: 900_000,
    nodes,
    gridMeters: [{ id: 'i-pmu', signals: ['hertz'] }],
  };
}

function fleet(): Topology {
  return { sites: [trainingSite(), inferenceSite()] };
}

function options(overrides: Partial<SimulatorOptions> = {}): SimulatorOptions {
  return { seed: 42, rateMs: 1000, startMs: START_MS, batch: true, faults: NO_FAULTS, ...overrides };
}

function faults(partial: Partial<FaultRates>): FaultRates {
  return { ...NO_FAULTS, ...partial };
}

interface WireReading {
  site: string;
  meter: string;
  ts: number;
  watts?: number;
  wattHours?: number;
  hertz?: number;
  volts?: number;
  pricePerMWh?: number;
  carbonGramsPerKWh?: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toReading(value: unknown): WireReading {
  if (!isRecord(value) || typeof value.site !== 'string' || typeof value.meter !== 'string' || typeof value.ts !== 'number') {
    throw new Error(`not a reading: ${JSON.stringify(value)}`);
  }
  const num = (k: string): number | undefined => (typeof value[k] === 'number' ? value[k] : undefined);
  return {
    site: value.site,
    meter: value.meter,
    ts: value.ts,
    watts: num('watts'),
    wattHours: num('wattHours'),
    hertz: num('hertz'),
    volts: num('volts'),
    pricePerMWh: num('pricePerMWh'),
    carbonGramsPerKWh: num('carbonGramsPerKWh'),
  };
}

function readingsOf(tick: SimulatedTick): WireReading[] {
  const out: WireReading[] = [];
  for (const m of tick.messages) {
    const parsed: unknown = JSON.parse(m.payload);
    if (Array.isArray(parsed)) for (const r of parsed) out.push(toReading(r));
    else out.push(toReading(parsed));
  }
  return out;
}

function run(sim: Simulator, ticks: number): SimulatedTick[] {
  const out: SimulatedTick[] = [];
  for (let i = 0; i < ticks; i++) out.push(sim.tick());
  return out;
}

const key = (site: string, meter: string): string => `${site}/${meter}`;

function allMeters(topology: Topology): Set<string> {
  const all = new Set<string>();
  for (const s of topology.sites) {
    for (const n of s.nodes) for (const m of n.meters) all.add(key(s.id, m));
    for (const g of s.gridMeters) all.add(key(s.id, g.id));
  }
  return all;
}

/** Series of watts per meter over the ticks. */
function wattsSeries(ticks: SimulatedTick[], site: string, meter: string): number[] {
  const out: number[] = [];
  for (const t of ticks) {
    for (const r of readingsOf(t)) if (r.site === site && r.meter === meter && r.watts !== undefined) out.push(r.watts);
  }
  return out;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

// ---------------------------------------------------------------------------------------

describe('simulator determinism', () => {
  it('gives byte-identical ticks for the same seed, with default faults on', () => {
    const a = run(createSimulator(fleet(), options({ faults: undefined })), 600);
    const b = run(createSimulator(fleet(), options({ faults: undefined })), 600);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });

  it('differs for a different seed', () => {
    const a = run(createSimulator(fleet(), options({ seed: 1 })), 20);
    const b = run(createSimulator(fleet(), options({ seed: 2 })), 20);
    expect(JSON.stringify(a)).not.toBe(JSON.stringify(b));
  });

  it('keeps the physics identical whether faults are on or off', () => {
    const clean = createSimulator(fleet(), options());
    const faulty = createSimulator(fleet(), options({ faults: faults({ spike: 0.3, duplicate: 0.3, dropout: 0.01 }) }));
    for (let i = 0; i < 50; i++) {
      clean.tick();
      faulty.tick();
    }
    expect(faulty.truth()).toEqual(clean.truth());
  });
});

describe('simulator output shape', () => {
  it('sends every meter of the topology, on subjects telemetry.<site>.<gateway>', () => {
    const topology = fleet();
    const sim = createSimulator(topology, options());
    const seen = new Set<string>();
    for (const t of run(sim, 3)) {
      for (const m of t.messages) expect(m.subject).toMatch(/^telemetry\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
      for (const r of readingsOf(t)) seen.add(key(r.site, r.meter));
    }
    expect(seen).toEqual(allMeters(topology));
    expect(new Set(sim.meters().map((m) => key(m.site, m.meter)))).toEqual(allMeters(topology));
  });

  it('sends a readings array per gateway in batch mode, objects otherwise', () => {
    const batched = createSimulator(fleet(), options({ batch: true })).tick();
    expect(batched.messages.length).toBe(createSimulator(fleet(), options()).gateways().length);
    for (const m of batched.messages) expect(m.payload.startsWith('[')).toBe(true);

    const single = createSimulator(fleet(), options({ batch: false })).tick();
    expect(single.messages.length).toBe(allMeters(fleet()).size);
    for (const m of single.messages) expect(m.payload.startsWith('{')).toBe(true);
  });

  it('chunks gateways to at most 50 meters', () => {
    const nodes: NodeSpec[] = [node('root', null, 'grid', 10_000_000, [], { derate: 1 })];
    for (let i = 0; i < 120; i++) nodes.push(node(`c${i}`, 'root', 'circuit', 10_000, [`m${i}`]));
    const topology: Topology = {
      sites: [{ id: 'big', nominalHertz: 50, billingPeriod: 'month', demandIntervalMs: 900_000, nodes, gridMeters: [] }],
    };
    const sim = createSimulator(topology, options());
    const gateways = sim.gateways();
    expect(gateways.length).toBeGreaterThanOrEqual(3);
    for (const g of gateways) expect(g.meters.length).toBeLessThanOrEqual(GATEWAY_MAX_METERS);
    expect(readingsOf(sim.tick()).length).toBe(120);
  });

  it('advances tsMs by rateMs per tick, from startMs', () => {
    const sim = createSimulator(fleet(), options({ rateMs: 250 }));
    expect(sim.nextTsMs()).toBe(START_MS);
    expect(sim.tick().tsMs).toBe(START_MS);
    expect(sim.tick().tsMs).toBe(START_MS + 250);
  });

  it('rejects a non-positive rate and out-of-range fault rates', () => {
    expect(() => createSimulator(fleet(), options({ rateMs: 0 }))).toThrow(/rateMs/);
    expect(() => createSimulator(fleet(), options({ faults: { spike: 2 } }))).toThrow(/faults\.spike/);
  });
});

describe('simulator physics without faults', () => {
  const topology = fleet();
  const ratingOf = new Map<string, number>();
  for (const s of topology.sites) for (const n of s.nodes) for (const m of n.meters) ratingOf.set(key(s.id, m), n.ratingWatts);
  const ticks = run(createSimulator(topology, options()), 600);

  it('sends every reading on time and in order, within 0..rating', () => {
    const lastTs = new Map<string, number>();
    for (const t of ticks) {
      const readings = readingsOf(t);
      expect(readings.length).toBe(allMeters(topology).size);
      for (const r of readings) {
        expect(r.ts).toBe(t.tsMs);
        const k = key(r.site, r.meter);
        expect(r.ts).toBeGreaterThan(lastTs.get(k) ?? Number.NEGATIVE_INFINITY);
        lastTs.set(k, r.ts);
        const rating = ratingOf.get(k);
        if (rating === undefined) continue; // grid sensor
        expect(r.watts).toBeDefined();
        expect(r.watts ?? -1).toBeGreaterThanOrEqual(0);
        expect(r.watts ?? Infinity).toBeLessThanOrEqual(rating);
      }
    }
  });

  it('keeps leaf utilisation realistic (mean 40-85% of usable for inference leaves)', () => {
    for (const meter of ['i-rack-1a', 'i-rack-3b']) {
      const m = mean(wattsSeries(ticks, 'infer1', meter));
      // A/B fed: each side carries about half its 2N-limited share.
      expect(m).toBeGreaterThan(0.2 * 22_000 * 0.8);
      expect(m).toBeLessThan(0.85 * 22_000 * 0.8);
    }
  });

  it('swings a training rack with the iterations', () => {
    const series = wattsSeries(ticks, 'train1', 't-rack-1a-02');
    let swinging = 0;
    let windows = 0;
    for (let start = 0; start + 30 <= series.length; start += 30) {
      const w = series.slice(start, start + 30);
      windows++;
      if (Math.max(...w) - Math.min(...w) > 0.25 * mean(w)) swinging++;
    }
    // Checkpoint dips and ramps may flatten a window or two; most windows swing.
    expect(swinging / windows).toBeGreaterThan(0.7);
    expect(Math.max(...series)).toBeLessThanOrEqual(50_000 * 0.8);
  });

  it('rolls up: a PDU carries its racks plus a few % losses, the intake carries IT and cooling', () => {
    const last = readingsOf(ticks[ticks.length - 1] as SimulatedTick);
    const w = (meter: string): number => last.find((r) => r.meter === meter)?.watts ?? Number.NaN;
    let racks = 0;
    for (let r = 1; r <= 6; r++) racks += w(r === 1 ? `t-rack-1a-0${r}-kwh` : `t-rack-1a-0${r}`);
    expect(w('t-pdu-1a') / racks).toBeGreaterThan(1.005);
    expect(w('t-pdu-1a') / racks).toBeLessThan(1.06);
    const children = w('t-ups-1') + w('t-ups-2') + w('t-chiller-1') + w('t-chiller-2');
    expect(w('t-util') / children).toBeGreaterThan(1.002);
    expect(w('t-util') / children).toBeLessThan(1.05);
  });

  it('gives a facility/IT ratio (PUE) between 1.1 and 1.5 over 10 minutes', () => {
    const facility = mean(wattsSeries(ticks, 'train1', 't-util'));
    const it = mean(wattsSeries(ticks, 'train1', 't-ups-1')) + mean(wattsSeries(ticks, 'train1', 't-ups-2'));
    expect(facility / it).toBeGreaterThan(1.1);
    expect(facility / it).toBeLessThan(1.5);
    const facility2 = mean(wattsSeries(ticks, 'infer1', 'i-util'));
    const it2 = mean(wattsSeries(ticks, 'infer1', 'i-pdu-a')) + mean(wattsSeries(ticks, 'infer1', 'i-pdu-b'));
    expect(facility2 / it2).toBeGreaterThan(1.1);
    expect(facility2 / it2).toBeLessThan(1.5);
  });

  it('counts energy on -kwh meters, monotonically', () => {
    let last = Number.NEGATIVE_INFINITY;
    let count = 0;
    for (const t of ticks) {
      for (const r of readingsOf(t)) {
        if (r.meter !== 't-rack-1a-01-kwh') continue;
        expect(r.wattHours).toBeDefined();
        expect(r.wattHours ?? 0).toBeGreaterThan(last);
        last = r.wattHours ?? 0;
        count++;
      }
    }
    expect(count).toBe(ticks.length);
  });
});

describe('simulator load shapes', () => {
  it('loads a sparsely modelled node like a real one (unmetered remainder below it)', () => {
    const nodes: NodeSpec[] = [
      node('intake', null, 'grid', 3_000_000, ['util'], { role: 'facility', derate: 1 }),
      node('pdu-sparse', 'intake', 'pdu', 1_000_000, ['pdu-sparse-m']),
      node('rack-1', 'pdu-sparse', 'rack', 20_000, ['rack-1-m']),
    ];
    const topology: Topology = {
      sites: [{ id: 's', nominalHertz: 50, billingPeriod: 'month', demandIntervalMs: 900_000, nodes, gridMeters: [] }],
    };
    const sim = createSimulator(topology, options());
    const ticks = run(sim, 60);
    expect(mean(wattsSeries(ticks, 's', 'pdu-sparse-m'))).toBeGreaterThan(0.3 * 800_000);
    expect(Math.max(...wattsSeries(ticks, 's', 'rack-1-m'))).toBeLessThanOrEqual(20_000);
    // The remainder is the simulator's own: the truth lists only topology nodes.
    expect(sim.truth().nodes.map((n) => n.node)).toEqual(['intake', 'pdu-sparse', 'rack-1']);
  });

  it('follows a daily curve in inference halls: afternoon above night (UTC)', () => {
    const at = (hour: number): number => {
      const sim = createSimulator(fleet(), options({ startMs: Date.UTC(2025, 5, 10, hour), rateMs: 10_000 }));
      return mean(wattsSeries(run(sim, 90), 'infer1', 'i-pdu-a'));
    };
    expect(at(15)).toBeGreaterThan(1.2 * at(3));
  });
});

describe('simulator grid signals', () => {
  it('keeps frequency within ±0.5 Hz of nominal and sends the configured signals', () => {
    const sim = createSimulator(fleet(), options({ rateMs: 2000 }));
    let sawExcursion = false;
    for (let i = 0; i < 3 * 1800; i++) {
      for (const r of readingsOf(sim.tick())) {
        if (r.meter === 't-pmu') {
          expect(Math.abs((r.hertz ?? 0) - 50)).toBeLessThan(0.5);
          expect(r.volts ?? 0).toBeGreaterThan(380);
          if (Math.abs((r.hertz ?? 50) - 50) > 0.09) sawExcursion = true;
        } else if (r.meter === 'i-pmu') {
          expect(Math.abs((r.hertz ?? 0) - 60)).toBeLessThan(0.5);
          expect(r.volts).toBeUndefined();
        } else if (r.meter === 't-iso') {
          expect(r.pricePerMWh ?? 0).toBeGreaterThan(0);
          expect(r.carbonGramsPerKWh ?? 0).toBeGreaterThan(0);
          expect(r.watts).toBeUndefined();
        }
      }
    }
    expect(sawExcursion).toBe(true);
  });
});

describe('simulator faults', () => {
  const meterCount = allMeters(fleet()).size;

  it('sends every reading twice at duplicate rate 1', () => {
    const sim = createSimulator(fleet(), options({ faults: faults({ duplicate: 1 }) }));
    for (const t of run(sim, 5)) {
      const counts = new Map<string, number>();
      for (const r of readingsOf(t)) counts.set(key(r.site, r.meter), (counts.get(key(r.site, r.meter)) ?? 0) + 1);
      expect(counts.size).toBe(meterCount);
      for (const c of counts.values()) expect(c).toBe(2);
    }
    expect(sim.faultCounts().duplicate).toBe(5 * meterCount);
  });

  it('silences meters at dropout rate 1', () => {
    const sim = createSimulator(fleet(), options({ faults: faults({ dropout: 1 }) }));
    const total = run(sim, 30).reduce((n, t) => n + readingsOf(t).length, 0);
    expect(total).toBe(0);
    expect(sim.faultCounts().dropout).toBeGreaterThanOrEqual(meterCount);
  });

  it('replaces every watts with a sentinel at sentinel rate 1', () => {
    const sim = createSimulator(fleet(), options({ faults: faults({ sentinel: 1 }) }));
    for (const r of readingsOf(sim.tick())) {
      if (r.watts !== undefined) expect([-1, 0, 65535]).toContain(r.watts);
    }
  });

  it('multiplies watts by 3-10 at spike rate 1', () => {
    const clean = readingsOf(createSimulator(fleet(), options()).tick());
    const spiked = readingsOf(createSimulator(fleet(), options({ faults: faults({ spike: 1 }) })).tick());
    for (let i = 0; i < clean.length; i++) {
      const c = clean[i]?.watts;
      const s = spiked[i]?.watts;
      if (c === undefined || s === undefined || c === 0) continue;
      expect(s / c).toBeGreaterThanOrEqual(2.99);
      expect(s / c).toBeLessThanOrEqual(10.01);
    }
  });

  it('repeats exact values at flatline rate 1', () => {
    const ticks = run(createSimulator(fleet(), options({ faults: faults({ flatline: 1 }) })), 20);
    const series = wattsSeries(ticks, 'train1', 't-rack-1a-02');
    expect(new Set(series).size).toBe(1);
  });

  it('shifts timestamps by minutes at clockSkew rate 1', () => {
    const sim = createSimulator(fleet(), options({ faults: faults({ clockSkew: 1 }) }));
    for (const t of run(sim, 5)) {
      for (const r of readingsOf(t)) expect(Math.abs(r.ts - t.tsMs)).toBeGreaterThanOrEqual(60_000);
    }
  });

  it('delays readings by 1-2 ticks at outOfOrder, behind newer ones, losing none', () => {
    const sim = createSimulator(fleet(), options({ faults: faults({ outOfOrder: 0.5 }) }));
    const ticks = run(sim, 40);
    let outOfOrder = 0;
    const lastTs = new Map<string, number>();
    const received = new Map<string, Set<number>>();
    for (const t of ticks) {
      for (const r of readingsOf(t)) {
        expect([0, 1000, 2000]).toContain(t.tsMs - r.ts);
        const k = key(r.site, r.meter);
        if (r.ts < (lastTs.get(k) ?? Number.NEGATIVE_INFINITY)) outOfOrder++;
        lastTs.set(k, Math.max(r.ts, lastTs.get(k) ?? r.ts));
        const set = received.get(k) ?? new Set<number>();
        set.add(r.ts);
        received.set(k, set);
      }
    }
    expect(outOfOrder).toBeGreaterThan(0);
    expect(sim.faultCounts().outOfOrder).toBeGreaterThan(0);
    // Everything generated before the last two ticks has arrived.
    expect(received.size).toBe(meterCount);
    for (const set of received.values()) {
      for (let i = 0; i < 38; i++) expect(set.has(START_MS + i * 1000)).toBe(true);
    }
  });

  it('holds a gateway for 20-40 s then sends the backlog at once at lateBurst rate 1', () => {
    const sim = createSimulator(fleet(), options({ faults: faults({ lateBurst: 1 }) }));
    const ticks = run(sim, 200);
    const subject = sim.gateways()[0]?.subject ?? '';
    const sendTimes = ticks.filter((t) => t.messages.some((m) => m.subject === subject));
    expect(sendTimes.length).toBeGreaterThan(2);
    for (let i = 1; i < sendTimes.length; i++) {
      const gapMs = (sendTimes[i]?.tsMs ?? 0) - (sendTimes[i - 1]?.tsMs ?? 0);
      expect(gapMs).toBeGreaterThanOrEqual(20_000);
      expect(gapMs).toBeLessThanOrEqual(41_000);
      const batch = sendTimes[i]?.messages.filter((m) => m.subject === subject) ?? [];
      expect(batch.length).toBe(gapMs / 1000);
    }
    expect(sim.faultCounts().lateBurst).toBeGreaterThan(0);
  });

  it('resets energy counters at counterReset rate 1', () => {
    const sim = createSimulator(fleet(), options({ faults: faults({ counterReset: 1 }) }));
    const r = readingsOf(sim.tick()).find((x) => x.meter === 't-rack-1a-01-kwh');
    expect(r?.wattHours).toBeDefined();
    expect(r?.wattHours ?? Infinity).toBeLessThan(100);
  });

  it('injects a few faults of each common kind at the default rates', () => {
    const sim = createSimulator(fleet(), options({ faults: undefined }));
    run(sim, 3600);
    const counts = sim.faultCounts();
    for (const k of ['dropout', 'duplicate', 'outOfOrder'] as const) expect(counts[k]).toBeGreaterThan(0);
  });
});

describe('simulator at scale', () => {
  // Throughput is measured in bench/, never as a timed test; this checks a large fleet is complete.
  it('generates a reading for every one of ~1000 meters per tick', () => {
    const nodes: NodeSpec[] = [node('root', null, 'grid', 60_000_000, ['util'], { role: 'facility', derate: 1 })];
    for (let h = 0; h < 10; h++) {
      nodes.push(node(`hall-${h}`, 'root', 'hall', 5_000_000, [`hall-${h}-m`], { role: 'it' }));
      for (let r = 0; r < 100; r++) nodes.push(node(`rack-${h}-${r}`, `hall-${h}`, 'rack', 40_000, [`rack-${h}-${r}-m`]));
    }
    nodes.push(node('cooling', 'root', 'cooling', 2_000_000, ['chiller']));
    const topology: Topology = {
      sites: [{ id: 'perf', nominalHertz: 50, billingPeriod: 'month', demandIntervalMs: 900_000, nodes, gridMeters: [] }],
    };
    const sim = createSimulator(topology, options({ faults: undefined }));
    const meters = new Set<string>();
    for (const m of sim.tick().messages) for (const r of JSON.parse(m.payload) as { meter: string }[]) meters.add(r.meter);
    expect(sim.meters().length).toBe(1012);
    expect(meters.size).toBe(1012);
  });
});

describe('simulator on the demo fleet config', () => {
  const path = 'config/demo-fleet.yaml';
  it('runs the demo fleet with every meter within its rating', async () => {
    const config = await import('../../../src/config/index.js');
    const loaded = config.loadConfigFile(path);
    if (!loaded.ok) throw new Error(loaded.issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
    const topology = loaded.config.topology;
    // The config's simulator slice plugs straight into the options.
    const sim = createSimulator(topology, { ...loaded.config.simulator, startMs: START_MS, faults: NO_FAULTS });
    const ratingOf = new Map<string, number>();
    for (const s of topology.sites) for (const n of s.nodes) for (const m of n.meters) ratingOf.set(key(s.id, m), n.ratingWatts);
    for (const t of run(sim, 120)) {
      const readings = readingsOf(t);
      expect(readings.length).toBe(allMeters(topology).size);
      for (const r of readings) {
        const rating = ratingOf.get(key(r.site, r.meter));
        if (rating !== undefined) expect(r.watts ?? Infinity).toBeLessThanOrEqual(rating);
      }
    }
  });
});
