/** Start-up of the JetStream source: the stream, and one durable pull consumer per site filter (or one for all). */
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  nanos,
  type ConsumerConfig as NatsConsumerConfig,
  type ConsumerInfo,
  type JetStreamManager,
  type StreamConfig as NatsStreamConfig,
} from 'nats';
import type { Logger } from 'pino';
import { allUnderToken } from '../../codec/index.js';
import type { ConsumerConfig, JetStreamSourceConfig, StreamConfig } from '../../config/index.js';
import { claimDurable, type PartitionClaim } from './claims.js';
import { JS_ERR_CONSUMER_NOT_FOUND, JS_ERR_STREAM_NOT_FOUND, JetStreamSetupError, apiErrorCode, errorText, isTransient } from './errors.js';

/** One durable consumer of the source: its name and optional subject filter. */
export interface ConsumerPlan {
  durable: string;
  filterSubject?: string;
  /** Start at this stream sequence instead of the first (a group owner resuming a checkpoint). */
  startSequence?: number;
  /** The server deletes the consumer once idle this long (a group owner's consumer). */
  inactiveMs?: number;
}

/** The consumers a source uses: one per partition or site filter, or one for the whole stream. */
export function planConsumers(cfg: Pick<JetStreamSourceConfig, 'subjectPrefix' | 'sites' | 'consumer' | 'partitions'>, claim?: PartitionClaim): ConsumerPlan[] {
  const partitions = cfg.partitions;
  if (claim !== undefined) {
    return [
      {
        durable: claimDurable(cfg.consumer.durable, claim),
        filterSubject: allUnderToken(partitions?.subjectPrefix ?? cfg.subjectPrefix, String(claim.partition)),
        startSequence: claim.startSequence,
        inactiveMs: claim.inactiveMs,
      },
    ];
  }
  if (partitions !== undefined) {
    return partitions.ids.map((p) => ({ durable: `${cfg.consumer.durable}-p${p}`, filterSubject: allUnderToken(partitions.subjectPrefix, String(p)) }));
  }
  if (cfg.sites === undefined || cfg.sites.length === 0) return [{ durable: cfg.consumer.durable }];
  return cfg.sites.map((site) => ({ durable: `${cfg.consumer.durable}-${site}`, filterSubject: allUnderToken(cfg.subjectPrefix, site) }));
}

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
    if (plan.startSequence !== undefined) {
      config.deliver_policy = DeliverPolicy.StartSequence;
      config.opt_start_seq = Math.max(1, plan.startSequence);
    }
    if (plan.inactiveMs !== undefined) config.inactive_threshold = nanos(plan.inactiveMs);
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

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs a set-up step, retrying (with doubling waits up to `maxRetryWaitMs`) while it fails
 * with a transient error (JetStream not ready) and `timeoutMs` has not passed; other errors,
 * and the last transient one, are thrown.
 */
export async function withSetupRetry<T>(opts: { timeoutMs: number; maxRetryWaitMs: number; log: Logger }, fn: () => Promise<T>): Promise<T> {
  const deadline = performance.now() + opts.timeoutMs;
  let waitMs = 250;
  for (;;) {
    try {
      return await fn();
    } catch (err: unknown) {
      if (!isTransient(err) || performance.now() + waitMs > deadline) throw err;
      opts.log.warn({ err: errorText(err), retryInMs: waitMs }, 'JetStream not ready; retrying set-up');
      await sleep(waitMs);
      waitMs = Math.min(waitMs * 2, opts.maxRetryWaitMs);
    }
  }
}
