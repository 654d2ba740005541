/**
 * One partition, as its worker-group owner runs it: restore the latest checkpoint, consume
 * the partition from the next stream sequence on, checkpoint every `checkpointEveryMs`, and on
 * hand-over stop, checkpoint once more and let go.
 *
 * A checkpoint is cut between two batches (the pipeline records a batch synchronously), so the
 * engine and alert state include exactly the messages up to `lastSequence`. It is stored only
 * after the shared sinks flushed everything emitted before the cut: a window that was emitted
 * is either delivered or will be emitted again by whoever restores this checkpoint.
 */
import type { NatsConnection } from 'nats';
import type { JetStreamSourceConfig } from '../../config/index.js';
import { WindowEngine, type EngineOptions } from '../../core/index.js';
import { AlertEngine } from '../../core/alerts/index.js';
import type { AlertsConfig } from '../../core/alerts/index.js';
import type { EngineSettings, Topology } from '../../domain/index.js';
import type { Sink } from '../../sinks/index.js';
import { JetStreamSource, type DeadLetterPublisher, type NatsConnectionStatus } from '../../sources/index.js';
import type { Logger, PipelineHealthSample } from '../../telemetry/index.js';
import type { ActiveAlert } from '../../core/alerts/index.js';
import { NO_COUNTS, Pipeline, type PipelineConfig, type PipelineCounts, type StopReport } from '../runner.js';
import { restoreFromCheckpoint, takeCheckpoint, type Checkpoint, type CheckpointScope } from './checkpoint.js';
import { FencedSink } from './fenced-sink.js';

/** Where partition checkpoints live: CheckpointStore (NATS Object Store) in production. */
export interface PartitionStateStore {
  latest(partition: number): Promise<{ checkpoint: Checkpoint } | null>;
  put(checkpoint: Checkpoint): Promise<unknown>;
}

export interface PartitionRunnerDeps {
  group: string;
  partitionCount: number;
  workerId: string;
  partition: number;
  /** The lease's fencing token: names this owner's consumer. */
  token: number;
  /** Only the sites of this partition. */
  topology: Topology;
  settings: EngineSettings;
  engineOptions?: EngineOptions;
  alerts?: AlertsConfig;
  source: Pick<JetStreamSourceConfig, 'subjectPrefix' | 'sites' | 'stream' | 'consumer' | 'partitions'>;
  pipeline: PipelineConfig;
  nc: NatsConnection;
  natsStatus?: NatsConnectionStatus;
  /** The worker's sinks, shared by its partitions (started and closed by the worker). */
  sinks: readonly Sink[];
  /** Rejected messages go here (shared by the worker's partitions); absent = counted only. */
  deadLetter?: DeadLetterPublisher;
  /** True while this worker still holds the partition's lease with `token`. */
  owns: () => boolean;
  store: PartitionStateStore;
  clock: () => number;
  logger: Logger;
  tickMs?: number;
  checkpointEveryMs: number;
  /** Told of every stored checkpoint (metrics). */
  onCheckpoint?: (report: CheckpointReport) => void;
  /** The server deletes this owner's consumer once idle this long (a vanished owner). */
  consumerInactiveMs: number;
}

export interface CheckpointReport {
  lastSequence: number;
  bytes: number;
  durationMs: number;
}

export class PartitionRunner {
  private pipeline: Pipeline | null = null;
  private source: JetStreamSource | null = null;
  /** The start in progress or done; a hand-over or loss waits for it. */
  private starting: Promise<void> | null = null;
  /** Set once stopping began: a start still in progress does not schedule checkpoints. */
  private halted = false;
  private engine: WindowEngine | null = null;
  private alerts: AlertEngine | null = null;
  private timer: NodeJS.Timeout | null = null;
  private checkpointing: Promise<CheckpointReport | null> | null = null;
  private fenced: FencedSink[] = [];
  private stream = '';
  private baseSequence = 0;
  private readonly log: Logger;
  /** Last checkpoint stored by this owner. */
  lastCheckpoint: (CheckpointReport & { atMs: number }) | null = null;
  restoreMs = 0;
  restoredFrom: number | null = null;

  constructor(private readonly deps: PartitionRunnerDeps) {
    this.log = deps.logger.child({ partition: deps.partition, token: deps.token });
  }

  get partition(): number {
    return this.deps.partition;
  }

  /** Stream sequence up to which this partition's state includes every message. */
  get position(): number {
    return this.pipeline?.positions.get(this.stream) ?? this.baseSequence;
  }

  /** Messages waiting in the stream for this partition (consumer pending), when known. */
  pending(): number | undefined {
    return this.source?.health().pending;
  }

  /** The partition pipeline's health (null before it was built). */
  healthSample(nowMs: number): PipelineHealthSample | null {
    return this.pipeline?.healthSample(nowMs) ?? null;
  }

  /** Readings, window records and dead letters of this owner's pipeline so far. */
  counts(): PipelineCounts {
    return this.pipeline?.counts() ?? { ...NO_COUNTS };
  }

