/**
 * Drives the pure fleet simulator with timers: `headroom simulate` and the embedded default.
 *
 * Event time follows the processing clock at `speed` × real time from the moment `run()`
 * starts; ticks whose event time is due are generated and published (a simulator started
 * in the past catches up at once: the embedded default backfills a minute so the first
 * windows close right away). `speed: 'max'` generates as fast as the publisher takes it.
 */
import type { MemoryBus } from '../sources/index.js';
import type { SimulatedMessage, Simulator } from '../sources/simulator/index.js';

export type SimulatorSpeed = 'max' | number;

export interface SimulatorDriverOptions {
  simulator: Simulator;
  /** Publishes one message; may return a promise to apply backpressure (file output). */
  publish: (msg: SimulatedMessage) => void | Promise<void>;
  /** Processing clock, ms. */
  clock: () => number;
  speed: SimulatorSpeed;
  /**
   * Event time that corresponds to the start of `run()`. Default: the clock at start, so
   * event time is wall time and ticks from before it (a backfill) are generated at once.
   */
  eventOriginMs?: number;
  /** Stop once the next tick's event time reaches this (exclusive); absent = until stop(). */
  endTsMs?: number;
  /** Largest number of ticks generated per timer callback when catching up (and at most 20 ms of them). Default 600. */
  maxTicksPerStep?: number;
}

export interface SimulatorDriverStats {
  ticks: number;
  messages: number;
  readings: number;
  /** Event time of the last tick generated; null before the first. */
  lastTsMs: number | null;
}

/** Readings in a simulated payload: one object, or an array of them. */
export function countReadings(payload: string): number {
  if (!payload.startsWith('[')) return 1;
  let n = 0;
  let i = payload.indexOf('"meter":');
  while (i !== -1) {
    n++;
    i = payload.indexOf('"meter":', i + 8);
  }
  return n;
}

/**
 * Publishes to the in-process bus; once a subscriber has `maxBacklogMessages` queued, the
 * returned promise waits until it has taken half of them. A backfill publishes faster than real
 * time: it waits for the pipeline rather than overrun the subscription's bound (which drops).
 */
export function busPublisher(bus: MemoryBus, maxBacklogMessages: number): (m: SimulatedMessage) => Promise<void> | undefined {
  return (m) => {
    bus.publish(m.subject, m.payload);
    return bus.backlog >= maxBacklogMessages ? bus.drainedTo(Math.floor(maxBacklogMessages / 2)) : undefined;
  };
}

/** Longest stretch of generating and publishing before the driver yields to the event loop. */
const STEP_BUDGET_MS = 20;

export class SimulatorDriver {
  readonly stats: SimulatorDriverStats = { ticks: 0, messages: 0, readings: 0, lastTsMs: null };
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly opts: SimulatorDriverOptions) {
    if (opts.speed !== 'max' && !(Number.isFinite(opts.speed) && opts.speed > 0)) throw new RangeError(`speed must be 'max' or a positive number, got ${String(opts.speed)}`);
  }

  /** Resolves when `endTsMs` is reached or `stop()` was called. */
  async run(): Promise<void> {
    const { simulator, clock, speed } = this.opts;
    const wallOriginMs = clock();
    const eventOriginMs = this.opts.eventOriginMs ?? wallOriginMs;
    const maxTicks = this.opts.maxTicksPerStep ?? 600;
    while (!this.stopped && !this.finished()) {
      // A step ends after maxTicks ticks or STEP_BUDGET_MS of work, whichever comes first, and
      // gives the event loop a turn: a large fleet's backfill must not hold off signals,
      // scrapes and the pipeline it feeds.
      const stepStartMs = performance.now();
      const dueTsMs = speed === 'max' ? Infinity : eventOriginMs + (clock() - wallOriginMs) * speed;
      let n = 0;
      while (!this.stopped && !this.finished() && simulator.nextTsMs() <= dueTsMs && n < maxTicks && performance.now() - stepStartMs < STEP_BUDGET_MS) {
        await this.tickOnce();
        n++;
      }
      if (speed === 'max' || simulator.nextTsMs() <= dueTsMs) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        continue;
      }
      if (this.stopped || this.finished()) break;
      // Sleep until the next tick is due (in wall time).
      const waitMs = Math.max(1, Math.ceil((simulator.nextTsMs() - dueTsMs) / speed));
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, Math.min(waitMs, 60_000));
      });
      this.timer = null;
      this.wake = null;
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.wake?.();
  }

  private finished(): boolean {
    return this.opts.endTsMs !== undefined && this.opts.simulator.nextTsMs() >= this.opts.endTsMs;
  }

  private async tickOnce(): Promise<void> {
    const tick = this.opts.simulator.tick();
    this.stats.ticks++;
    this.stats.lastTsMs = tick.tsMs;
    for (const m of tick.messages) {
      this.stats.messages++;
      this.stats.readings += countReadings(m.payload);
      const r = this.opts.publish(m);
      if (r !== undefined) await r;
    }
  }
}
