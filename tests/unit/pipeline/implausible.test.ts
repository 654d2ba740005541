/**
 * Implausible readings: a finite but absurd value is rejected (`implausible`), counted and
 * dead-lettered, instead of overflowing a node's sums into a silent null or reading −220 as
 * utilization.
 */
import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import type { HeadroomConfig } from '../../../src/config/index.js';
import { WindowEngine } from '../../../src/core/index.js';
import type { NodeWindow, Reading, SiteWindow, WindowResult } from '../../../src/domain/index.js';
import { Pipeline } from '../../../src/pipeline/index.js';
import { MemoryBus, MemoryDeadLetterPublisher, MemorySource } from '../../../src/sources/memory-bus.js';
import { createLogger } from '../../../src/telemetry/index.js';
import { CollectingSink } from '../../helpers/collecting-sink.js';
import { configFromText } from '../../helpers/config.js';

const T0 = 1_750_000_000_000; // a multiple of 10 s

/** fra3 in small: a pdu over an A/B pair of 22 kW rack PDUs, and a 50 Hz grid sensor. */
const CONFIG = `
pipeline: { windows: [10s], maxOutOfOrder: 2s, allowedLateness: 10s }
sites:
  - id: fra3
    nominalHertz: 50
    gridMeters: [{ id: grid, signals: [hertz, price] }]
    nodes:
      - { id: pdu-a1, level: pdu, rating: 500kW, meters: [pdu] }
      - { id: rpdu-101a, parent: pdu-a1, level: rack, rating: 22kW, redundantWith: rpdu-101b, meters: [ra] }
      - { id: rpdu-101b, parent: pdu-a1, level: rack, rating: 22kW, redundantWith: rpdu-101a, meters: [rb] }
`;

function config(extraPipeline = ''): HeadroomConfig {
  return configFromText(extraPipeline === '' ? CONFIG : CONFIG.replace('allowedLateness: 10s', `allowedLateness: 10s, ${extraPipeline}`), 'test.yaml');
}

const r = (meter: string, s: number, fields: Partial<Reading>): Reading => ({ site: 'fra3', meter, tsMs: T0 + s * 1000, ...fields });

/** Ten seconds of honest readings (pdu 30 kW, racks 8 kW each, grid 50.01 Hz) plus `extra`, drained. */
function run(cfg: HeadroomConfig, extra: Reading[]): { outcomes: string[]; results: WindowResult[] } {
  const engine = new WindowEngine(cfg.topology, cfg.engine);
  const outcomes: string[] = [];
  for (let s = 0; s < 10; s++) {
    for (const x of [r('pdu', s, { watts: 30_000 }), r('ra', s, { watts: 8_000 }), r('rb', s, { watts: 8_000 }), r('grid', s, { hertz: 50.01, pricePerMWh: 80 })]) {
      engine.record(x, T0 + s * 1000);
    }
  }
  for (const x of extra) outcomes.push(engine.record(x, T0 + 9_500));
  return { outcomes, results: engine.drain() };
}

const nodeAt = (results: WindowResult[], node: string): NodeWindow => results.find((w): w is NodeWindow => w.type === 'node' && w.node === node)!;

