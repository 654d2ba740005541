/**
 * A worker of a group (docs/worker-groups.md): joins the group's membership, and for every
 * partition whose lease it holds runs a `PartitionRunner` over that partition's sites. The
 * sinks are the worker's, shared by its partitions; each partition writes through a fence.
 *
 * - Acquire: restore the partition's checkpoint, consume from the next sequence.
 * - Release (rebalance, SIGTERM): stop consuming, close what event time allows, checkpoint,
 *   then the lease is freed (the member frees it once `onRelease` resolves).
 * - Lose (renewal conflict, deadline passed): stop at once; nothing more is written or stored.
 */
import type { NatsConnection } from 'nats';
import type { Registry } from 'prom-client';
import type { HeadroomConfig, JetStreamSourceConfig } from '../../config/index.js';
import type { Sink } from '../../sinks/index.js';
import { telemetrySubjectPattern, type DeadLetterPublisher, type NatsConnectionStatus } from '../../sources/index.js';
import type { Logger } from '../../telemetry/index.js';
import { errorText, PipelineMetrics } from '../../telemetry/index.js';
import { natsHealthSample, sinkHealthSamples } from '../health-sample.js';
import { GroupHealth, type WorkerCounts } from './group-health.js';
import { openGroupBucket } from './leases.js';
import { GroupMember } from './member.js';
import { GroupMetrics } from './metrics.js';
import { partitionTopology } from './partition-map.js';
import { PartitionRunner, type PartitionStateStore } from './partition-runner.js';
import { PartitionMetrics } from './partition-metrics.js';

export interface GroupWorkerDeps {
  config: HeadroomConfig & { source: JetStreamSourceConfig };
  nc: NatsConnection;
  /**
   * The connection of the group's bucket (heartbeats, lease renewals). Its own in production:
   * on `nc` a renewal waits behind whatever is queued there (checkpoint uploads of tens of MB,
   * results), and a lease expires while its renewal waits. Default: `nc`.
   */
  membershipNc?: NatsConnection;
  natsStatus?: NatsConnectionStatus;
  /** Started by the caller before `start()`, closed by the caller after `stop()`. */
  sinks: readonly Sink[];
  /** Rejected messages of every partition go here; absent = counted only. */
  deadLetter?: DeadLetterPublisher;
  store: PartitionStateStore;
  workerId: string;
  clock: () => number;
  logger: Logger;
  registry?: Registry;
  tickMs?: number;
  checkpointEveryMs: number;
}

/** One partition as `/status` and `headroom status` show it. */
export interface OwnedPartitionStatus {
  partition: number;
  token: number;
  /** Stream sequence up to which the state includes every message. */
  position: number;
  /** Messages of the partition not yet consumed (consumer pending), when known. */
  pending: number | null;
  lastCheckpointAtMs: number | null;
  lastCheckpointBytes: number | null;
  restoredFromSequence: number | null;
  restoreMs: number;
}

const START_RETRY_FIRST_MS = 1_000;
const START_RETRY_MAX_MS = 5_000;

