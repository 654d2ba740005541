import { describe, expect, it } from 'vitest';
import type { NodeSpec, Topology } from '../../../src/domain/index.js';
import { busPublisher, SimulatorDriver } from '../../../src/pipeline/runner-simulator.js';
import { MemoryBus } from '../../../src/sources/index.js';
import { createSimulator, NO_FAULTS } from '../../../src/sources/simulator/index.js';

const START_MS = Date.UTC(2026, 0, 5, 0, 0, 0);

/** One site: an intake over `racks` racks, one meter each. */
function fleet(racks: number): Topology {
  const nodes: NodeSpec[] = [{ id: 'intake', parent: null, level: 'grid', role: 'facility', ratingWatts: 1e9, derate: 1, meters: [] }];
  for (let r = 0; r < racks; r++) nodes.push({ id: `rack-${r}`, parent: 'intake', level: 'rack', ratingWatts: 20_000, derate: 0.8, meters: [`m-${r}`] });
  return { sites: [{ id: 's1', nominalHertz: 50, billingPeriod: 'month', demandIntervalMs: 900_000, nodes, gridMeters: [] }] };
}

const simulator = (racks: number) => createSimulator(fleet(racks), { seed: 7, rateMs: 1000, startMs: START_MS, batch: true, faults: NO_FAULTS });

describe('SimulatorDriver', () => {
  it('gives the event loop turns while it catches up a large backfill', async () => {
    const ticks = 100;
    // A backfill of 100 ticks of 3,000 meters is due at once (event time ahead of the clock start).
    const driver = new SimulatorDriver({ simulator: simulator(3000), clock: () => START_MS + ticks * 1000, eventOriginMs: START_MS + ticks * 1000, endTsMs: START_MS + ticks * 1000, speed: 1, publish: () => undefined });
    let ticksAtFirstTurn: number | null = null;
    setImmediate(() => {
      ticksAtFirstTurn = driver.stats.ticks;
    });
    await driver.run();
    expect(driver.stats.ticks).toBe(ticks);
    // The whole backfill is 300,000 readings (far more than the driver's 20 ms step): the
    // callback ran before the driver was done, not after.
    expect(ticksAtFirstTurn).not.toBeNull();
    expect(ticksAtFirstTurn!).toBeLessThan(ticks);
  });

  it('stops promptly when stopped during a backfill', async () => {
    const driver = new SimulatorDriver({ simulator: simulator(3000), clock: () => START_MS + 3_600_000, eventOriginMs: START_MS + 3_600_000, speed: 1, publish: () => undefined });
    const running = driver.run();
    setImmediate(() => driver.stop());
    await running;
    // Stopped after the first step (20 ms of work), not after hundreds of ticks.
    expect(driver.stats.ticks).toBeGreaterThan(0);
    expect(driver.stats.ticks).toBeLessThan(100);
  });
});

describe('busPublisher', () => {
  it('waits for the subscriber past its backlog instead of overrunning its bound', async () => {
    const bus = new MemoryBus();
    const sub = bus.subscribe('telemetry.>', { maxQueuedMessages: 100 });
    // 30 racks per tick in gateway batches: at least one message per tick.
    const driver = new SimulatorDriver({ simulator: simulator(30), clock: () => START_MS, eventOriginMs: START_MS, endTsMs: START_MS + 400_000, speed: 'max', publish: busPublisher(bus, 40) });
    const running = driver.run();
    let taken = 0;
    let mostQueued = 0;
    let done = false;
    void running.then(() => {
      done = true;
    });
    while (!done) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      mostQueued = Math.max(mostQueued, sub.pending);
      taken += sub.take(7).length;
    }
    taken += sub.take(Infinity).length;
    expect(sub.dropped).toBe(0);
    expect(mostQueued).toBeLessThanOrEqual(40);
    expect(taken).toBe(driver.stats.messages);
    expect(driver.stats.ticks).toBe(400);
  });

  it('lets the publisher go on when the subscription is closed', async () => {
    const bus = new MemoryBus();
    const sub = bus.subscribe('telemetry.>', { maxQueuedMessages: 100 });
    const publish = busPublisher(bus, 2);
    const message = { subject: 'telemetry.s1.gw', payload: '{}' };
    expect(publish(message)).toBeUndefined();
    const waiting = publish(message);
    expect(waiting).toBeInstanceOf(Promise);
    sub.unsubscribe();
    await expect(waiting).resolves.toBeUndefined();
  });
});
