/**
 * JetStream source: durable pull consumer, at-least-once, replayable.
 *
 * Start-up creates the stream (name, subjects, maxAge, maxBytes, storage, replicas) and the
 * durable pull consumer (explicit ack, `max_ack_pending`, `ack_wait`) when absent, and
 * updates them when present and compatible (an incompatible one — other storage, another
 * filter, a push consumer, another ack policy — stops start-up with `JetStreamSetupError`).
 *
 * Site filter. `filter_subjects` (several filters on one consumer) needs nats-server 2.10;
 * Debian ships 2.9. So with a site filter there is one durable consumer per site, named
 * `<durable>-<site>` with `filter_subject: <subjectPrefix>.<site>.>`; without one, a single
 * consumer `<durable>` takes the whole stream. Filtering client-side and acking the rest
 * would silently consume other workers' sites, so it is not done. Per-site consumers also
 * keep their positions when the site list changes.
 *
 * Delivery. Each consumer pulls `batch` messages at a time (a pull waits at most
 * `expires`); what has arrived is handed to the handler as one batch, with
 * `position: { stream, sequence }` and `ack`. The handler acks after recording; this source
 * never acks. Handler calls are serialized across consumers, and the next batch waits for
 * the previous handler promise. A batch the handler throws on is not acked and comes back
 * after `ack_wait`.
 *
 * Pause. `pause()` stops issuing pulls: data stays in the stream. A pull already in flight
 * (at most `batch` messages, at most `expires` long) completes and is handed over.
 *
 * Reconnect. Pulls that fail while NATS is away are retried with a capped backoff; nats.js
 * re-issues the open pull after a reconnect. Messages delivered but not acked before a
 * server restart are redelivered after `ack_wait`: nothing is lost, some may come twice.
 */
import {
  AckPolicy,
  ConsumerEvents,
  DeliverPolicy,
  DiscardPolicy,
  NatsError,
  RetentionPolicy,
  StorageType,
  nanos,
  type Consumer,
  type ConsumerMessages,
  type ConsumerConfig as NatsConsumerConfig,
  type ConsumerInfo,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
  type StreamConfig as NatsStreamConfig,
} from 'nats';
import type { Logger } from 'pino';
import type { ConsumerConfig, JetStreamSourceConfig, StreamConfig } from '../config/index.js';
import type { NatsConnectionStatus } from './nats-connection.js';
import type { Source, SourceHealth, SourceMessage } from './types.js';

/** The stream or consumer exists with settings this source cannot use or change. */
export class JetStreamSetupError extends Error {
  override readonly name = 'JetStreamSetupError';
}

/** JetStream API error codes (nats-server `errors.json`). */
const JS_ERR_STREAM_NOT_FOUND = 10059;
const JS_ERR_CONSUMER_NOT_FOUND = 10014;

export interface JetStreamSourceOptions {
  log: Logger;
  /** Connection state tracker from `connectNats`; without it, health uses `nc.isClosed()`. */
  status?: NatsConnectionStatus;
  /** How often `health().pending` is refreshed from consumer info when no message brings it. Default 5000. */
  pendingRefreshMs?: number;
  /** Longest wait between retries of a failing pull. Default 5000. */
  maxRetryWaitMs?: number;
  /** How long start-up retries JetStream API calls that time out or find no responders. Default 30000. */
  setupTimeoutMs?: number;
}

/** Plain counters, read by the metrics layer. */
export interface JetStreamSourceCounters {
  delivered: number;
  redelivered: number;
  pullErrors: number;
  handlerErrors: number;
  /** `ack()` calls that failed (connection closed); the message comes back after ack_wait. */
  ackErrors: number;
}

/** One durable consumer of the source: its name and optional subject filter. */
export interface ConsumerPlan {
  durable: string;
  filterSubject?: string;
}

/** The consumers a source uses: one per site filter, or one for the whole stream. */
export function planConsumers(cfg: Pick<JetStreamSourceConfig, 'subjectPrefix' | 'sites' | 'consumer'>): ConsumerPlan[] {
  if (cfg.sites === undefined || cfg.sites.length === 0) return [{ durable: cfg.consumer.durable }];
  return cfg.sites.map((site) => ({ durable: `${cfg.consumer.durable}-${site}`, filterSubject: `${cfg.subjectPrefix}.${site}.>` }));
}