describe('implausible readings (core)', () => {
  it('watts 1e308 on a 22 kW rack is rejected and the rack, its parent and its partner keep their figures', () => {
    const { outcomes, results } = run(config(), [r('ra', 5.5, { watts: 1e308 })]);
    expect(outcomes).toEqual(['implausible']);
    const rack = nodeAt(results, 'rpdu-101a');
    // Only the honest 8 kW reached the window: load, energy (8 kW × 10 s), peak, headroom, utilization.
    expect(rack).toMatchObject({ loadWatts: 8_000, peakWatts: 8_000, headroomWatts: 22_000 * 0.8 - 8_000, completeness: 1, headroomCertain: true });
    expect(rack.energyWh).toBeCloseTo((8_000 * 10) / 3600, 5);
    expect(rack.utilization).toBeCloseTo(8_000 / 22_000, 5);
    // The parent's unmetered load: 30 kW minus the racks' 16 kW; the partner's failover headroom: 17.6 kW − 16 kW.
    expect(nodeAt(results, 'pdu-a1').unmeteredWatts).toBeCloseTo(14_000, 6);
    expect(nodeAt(results, 'rpdu-101b').failoverHeadroomWatts).toBeCloseTo(17_600 - 16_000, 6);
  });

  it('−50 MW on a 22 kW rack is rejected; export within the rating and readings up to 2 × the rating are accepted', () => {
    const { outcomes, results } = run(config(), [
      r('ra', 5.1, { watts: -50e6 }),
      r('ra', 5.2, { watts: -500 }),
      r('rb', 5.3, { watts: 44_000 }),
      r('rb', 5.4, { watts: 44_001 }),
      r('rb', 5.6, { watts: -44_001 }),
    ]);
    expect(outcomes).toEqual(['implausible', 'accepted', 'accepted', 'implausible', 'implausible']);
    expect(nodeAt(results, 'rpdu-101a').utilization).toBeGreaterThan(0);
  });

  it('the multiple is configurable (pipeline.plausibleRatingMultiple)', () => {
    const { outcomes } = run(config('plausibleRatingMultiple: 1.5'), [r('rb', 5.3, { watts: 33_000 }), r('rb', 5.4, { watts: 33_001 })]);
    expect(outcomes).toEqual(['accepted', 'implausible']);
  });

  it('grid sensors have their own bounds: frequency within ±10 % of nominal, price within ±100 000 per MWh', () => {
    const { outcomes, results } = run(config(), [
      r('grid', 5.1, { hertz: 1e308 }),
      r('grid', 5.2, { hertz: 60 }),
      r('grid', 5.3, { hertz: 49.2 }),
      r('grid', 5.4, { pricePerMWh: -1e9 }),
      r('grid', 5.6, { pricePerMWh: -200 }),
    ]);
    expect(outcomes).toEqual(['implausible', 'implausible', 'accepted', 'implausible', 'accepted']);
    const site = results.find((w): w is SiteWindow => w.type === 'site')!;
    expect(site.gridHertz).not.toBeNull();
    expect(site.gridHertz!).toBeGreaterThan(49);
    expect(site.gridHertz!).toBeLessThan(51);
  });
});

describe('implausible readings (pipeline)', () => {
  it('are counted by reason and dead-lettered with the meter and its values', async () => {
    const cfg = config();
    const bus = new MemoryBus();
    const dead = bus.subscribe('headroom.deadletter.>');
    const registry = new Registry();
    const pipeline = new Pipeline({
      config: { subjectPrefix: cfg.source.subjectPrefix, maxMessageBytes: cfg.source.maxMessageBytes },
      engine: new WindowEngine(cfg.topology, cfg.engine),
      source: new MemorySource(bus, cfg.source),
      sinks: [new CollectingSink()],
      deadLetter: new MemoryDeadLetterPublisher(bus, cfg.deadLetter),
      clock: () => T0 + 1_000,
      logger: createLogger({ level: 'silent' }),
      registry,
      tickMs: 0,
    });
    await pipeline.start();
    bus.publish('telemetry.fra3.gw1', JSON.stringify([{ meter: 'ra', ts: T0, watts: 8_000 }, { meter: 'rb', ts: T0, watts: 1e308 }]));
    await new Promise((resolve) => setImmediate(resolve));
    pipeline.tick();
    expect(pipeline.deadLetters).toEqual({ implausible: 1 });
    expect(pipeline.counters.outcomes).toMatchObject({ accepted: 1, implausible: 1 });
    const [letter] = dead.take(10);
    expect(letter?.headers?.['Headroom-Reason']).toBe('implausible');
    expect(letter?.headers?.['Headroom-Detail']).toBe("implausible reading from meter 'rb' (watts 1e+308)");
    const text = await registry.metrics();
    expect(text).toContain('headroom_dead_letters_total{reason="implausible"} 1');
    expect(text).toContain('headroom_readings_total{outcome="implausible"} 1');
    await pipeline.stop();
  });
});
