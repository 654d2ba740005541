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
import type { ConsumerConfig, JetStreamSourceConfig, StreamConfig } from '../../config/index.js';
import { JS_ERR_CONSUMER_NOT_FOUND, JS_ERR_STREAM_NOT_FOUND, JetStreamSetupError, apiErrorCode } from './errors.js';

/** One durable consumer of the source: its name and optional subject filter. */
export interface ConsumerPlan {
  durable: string;
  filterSubject?: string;
  /**
   * Start at this stream sequence instead of the beginning (a worker-group owner resuming
   * from its checkpoint). Such a consumer is one owner's: its name carries the lease token,
   * and the server removes it once idle for `inactiveMs`.
   */
  startSequence?: number;
  inactiveMs?: number;
}

/** A worker-group claim on one partition: the lease token and where the checkpoint left off. */
export interface PartitionClaim {
  partition: number;
  /** The lease's fencing token (its KV revision): names this owner's consumer. */
  token: number;
  /** First stream sequence not in the checkpoint (1 without one). */
  startSequence: number;
  /** Idle time after which the server deletes the consumer of a vanished owner. */
  inactiveMs: number;
}

/** The durable consumer of one owner of a partition; `claimDurablePrefix` matches every owner's. */
export function claimDurable(durable: string, claim: Pick<PartitionClaim, 'partition' | 'token'>): string {
  return `${claimDurablePrefix(durable, claim.partition)}${claim.token}`;
}
export function claimDurablePrefix(durable: string, partition: number): string {
  return `${durable}-p${partition}-t`;
}

/** The consumers a source uses: one per partition or site filter, or one for the whole stream. */
export function planConsumers(cfg: Pick<JetStreamSourceConfig, 'subjectPrefix' | 'sites' | 'consumer' | 'partitions'>, claim?: PartitionClaim): ConsumerPlan[] {
  const partitions = cfg.partitions;
  if (claim !== undefined) {
    const prefix = partitions?.subjectPrefix ?? cfg.subjectPrefix;
    return [
      {
        durable: claimDurable(cfg.consumer.durable, claim),
        filterSubject: `${prefix}.${claim.partition}.>`,
        startSequence: claim.startSequence,
        inactiveMs: claim.inactiveMs,
      },
    ];
  }
  if (partitions !== undefined) {
    return partitions.ids.map((p) => ({ durable: `${cfg.consumer.durable}-p${p}`, filterSubject: `${partitions.subjectPrefix}.${p}.>` }));
  }
  if (cfg.sites === undefined || cfg.sites.length === 0) return [{ durable: cfg.consumer.durable }];
  return cfg.sites.map((site) => ({ durable: `${cfg.consumer.durable}-${site}`, filterSubject: `${cfg.subjectPrefix}.${site}.>` }));
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

/**
 * Deletes the consumers earlier owners of a partition left behind (a new owner starts its own
 * at its checkpoint's sequence). Best effort: a consumer that is gone already is fine.
 */
export async function deleteStaleClaims(jsm: JetStreamManager, stream: string, durable: string, claim: PartitionClaim, log: Logger): Promise<number> {
  const prefix = claimDurablePrefix(durable, claim.partition);
  const mine = claimDurable(durable, claim);
  let deleted = 0;
  for await (const info of jsm.consumers.list(stream)) {
    const name = info.name;
    if (!name.startsWith(prefix) || name === mine || !/^\d+$/.test(name.slice(prefix.length))) continue;
    try {
      await jsm.consumers.delete(stream, name);
      deleted++;
    } catch (err: unknown) {
      if (apiErrorCode(err) !== JS_ERR_CONSUMER_NOT_FOUND) throw err;
    }
  }
  if (deleted > 0) log.info({ stream, partition: claim.partition, deleted }, 'consumers of earlier owners deleted');
  return deleted;
}
