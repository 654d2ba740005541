/** Per-partition figures of a group worker: lag, checkpoint age, size and duration, restore time. */
import { Gauge, Histogram, type Registry } from 'prom-client';
import {
  GROUP_CHECKPOINT_AGE_SECONDS,
  GROUP_CHECKPOINT_BYTES,
  GROUP_CHECKPOINT_DURATION_SECONDS,
  GROUP_PARTITION_LAG_MESSAGES,
  GROUP_RESTORE_DURATION_SECONDS,
} from '../../telemetry/index.js';

/** What the metrics read of one owned partition (a subset of OwnedPartitionStatus). */
export interface PartitionFigures {
  partition: number;
  pending: number | null;
  lastCheckpointAtMs: number | null;
  lastCheckpointBytes: number | null;
}

const DURATION_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class PartitionMetrics {
  private readonly lag: Gauge<'group' | 'partition'>;
  private readonly age: Gauge<'group' | 'partition'>;
  private readonly bytes: Gauge<'group' | 'partition'>;
  private readonly checkpointSeconds: Histogram<'group'>;
  private readonly restoreSeconds: Histogram<'group'>;
  /** Partitions with series now: those no longer owned are removed. */
  private shown = new Set<number>();
  private readonly takenAtMs = new Map<number, number>();

  constructor(
    registry: Registry,
    private readonly group: string,
  ) {
    const registers = [registry];
    this.lag = new Gauge({ name: GROUP_PARTITION_LAG_MESSAGES, help: 'Messages of an owned partition not yet consumed', labelNames: ['group', 'partition'], registers });
    this.age = new Gauge({ name: GROUP_CHECKPOINT_AGE_SECONDS, help: "Seconds since an owned partition's last stored checkpoint", labelNames: ['group', 'partition'], registers });
    this.bytes = new Gauge({ name: GROUP_CHECKPOINT_BYTES, help: "Bytes of an owned partition's last checkpoint", labelNames: ['group', 'partition'], registers });
    this.checkpointSeconds = new Histogram({ name: GROUP_CHECKPOINT_DURATION_SECONDS, help: 'Time to cut, flush behind and store a checkpoint', labelNames: ['group'], buckets: DURATION_BUCKETS_SECONDS, registers });
    this.restoreSeconds = new Histogram({ name: GROUP_RESTORE_DURATION_SECONDS, help: "Time to load and restore a partition's checkpoint on take-over", labelNames: ['group'], buckets: DURATION_BUCKETS_SECONDS, registers });
  }

  restored(partition: number, restoreMs: number, nowMs: number): void {
    this.takenAtMs.set(partition, nowMs);
    this.restoreSeconds.observe({ group: this.group }, restoreMs / 1000);
  }

  checkpointed(durationMs: number): void {
    this.checkpointSeconds.observe({ group: this.group }, durationMs / 1000);
  }

  update(partitions: readonly PartitionFigures[], nowMs: number): void {
    const now = new Set<number>();
    for (const p of partitions) {
      const labels = { group: this.group, partition: String(p.partition) };
      now.add(p.partition);
      if (p.pending !== null) this.lag.set(labels, p.pending);
      const sinceMs = p.lastCheckpointAtMs ?? this.takenAtMs.get(p.partition) ?? nowMs;
      this.age.set(labels, Math.max(0, nowMs - sinceMs) / 1000);
      if (p.lastCheckpointBytes !== null) this.bytes.set(labels, p.lastCheckpointBytes);
    }
    for (const p of this.shown) {
      if (now.has(p)) continue;
      const labels = { group: this.group, partition: String(p) };
      this.lag.remove(labels);
      this.age.remove(labels);
      this.bytes.remove(labels);
      this.takenAtMs.delete(p);
    }
    this.shown = now;
  }
}
