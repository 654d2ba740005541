/**
 * A store-and-forward gateway for backlog tests: every simulated second, once the wall clock
 * has reached it, the fleet simulator's messages for that second are queued locally; the
 * queue is published to JetStream in order whenever NATS answers (each message with a
 * Nats-Msg-Id, so a publish retried after an unclear failure is stored once). While NATS is
 * down, or while `hold` is on, readings wait in the queue with their original timestamps.
 */
import { connect, StringCodec, type NatsConnection } from 'nats';
import type { Topology } from '../../src/domain/index.js';
import { NO_FAULTS, createSimulator, type Simulator } from '../../src/sources/index.js';

export interface GatewayMessage {
  subject: string;
  payload: string;
}

const STEP_MS = 1000;
const sc = StringCodec();

export class StoreAndForwardGateway {
  /** Every message generated, in order (the reference for a replay). */
  readonly generated: GatewayMessage[] = [];
  /** Readings in the messages published so far (acknowledged by JetStream). */
  publishedReadings = 0;
  /** Messages published so far. */
  published = 0;
  /** true: keep queuing, do not publish. */
  hold = false;
  /** Publish attempts that failed (NATS down), and the last error. */
  failures = 0;
  lastError = '';

  private readonly sim: Simulator;
  private nextTsMs: number;
  private readonly queue: GatewayMessage[] = [];
  private nc: NatsConnection | null = null;
  private timer: NodeJS.Timeout | null = null;
  private busy: Promise<void> = Promise.resolve();
  private generating = true;

  constructor(
    private readonly url: string,
    topology: Topology,
    seed: number,
  ) {
    this.nextTsMs = Math.floor(Date.now() / STEP_MS) * STEP_MS;
    this.sim = createSimulator(topology, { seed, rateMs: STEP_MS, startMs: this.nextTsMs, batch: true, faults: NO_FAULTS });
  }

  get queued(): number {
    return this.queue.length;
  }

  get generatedReadings(): number {
    return this.generated.reduce((n, m) => n + (JSON.parse(m.payload) as unknown[]).length, 0);
  }

  start(): void {
    this.timer = setInterval(() => {
      this.generate();
      this.busy = this.busy.then(() => this.flush());
    }, 200);
  }

  /** Stops generating; resolves once everything queued was published (or `timeoutMs` passed). */
  async stop(timeoutMs = 30_000): Promise<void> {
    this.generating = false;
    const deadline = performance.now() + timeoutMs;
    while (this.queue.length > 0 && performance.now() < deadline) {
      this.busy = this.busy.then(() => this.flush());
      await this.busy;
      if (this.queue.length > 0) await new Promise((r) => setTimeout(r, 200));
    }
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.busy;
    await this.nc?.close().catch(() => undefined);
    this.nc = null;
  }

  private generate(): void {
    if (!this.generating) return;
    while (this.nextTsMs <= Date.now()) {
      for (const m of this.sim.tick().messages) {
        this.generated.push(m);
        this.queue.push(m);
      }
      this.nextTsMs += STEP_MS;
    }
  }

  private async flush(): Promise<void> {
    if (this.hold || this.queue.length === 0) return;
    try {
      if (this.nc === null) this.nc = await connect({ servers: this.url, reconnect: false, timeout: 1000 });
      const js = this.nc.jetstream();
      while (this.queue.length > 0 && !this.hold) {
        const m = this.queue[0]!;
        const seq = this.generated.length - this.queue.length;
        await js.publish(m.subject, sc.encode(m.payload), { msgID: `gw-${seq}`, timeout: 2000 });
        this.queue.shift();
        this.published++;
        this.publishedReadings += (JSON.parse(m.payload) as unknown[]).length;
      }
    } catch (err: unknown) {
      // NATS is down (or the publish was not confirmed): keep the message, try again later.
      this.failures++;
      this.lastError = err instanceof Error ? err.message : String(err);
      const nc = this.nc;
      this.nc = null;
      await nc?.close().catch(() => undefined);
    }
  }
}