export class GroupWorker {
  private member: GroupMember | null = null;
  private readonly runners = new Map<number, PartitionRunner>();
  private readonly log: Logger;
  private readonly metrics: PartitionMetrics | null;
  /** The pipeline metrics of a single worker, summed over this worker's partitions. */
  private readonly pipelineMetrics: PipelineMetrics | null;
  private readonly health = new GroupHealth();
  private metricsTimer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: GroupWorkerDeps) {
    this.log = deps.logger.child({ component: 'group-worker', worker: deps.workerId });
    this.metrics = deps.registry === undefined ? null : new PartitionMetrics(deps.registry, groupOf(deps.config).name);
    this.pipelineMetrics = deps.registry === undefined ? null : new PipelineMetrics(deps.registry);
    // Delivery happens on the shared sinks: their delays are observed once, for the worker.
    this.pipelineMetrics?.observeDeliveries(deps.sinks);
  }

  /** Readings, window records and dead letters since this worker started, over every partition it ran. */
  counts(): WorkerCounts {
    return this.health.totals([...this.runners.values()].map((r) => r.counts()));
  }

  get workerId(): string {
    return this.deps.workerId;
  }

  async start(): Promise<void> {
    const group = groupOf(this.deps.config);
    const kv = await openGroupBucket((this.deps.membershipNc ?? this.deps.nc).jetstream(), { bucket: group.bucket, replicas: group.replicas ?? this.deps.config.source.stream.replicas });
    this.member = new GroupMember({
      kv,
      workerId: this.deps.workerId,
      partitionCount: partitionCountOf(this.deps.config),
      leaseMs: group.leaseMs,
      heartbeatMs: group.heartbeatMs,
      safetyMarginMs: group.safetyMarginMs,
      log: this.deps.logger,
      ...(this.deps.registry === undefined ? {} : { metrics: new GroupMetrics(this.deps.registry, group.name) }),
      onAcquire: (p, token) => this.acquire(p, token),
      onLose: (p) => this.lose(p),
      onRelease: (p) => this.release(p),
    });
    await this.member.start();
    if (this.deps.registry !== undefined) this.metricsTimer = setInterval(() => this.updateMetrics(), 1_000);
  }

  /** Hands every partition over (checkpoint, then the lease is freed) and leaves the group. */
  async stop(): Promise<void> {
    if (this.metricsTimer !== null) clearInterval(this.metricsTimer);
    this.metricsTimer = null;
    await this.member?.stop();
    // Runners the member no longer knew of (lost meanwhile) stop without a checkpoint.
    const left = [...this.runners.values()];
    this.runners.clear();
    await Promise.all(left.map((r) => r.abandon().finally(() => this.retire(r))));
    this.updateMetrics();
  }

  status(): { workerId: string; partitions: OwnedPartitionStatus[] } {
    const owned = this.member?.owned() ?? [];
    return {
      workerId: this.deps.workerId,
      partitions: owned.map(({ partition, token }) => {
        const r = this.runners.get(partition);
        return {
          partition,
          token,
          position: r?.position ?? 0,
          pending: r?.pending() ?? null,
          lastCheckpointAtMs: r?.lastCheckpoint?.atMs ?? null,
          lastCheckpointBytes: r?.lastCheckpoint?.bytes ?? null,
          restoredFromSequence: r?.restoredFrom ?? null,
          restoreMs: r?.restoreMs ?? 0,
        };
      }),
    };
  }

  /** Ready when every owned partition's pipeline is running (no partitions: ready, idle). */
  readiness(): { ready: boolean; detail?: string } {
    for (const r of this.runners.values()) {
      const state = r.readiness();
      if (!state.ready) return { ready: false, detail: `partition ${r.partition}: ${state.detail ?? 'not ready'}` };
    }
    return { ready: true };
  }

  /**
   * Starts the partition; a start that fails (NATS busy, a checkpoint that cannot be read yet) is
   * retried with a growing pause for as long as the lease is held.
   */
  private async acquire(partition: number, token: number): Promise<void> {
    for (let attempt = 1; this.member?.fence(partition, token) === true; attempt++) {
      const runner = this.newRunner(partition, token);
      this.runners.set(partition, runner);
      try {
        await runner.start();
        this.metrics?.restored(partition, runner.restoreMs, this.deps.clock());
        return;
      } catch (err: unknown) {
        if (this.runners.get(partition) === runner) this.runners.delete(partition);
        await runner.abandon();
        this.retire(runner);
        const retryInMs = Math.min(START_RETRY_MAX_MS, START_RETRY_FIRST_MS * attempt);
        this.log.warn({ partition, attempt, retryInMs, err: errorText(err) }, 'partition could not start; retrying while the lease is held');
        await new Promise((resolve) => setTimeout(resolve, retryInMs));
      }
    }
  }

  private newRunner(partition: number, token: number): PartitionRunner {
    const d = this.deps;
    const count = partitionCountOf(d.config);
    return new PartitionRunner({
      group: groupOf(d.config).name,
      partitionCount: count,
      workerId: d.workerId,
      partition,
      token,
      topology: partitionTopology(d.config.topology, partition, count),
      settings: d.config.engine,
      engineOptions: { emitMeters: d.config.sinks.ndjson?.meters === true },
      ...(d.config.alerts.rules.length > 0 ? { alerts: d.config.alerts } : {}),
      source: d.config.source,
      pipeline: { subjectPrefix: telemetrySubjectPattern(d.config.source), maxMessageBytes: d.config.source.maxMessageBytes, lineProtocol: d.config.source.lineProtocol },
      nc: d.nc,
      ...(d.natsStatus === undefined ? {} : { natsStatus: d.natsStatus }),
      sinks: d.sinks,
      ...(d.deadLetter === undefined ? {} : { deadLetter: d.deadLetter }),
      owns: () => this.member?.fence(partition, token) ?? false,
      store: d.store,
      clock: d.clock,
      logger: this.log,
      ...(d.tickMs === undefined ? {} : { tickMs: d.tickMs }),
      checkpointEveryMs: d.checkpointEveryMs,
      onCheckpoint: (report) => this.metrics?.checkpointed(report.durationMs),
      consumerInactiveMs: Math.max(groupOf(d.config).leaseMs * 3, 60_000),
    });
  }

  private lose(partition: number): void {
    const runner = this.runners.get(partition);
    this.runners.delete(partition);
    this.log.warn({ partition }, 'lease lost: partition stopped without a checkpoint');
    if (runner !== undefined) void runner.abandon().finally(() => this.retire(runner));
  }

  /** A runner that stopped on this worker: its counts stay in the worker's totals. */
  private retire(runner: PartitionRunner): void {
    const sample = runner.healthSample(this.deps.clock());
    if (sample !== null) this.health.retire(sample, runner.counts());
  }

  private async release(partition: number): Promise<void> {
    const runner = this.runners.get(partition);
    this.runners.delete(partition);
    if (runner === undefined) return;
    const startedMs = performance.now();
    await runner.handOver().finally(() => this.retire(runner));
    this.log.info({ partition, handOverMs: Math.round(performance.now() - startedMs), position: runner.position }, 'partition handed over');
  }

  private updateMetrics(): void {
    const nowMs = this.deps.clock();
    this.metrics?.update(this.status().partitions, nowMs);
    if (this.pipelineMetrics === null) return;
    const live = [...this.runners.values()];
    const samples = live.map((r) => r.healthSample(nowMs)).filter((s) => s !== null);
    const status = this.deps.natsStatus;
    this.pipelineMetrics.update(this.health.merge(samples, { sinks: sinkHealthSamples(this.deps.sinks), ...(status === undefined ? {} : { nats: natsHealthSample(status) }) }));
    this.pipelineMetrics.setAlerts(live.flatMap((r) => r.activeAlerts()));
  }
}

function groupOf(config: GroupWorkerDeps['config']): NonNullable<JetStreamSourceConfig['group']> {
  const group = config.source.group;
  if (group === undefined) throw new Error('source.group is not set');
  return group;
}

function partitionCountOf(config: GroupWorkerDeps['config']): number {
  const count = config.source.partitions?.count;
  if (count === undefined) throw new Error('source.partitions.count is not set');
  return count;
}