function apiErrorCode(err: unknown): number | undefined {
  return err instanceof NatsError ? err.api_error?.err_code : undefined;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The pull found no consumer to answer it: deleted under us, or a memory stream lost in a restart. */
function isMissingConsumer(err: unknown): boolean {
  if (!(err instanceof NatsError)) return false;
  const message = err.message.toLowerCase();
  return err.code === '503' || message.includes('consumer deleted') || message.includes('consumer not found') || apiErrorCode(err) === JS_ERR_CONSUMER_NOT_FOUND;
}

/** Timeouts and "no responders" happen while a server restarts or a cluster elects leaders. */
function isTransient(err: unknown): boolean {
  if (!(err instanceof NatsError)) return false;
  return err.code === 'TIMEOUT' || err.code === '503' || err.code === 'CONNECTION_DRAINING' || err.code === 'DISCONNECT' || err.code === 'CONNECTION_REFUSED';
}

/** First wait after a failed pull; doubles up to `maxRetryWaitMs`. */
const MIN_RETRY_WAIT_MS = 250;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** Creates the stream, or updates its limits and subjects. Storage cannot change. */
export async function ensureStream(jsm: JetStreamManager, cfg: StreamConfig, subjects: readonly string[], log: Logger): Promise<void> {
  const wanted: Partial<NatsStreamConfig> = {
    subjects: [...subjects],
    max_age: nanos(cfg.maxAgeMs),
    max_bytes: cfg.maxBytes ?? -1,
    num_replicas: cfg.replicas,
  };
  const storage = cfg.storage === 'memory' ? StorageType.Memory : StorageType.File;
  let existing: NatsStreamConfig;
  try {
    existing = (await jsm.streams.info(cfg.name)).config;
  } catch (err: unknown) {
    if (apiErrorCode(err) !== JS_ERR_STREAM_NOT_FOUND) throw err;
    await jsm.streams.add({ ...wanted, name: cfg.name, storage, retention: RetentionPolicy.Limits, discard: DiscardPolicy.Old });
    log.info({ stream: cfg.name, subjects, storage: cfg.storage, replicas: cfg.replicas }, 'stream created');
    return;
  }
  if (existing.storage !== storage) {
    throw new JetStreamSetupError(`stream ${cfg.name} exists with ${existing.storage} storage, config asks for ${storage}: storage cannot change`);
  }
  const changed =
    !sameSet(existing.subjects, subjects) ||
    existing.max_age !== wanted.max_age ||
    existing.max_bytes !== wanted.max_bytes ||
    existing.num_replicas !== wanted.num_replicas;
  if (changed) {
    await jsm.streams.update(cfg.name, wanted);
    log.info({ stream: cfg.name, subjects, replicas: cfg.replicas }, 'stream updated');
  }
}

/** Creates the durable pull consumer, or updates ack wait and max ack pending. */
export async function ensureConsumer(jsm: JetStreamManager, stream: string, plan: ConsumerPlan, cfg: ConsumerConfig, log: Logger): Promise<ConsumerInfo> {
  const ackWaitNanos = nanos(cfg.ackWaitMs);
  let info: ConsumerInfo;
  try {
    info = await jsm.consumers.info(stream, plan.durable);
  } catch (err: unknown) {
    if (apiErrorCode(err) !== JS_ERR_CONSUMER_NOT_FOUND) throw err;
    const config: Partial<NatsConsumerConfig> = {
      durable_name: plan.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: ackWaitNanos,
      max_ack_pending: cfg.maxAckPending,
    };
    if (plan.filterSubject !== undefined) config.filter_subject = plan.filterSubject;
    const created = await jsm.consumers.add(stream, config);
    log.info({ stream, durable: plan.durable, filterSubject: plan.filterSubject }, 'consumer created');
    return created;
  }
  const c = info.config;
  const existingFilter = c.filter_subject === undefined || c.filter_subject === '' ? undefined : c.filter_subject;
  if (c.deliver_subject !== undefined && c.deliver_subject !== '') {
    throw new JetStreamSetupError(`consumer ${stream}/${plan.durable} is a push consumer; a pull consumer is needed (delete it or pick another durable)`);
  }
  if (c.ack_policy !== AckPolicy.Explicit) {
    throw new JetStreamSetupError(`consumer ${stream}/${plan.durable} has ack policy ${c.ack_policy}; explicit is needed`);
  }
  if (existingFilter !== plan.filterSubject) {
    throw new JetStreamSetupError(
      `consumer ${stream}/${plan.durable} filters '${existingFilter ?? '(none)'}', config asks for '${plan.filterSubject ?? '(none)'}' (delete it or pick another durable)`,
    );
  }
  if (c.ack_wait !== ackWaitNanos || c.max_ack_pending !== cfg.maxAckPending) {
    info = await jsm.consumers.update(stream, plan.durable, { ack_wait: ackWaitNanos, max_ack_pending: cfg.maxAckPending });
    log.info({ stream, durable: plan.durable, ackWaitMs: cfg.ackWaitMs, maxAckPending: cfg.maxAckPending }, 'consumer updated');
  }
  return info;
}

interface ConsumerRun {
  plan: ConsumerPlan;
  consumer: Consumer;
  /** Last known consumer num_pending. */
  pending: number;
  loop: Promise<void>;
  /** Stops the pull in flight (on stop): what was received but not handed over is nak'ed. */
  abort: (() => void) | null;
  /** Stops pulling more (on pause): what was received is still handed over. */
  stopPulling: (() => void) | null;
}

type Handler = (batch: SourceMessage[]) => Promise<void> | void;

export class JetStreamSource implements Source {
  readonly kind = 'jetstream' as const;
  readonly counters: JetStreamSourceCounters = { delivered: 0, redelivered: 0, pullErrors: 0, handlerErrors: 0, ackErrors: 0 };

  private readonly log: Logger;
  private readonly pendingRefreshMs: number;
  private readonly maxRetryWaitMs: number;
  private readonly setupTimeoutMs: number;
  private jsm: JetStreamManager | null = null;
  private runs: ConsumerRun[] = [];
  private paused = false;
  private stopping = false;
  private started = false;
  private resumeWaiters: (() => void)[] = [];
  /** Serializes handler calls across consumers. */
  private handing: Promise<void> = Promise.resolve();
  private pendingTimer: NodeJS.Timeout | null = null;
  private refreshing = false;

  constructor(
    private readonly conn: { nc: NatsConnection; status?: NatsConnectionStatus },
    private readonly cfg: Pick<JetStreamSourceConfig, 'subjectPrefix' | 'sites' | 'stream' | 'consumer'>,
    opts: JetStreamSourceOptions,
  ) {
    this.log = opts.log.child({ source: 'jetstream' });
    this.pendingRefreshMs = opts.pendingRefreshMs ?? 5_000;
    this.maxRetryWaitMs = opts.maxRetryWaitMs ?? 5_000;
    this.setupTimeoutMs = opts.setupTimeoutMs ?? 30_000;
  }

  /** Consumers this source uses (after start). */
  get consumers(): readonly ConsumerPlan[] {
    return this.runs.map((r) => r.plan);
  }

  async start(handler: Handler): Promise<void> {
    if (this.started) throw new Error('JetStreamSource already started');
    this.started = true;
    const { stream } = this.cfg;
    const subjects = stream.subjects ?? [`${this.cfg.subjectPrefix}.>`];
    const plans = planConsumers(this.cfg);
    const infos = await this.withSetupRetry(async () => {
      const jsm = await this.conn.nc.jetstreamManager();
      await ensureStream(jsm, stream, subjects, this.log);
      const out: ConsumerInfo[] = [];
      for (const plan of plans) out.push(await ensureConsumer(jsm, stream.name, plan, this.cfg.consumer, this.log));
      this.jsm = jsm;
      return out;
    });
    const js = this.conn.nc.jetstream();
    for (let i = 0; i < plans.length; i++) {
      const plan = plans[i]!;
      const consumer = await this.withSetupRetry(() => js.consumers.get(stream.name, plan.durable));
      const run: ConsumerRun = { plan, consumer, pending: infos[i]?.num_pending ?? 0, loop: Promise.resolve(), abort: null, stopPulling: null };
      run.loop = this.pullLoop(run, handler);
      this.runs.push(run);
    }
    this.pendingTimer = setInterval(() => void this.refreshPending(), this.pendingRefreshMs);
    this.pendingTimer.unref();
    this.log.info({ stream: stream.name, consumers: plans.map((p) => p.durable), batch: this.cfg.consumer.batch }, 'consuming');
  }

  pause(): void {
    this.paused = true;
    for (const run of this.runs) run.stopPulling?.();
  }

  resume(): void {
    this.paused = false;
    const waiters = this.resumeWaiters;
    this.resumeWaiters = [];
    for (const w of waiters) w();
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
    this.resume();
    await Promise.all(this.runs.map((r) => r.loop));
  }

  health(): SourceHealth {
    let pending = 0;
    for (const r of this.runs) pending += r.pending;
    const health: SourceHealth = { connected: this.isConnected(), pending };
    if (this.paused) health.detail = 'paused';
    return health;
  }

  /** Re-reads num_pending of each consumer now (also done every `pendingRefreshMs`). */
  async refreshPending(): Promise<void> {
    const jsm = this.jsm;
    if (jsm === null || this.refreshing || this.conn.nc.isClosed()) return;
    this.refreshing = true;
    try {
      for (const run of this.runs) {
        const info = await jsm.consumers.info(this.cfg.stream.name, run.plan.durable);
        run.pending = info.num_pending;
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
      await ensureStream(jsm, stream, stream.subjects ?? [`${this.cfg.subjectPrefix}.>`], this.log);
      await ensureConsumer(jsm, stream.name, plan, this.cfg.consumer, this.log);
    } catch (err: unknown) {
      this.log.debug({ durable: plan.durable, err: errorText(err) }, 'consumer check failed');
    }
  }

  private async withSetupRetry<T>(fn: () => Promise<T>): Promise<T> {
    const deadline = performance.now() + this.setupTimeoutMs;
    let waitMs = 250;
    for (;;) {
      try {
        return await fn();
      } catch (err: unknown) {
        if (!isTransient(err) || performance.now() + waitMs > deadline) throw err;
        this.log.warn({ err: errorText(err), retryInMs: waitMs }, 'JetStream not ready; retrying set-up');
        await sleep(waitMs);
        waitMs = Math.min(waitMs * 2, this.maxRetryWaitMs);
      }
    }
  }

  private waitForResume(): Promise<void> {
    return new Promise((resolve) => this.resumeWaiters.push(resolve));
  }

  private toSourceMessage(m: JsMsg): SourceMessage {
    if (m.redelivered) this.counters.redelivered++;
    return {
      subject: m.subject,
      payload: m.data,
      position: { stream: this.cfg.stream.name, sequence: m.seq },
      ack: () => {
        try {
          m.ack();
        } catch (err: unknown) {
          if (this.counters.ackErrors++ === 0) this.log.warn({ err: errorText(err) }, 'ack failed; the message will be redelivered');
        }
      },
    };
  }

  private nak(m: JsMsg): void {
    try {
      m.nak();
    } catch (err: unknown) {
      this.log.debug({ err: errorText(err) }, 'nak failed; the message will be redelivered after ack_wait');
    }
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
        const buffer: JsMsg[] = [];
        const waiter: { wake: (() => void) | null } = { wake: null };
        let ended = false;
        let aborted = false;
        run.abort = () => {
          aborted = true;
          messages.stop();
        };
        run.stopPulling = () => messages.stop();
        // Paused while the pull was being set up: stop at once (what arrived is still handed over).
        if (this.paused) messages.stop();
        // consume() retries a vanished consumer or stream forever on its own; end the pull
        // with an error instead, so the loop below re-creates them.
        void watchConsumerStatus(messages, this.log);
        const pump = (async (): Promise<unknown> => {
          try {
            for await (const m of messages) {
              if (aborted) {
                this.nak(m);
                continue;
              }
              buffer.push(m);
              receivedInFetch++;
              waiter.wake?.();
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
        for (;;) {
          if (buffer.length > 0 && !aborted) {
            const msgs = buffer.splice(0, buffer.length);
            const last = msgs[msgs.length - 1]!;
            run.pending = last.info.pending;
            await this.hand(handler, msgs.map((m) => this.toSourceMessage(m)));
            continue;
          }
          if (ended || aborted) break;
          await new Promise<void>((resolve) => {
            waiter.wake = resolve;
          });
          waiter.wake = null;
        }
        run.abort = null;
        run.stopPulling = null;
        // Nak what arrived after an abort so another worker gets it without waiting ack_wait.
        for (const m of buffer.splice(0, buffer.length)) this.nak(m);
        const pumpError = await pump;
        if (pumpError !== null && !aborted) throw pumpError;
        if (failures > 0) this.log.info({ durable: run.plan.durable, failures }, 'pulling again');
        failures = 0;
        // A pull that ended at once with nothing (disconnected, server restarting) must not spin.
        if (receivedInFetch === 0 && !this.stopping && performance.now() - fetchStartMs < expiresMs / 2) await sleep(MIN_RETRY_WAIT_MS);
      } catch (err: unknown) {
        run.abort = null;
        run.stopPulling = null;
        if (this.stopping) break;
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

/** Stops a consume() with an error when its consumer or stream is gone. */
async function watchConsumerStatus(messages: ConsumerMessages, log: Logger): Promise<void> {
  try {
    for await (const s of await messages.status()) {
      if (s.type === ConsumerEvents.ConsumerDeleted || s.type === ConsumerEvents.ConsumerNotFound || s.type === ConsumerEvents.StreamNotFound) {
        messages.stop(new Error(`consumer not found (${s.type})`));
        return;
      }
    }
  } catch (err: unknown) {
    log.debug({ err: errorText(err) }, 'consumer status stream ended');
  }
}