  /** Alerts pending or firing in this partition now. */
  activeAlerts(): readonly ActiveAlert[] {
    return this.alerts?.activeAlerts() ?? [];
  }

  /** Starts once; a hand-over or loss that comes while starting waits for the start to finish. */
  start(): Promise<void> {
    this.starting ??= this.doStart();
    return this.starting;
  }

  private async doStart(): Promise<void> {
    const d = this.deps;
    const startedMs = performance.now();
    this.stream = d.source.stream.name;
    const saved = (await d.store.latest(d.partition))?.checkpoint ?? null;
    if (saved === null) {
      this.engine = new WindowEngine(d.topology, d.settings, d.engineOptions);
      this.alerts = d.alerts === undefined ? null : new AlertEngine(d.topology, d.alerts);
    } else {
      const restored = restoreFromCheckpoint(saved, { ...this.scope(), topology: d.topology, settings: d.settings, ...(d.engineOptions === undefined ? {} : { engineOptions: d.engineOptions }), alerts: d.alerts ?? null });
      this.engine = restored.engine;
      this.alerts = restored.alerts;
    }
    this.baseSequence = saved?.lastSeq ?? 0;
    this.restoredFrom = saved === null ? null : saved.lastSeq;
    this.restoreMs = performance.now() - startedMs;
    this.source = new JetStreamSource({ nc: d.nc, ...(d.natsStatus === undefined ? {} : { status: d.natsStatus }) }, d.source, {
      log: this.log,
      ...(d.natsStatus === undefined ? {} : { status: d.natsStatus }),
      claim: { partition: d.partition, token: d.token, startSequence: this.baseSequence + 1, inactiveMs: d.consumerInactiveMs },
    });
    this.fenced = d.sinks.map((s) => new FencedSink(s, d.owns));
    this.pipeline = new Pipeline({
      config: d.pipeline,
      engine: this.engine,
      source: this.source,
      sinks: this.fenced,
      ...(this.alerts === null ? {} : { alerts: this.alerts }),
      ...(d.deadLetter === undefined ? {} : { deadLetter: d.deadLetter }),
      clock: d.clock,
      logger: this.log,
      ...(d.natsStatus === undefined ? {} : { natsStatus: d.natsStatus }),
      ...(d.tickMs === undefined ? {} : { tickMs: d.tickMs }),
      openWindowsOnStop: 'keep',
    });
    await this.pipeline.start();
    if (this.halted) return;
    this.log.info({ restoredFrom: this.restoredFrom, restoreMs: Math.round(this.restoreMs) }, 'partition taken');
    this.timer = setInterval(() => {
      void this.checkpoint().catch((err: unknown) => this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'checkpoint failed; the next one retries'));
    }, d.checkpointEveryMs);
  }

  /**
   * Cuts the state now, waits for the sinks to deliver what was emitted before the cut, then
   * stores it while the lease is still held. One at a time; null when the lease is gone.
   */
  checkpoint(): Promise<CheckpointReport | null> {
    if (this.checkpointing !== null) return this.checkpointing;
    this.checkpointing = this.doCheckpoint().finally(() => {
      this.checkpointing = null;
    });
    return this.checkpointing;
  }

  private async doCheckpoint(): Promise<CheckpointReport | null> {
    const engine = this.engine;
    if (engine === null || !this.deps.owns()) return null;
    const startedMs = performance.now();
    const lastSequence = this.position;
    const checkpoint = takeCheckpoint({ ...this.scope(), engine, alerts: this.alerts, lastSeq: lastSequence, takenAtMs: this.deps.clock(), workerId: this.deps.workerId });
    await Promise.all(this.fenced.map((s) => s.flush()));
    if (!this.deps.owns()) return null;
    await this.deps.store.put(checkpoint);
    const report = { lastSequence, bytes: checkpoint.engine.byteLength + (checkpoint.alerts?.byteLength ?? 0), durationMs: performance.now() - startedMs };
    this.lastCheckpoint = { ...report, atMs: this.deps.clock() };
    this.deps.onCheckpoint?.(report);
    return report;
  }

  private scope(): CheckpointScope {
    return { group: this.deps.group, partition: this.deps.partition, partitionCount: this.deps.partitionCount, stream: this.deps.source.stream.name };
  }

  readiness(): { ready: boolean; detail?: string } {
    return this.pipeline?.readiness() ?? { ready: false, detail: 'starting' };
  }

  /** Graceful hand-over: stop consuming, close what event time allows, checkpoint. */
  async handOver(): Promise<StopReport | null> {
    const report = await this.halt();
    if (this.checkpointing !== null) await this.checkpointing.catch(() => null);
    await this.checkpoint();
    return report;
  }

  /** The lease is gone: stop at once, write nothing more, store nothing. */
  async abandon(): Promise<void> {
    await this.halt();
  }

  private async halt(): Promise<StopReport | null> {
    this.halted = true;
    await this.starting?.catch(() => undefined);
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    return this.pipeline === null ? null : this.pipeline.stop();
  }
}
