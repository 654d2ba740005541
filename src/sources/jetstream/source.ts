/** The JetStream source: start-up, pause/resume/stop, health, and the pull loop of each consumer. */
import type { ConsumerInfo, JetStreamManager, NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { allUnder } from '../../codec/index.js';
import type { JetStreamSourceConfig } from '../../config/index.js';
import type { NatsConnectionStatus } from '../nats-connection.js';
import type { Source, SourceHealth, SourceMessage } from '../types.js';
import { errorText, isMissingConsumer, watchConsumerStatus } from './errors.js';
import { nakAfterStop, toSourceMessage, workingAll } from './messages.js';
import { ensureConsumer, ensureStream, planConsumers, sleep, withSetupRetry, type ConsumerPlan } from './setup.js';
import { deleteStaleClaims, type PartitionClaim } from './claims.js';
import { watchDisconnects } from './disconnects.js';
import type { ConsumerRun, Handler, JetStreamSourceCounters, JetStreamSourceOptions } from './types.js';

/** First wait after a failed pull; doubles up to `maxRetryWaitMs`. */
const MIN_RETRY_WAIT_MS = 250;

export class JetStreamSource implements Source {
  readonly kind = 'jetstream' as const;
  readonly counters: JetStreamSourceCounters = { delivered: 0, redelivered: 0, pullErrors: 0, handlerErrors: 0, ackErrors: 0 };

  private readonly log: Logger;
  private readonly pendingRefreshMs: number;
  private readonly maxRetryWaitMs: number;
  private readonly setupRetry: { timeoutMs: number; maxRetryWaitMs: number; log: Logger };
  private jsm: JetStreamManager | null = null;
  private runs: ConsumerRun[] = [];
  private paused = false;
  private stopping = false;
  private started = false;
  private resumeWaiters: (() => void)[] = [];
  /** Serializes handler calls across consumers. */
  private handing: Promise<void> = Promise.resolve();
  private pendingTimer: NodeJS.Timeout | null = null;
  /** While paused: extends the ack deadline of held messages (in-progress acks). */
  private holdTimer: NodeJS.Timeout | null = null;
  private refreshing = false;
  private readonly claim: PartitionClaim | undefined;
  /** Ends the watch on disconnects (each one strands every pull in flight). */
  private unwatchDisconnects: (() => void) | null = null;

  constructor(
    private readonly conn: { nc: NatsConnection; status?: NatsConnectionStatus },
    private readonly cfg: Pick<JetStreamSourceConfig, 'subjectPrefix' | 'sites' | 'stream' | 'consumer' | 'partitions'>,
    opts: JetStreamSourceOptions,
  ) {
    this.log = opts.log.child({ source: 'jetstream' });
    this.pendingRefreshMs = opts.pendingRefreshMs ?? 5_000;
    this.maxRetryWaitMs = opts.maxRetryWaitMs ?? 5_000;
    this.setupRetry = { timeoutMs: opts.setupTimeoutMs ?? 30_000, maxRetryWaitMs: this.maxRetryWaitMs, log: this.log };
    this.claim = opts.claim;
  }

  /** Consumers this source uses (after start). */
  get consumers(): readonly ConsumerPlan[] {
    return this.runs.map((r) => r.plan);
  }

  async start(handler: Handler): Promise<void> {
    if (this.started) throw new Error('JetStreamSource already started');
    this.started = true;
    const { stream } = this.cfg;
    const subjects = stream.subjects ?? [allUnder(this.cfg.subjectPrefix)];
    const plans = planConsumers(this.cfg, this.claim);
    const infos = await withSetupRetry(this.setupRetry, async () => {
      const jsm = await this.conn.nc.jetstreamManager();
      await ensureStream(jsm, stream, subjects, this.log);
      const out: ConsumerInfo[] = [];
      if (this.claim !== undefined) await deleteStaleClaims(jsm, stream.name, this.cfg.consumer.durable, this.claim, this.log);
      for (const plan of plans) out.push(await ensureConsumer(jsm, stream.name, plan, this.cfg.consumer, this.log));
      this.jsm = jsm;
      return out;
    });
    const js = this.conn.nc.jetstream();
    for (let i = 0; i < plans.length; i++) {
      const plan = plans[i]!;
      const consumer = await withSetupRetry(this.setupRetry, () => js.consumers.get(stream.name, plan.durable));
      const run: ConsumerRun = {
        plan,
        consumer,
        pending: infos[i]?.num_pending ?? 0,
        held: [],
        unanswered: false,
        received: 0,
        receivedAtRefresh: -1,
        loop: Promise.resolve(),
        abort: null,
        wake: null,
      };
      run.loop = this.pullLoop(run, handler);
      this.runs.push(run);
    }
    this.unwatchDisconnects = watchDisconnects(this.conn.nc, this.log, () => {
      for (const run of this.runs) run.unanswered = true;
    });
    this.pendingTimer = setInterval(() => void this.refreshPending(), this.pendingRefreshMs);
    this.pendingTimer.unref();
    this.log.info({ stream: stream.name, consumers: plans.map((p) => p.durable), batch: this.cfg.consumer.batch }, 'consuming');
  }

  /**
   * Stops handing messages over. The pull stays open: what JetStream already delivered is held
   * here, unacked, its ack deadline extended every half ack_wait (in-progress acks), and handed
   * over first on resume; JetStream stops delivering at max_ack_pending. Stopping a pull instead
   * would strand what is on the wire, to come back only after ack_wait, as late data.
   */
  pause(): void {
    if (this.paused || this.stopping) return;
    this.paused = true;
    const everyMs = Math.max(50, Math.floor(this.cfg.consumer.ackWaitMs / 2));
    this.holdTimer = setInterval(() => this.extendHeld(), everyMs);
    this.holdTimer.unref();
  }

  resume(): void {
    this.paused = false;
    if (this.holdTimer !== null) clearInterval(this.holdTimer);
    this.holdTimer = null;
    const waiters = this.resumeWaiters;
    this.resumeWaiters = [];
    for (const w of waiters) w();
    for (const run of this.runs) run.wake?.();
  }

  /**
   * Stops pulling and resolves once the batch being handled was handed over. Messages
   * received but not yet handed over are nak'ed so they are redelivered at once.
   */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.stopping = true;
    if (this.pendingTimer !== null) clearInterval(this.pendingTimer);
    this.pendingTimer = null;
    for (const run of this.runs) run.abort?.();
    this.unwatchDisconnects?.();
    this.resume();
    await Promise.all(this.runs.map((r) => r.loop));
  }

  /**
   * `pending`: messages not yet handed over (consumer pending plus held here). Caught up:
   * connected, not paused, nothing pending and nothing held, and every consumer's pulls
   * answered: while one is not (its leader died, the connection dropped), messages may wait
   * that no `pending` counts, and the pipeline must take the time as a stall, not as silence.
   */
  health(): SourceHealth {
    let pending = 0;
    for (const r of this.runs) pending += r.pending + r.held.length;
    const unanswered = this.runs.some((r) => r.unanswered);
    const connected = this.isConnected();
    const health: SourceHealth = { connected, pending, caughtUp: connected && this.started && !this.stopping && !this.paused && !unanswered && pending === 0 };
    if (this.paused) health.detail = 'paused';
    else if (unanswered) health.detail = 'consumer not answering';
    return health;
  }

  /** Re-reads num_pending of each consumer now (also done every `pendingRefreshMs`). */
  async refreshPending(): Promise<void> {
    const jsm = this.jsm;
    if (jsm === null || this.refreshing || this.conn.nc.isClosed()) return;
    this.refreshing = true;
    try {
      for (const run of this.runs) {
        const received = run.received;
        const info = await jsm.consumers.info(this.cfg.stream.name, run.plan.durable);
        // Nothing arrived since the previous refresh, yet messages are unacked: they were lost on
        // the way (a connection that dropped) or sit with another worker, and come back after
        // ack_wait. Until then this consumer is not caught up.
        const quiet = received === run.receivedAtRefresh && run.received === received;
        const elsewhere = quiet ? Math.max(0, info.num_ack_pending - run.held.length) : 0;
        run.pending = info.num_pending + elsewhere;
        run.receivedAtRefresh = run.received;
      }
    } catch (err: unknown) {
      this.log.debug({ err: errorText(err) }, 'consumer info failed; pending not refreshed');
    } finally {
      this.refreshing = false;
    }
  }

  private isConnected(): boolean {
    return this.conn.status === undefined ? !this.conn.nc.isClosed() : this.conn.status.state === 'connected';
  }

  /** Re-runs the idempotent set-up for one consumer; failures are logged at debug and retried later. */
  private async recover(plan: ConsumerPlan): Promise<void> {
    const jsm = this.jsm;
    if (jsm === null) return;
    const { stream } = this.cfg;
    try {
      await ensureStream(jsm, stream, stream.subjects ?? [allUnder(this.cfg.subjectPrefix)], this.log);
      await ensureConsumer(jsm, stream.name, plan, this.cfg.consumer, this.log);
    } catch (err: unknown) {
      this.log.debug({ durable: plan.durable, err: errorText(err) }, 'consumer check failed');
    }
  }

  /** In-progress acks for every held message, so ack_wait never brings them back while paused. */
  private extendHeld(): void {
    if (!this.paused) return;
    for (const run of this.runs) workingAll(run.held, this.log);
  }

  private waitForResume(): Promise<void> {
    return new Promise((resolve) => this.resumeWaiters.push(resolve));
  }

  /** Hands a batch to the handler after every earlier batch (of any consumer) was handled. */
  private hand(handler: Handler, batch: SourceMessage[]): Promise<void> {
    const turn = this.handing.then(async () => {
      try {
        await handler(batch);
        this.counters.delivered += batch.length;
      } catch (err: unknown) {
        this.counters.handlerErrors++;
        this.log.error({ err: errorText(err), messages: batch.length }, 'handler failed; batch not acked, redelivered after ack_wait');
      }
    });
    this.handing = turn;
    return turn;
  }

  private async pullLoop(run: ConsumerRun, handler: Handler): Promise<void> {
    const { batch, expiresMs } = this.cfg.consumer;
    let failures = 0;
    while (!this.stopping) {
      if (this.paused) {
        await this.waitForResume();
        continue;
      }
      const fetchStartMs = performance.now();
      let receivedInFetch = 0;
      try {
        // consume() keeps pulls overlapping (it re-pulls when half the batch is used), so the
        // worker never idles a round trip between batches as fetch-then-fetch would.
        const messages = await run.consumer.consume({ max_messages: batch, expires: expiresMs });
        const buffer = run.held;
        const waiter: { wake: (() => void) | null } = { wake: null };
        // What one socket read brings is pushed here within microtasks; the hand-over wakes
        // once after them (next turn of the event loop), so a batch handed over holds all of
        // it and its acks leave in one write instead of one write per message.
        let wakeQueued = false;
        const wakeSoon = (): void => {
          if (wakeQueued) return;
          wakeQueued = true;
          setImmediate(() => {
            wakeQueued = false;
            waiter.wake?.();
          });
        };
        let ended = false;
        let aborted = false;
        run.abort = () => {
          aborted = true;
          messages.stop();
        };
        run.wake = () => waiter.wake?.();
        // consume() retries a vanished consumer or stream forever on its own; end the pull
        // with an error instead, so the loop below re-creates them.
        void watchConsumerStatus(messages, this.log, (answered) => {
          run.unanswered = !answered;
        });
        const pump = (async (): Promise<unknown> => {
          try {
            for await (const m of messages) {
              buffer.push(m);
              run.unanswered = false;
              if (aborted) continue; // nak'ed below, once the pull is gone
              run.received++;
              run.pending = m.info.pending;
              receivedInFetch++;
              wakeSoon();
            }
            return null;
          } catch (err: unknown) {
            // Returned, not thrown: read after the hand-over loop (no unhandled rejection).
            return err;
          } finally {
            ended = true;
            waiter.wake?.();
          }
        })();
        // Hands over what arrives; while paused the pull stays open and what arrives is held.
        for (;;) {
          if (aborted) break;
          if (buffer.length > 0 && !this.paused) {
            const msgs = buffer.splice(0, buffer.length);
            await this.hand(handler, msgs.map((m) => toSourceMessage(m, this.cfg.stream.name, this.counters, this.log)));
            continue;
          }
          if (ended && buffer.length === 0) break;
          await new Promise<void>((resolve) => {
            waiter.wake = resolve;
          });
          waiter.wake = null;
        }
        run.abort = null;
        run.wake = null;
        const pumpError = await pump;
        // Nak what arrived after an abort (held ones too) so another worker gets it without waiting ack_wait.
        const { stream } = this.cfg;
        const dropStalePulls = async (): Promise<unknown> => (this.isConnected() ? this.jsm?.consumers.info(stream.name, run.plan.durable) : undefined);
        await nakAfterStop(buffer.splice(0, buffer.length), dropStalePulls, this.log);
        if (pumpError !== null && !aborted) throw pumpError;
        if (failures > 0) this.log.info({ durable: run.plan.durable, failures }, 'pulling again');
        failures = 0;
        // A pull that ended at once with nothing (disconnected, server restarting) must not spin.
        if (receivedInFetch === 0 && !this.stopping && performance.now() - fetchStartMs < expiresMs / 2) await sleep(MIN_RETRY_WAIT_MS);
      } catch (err: unknown) {
        run.abort = null;
        run.wake = null;
        if (this.stopping) break;
        run.unanswered = true;
        this.counters.pullErrors++;
        const waitMs = Math.min(this.maxRetryWaitMs, MIN_RETRY_WAIT_MS * 2 ** Math.min(failures, 10));
        if (failures === 0) this.log.warn({ durable: run.plan.durable, err: errorText(err), retryInMs: waitMs }, 'pull failed; retrying');
        failures++;
        await sleep(waitMs);
        // Pulls keep failing while connected: the consumer (or a memory stream) may be gone. Re-create it.
        if ((failures >= 2 || isMissingConsumer(err)) && !this.stopping && this.isConnected()) await this.recover(run.plan);
      }
    }
  }
}
