/**
 * When to checkpoint each owned partition: every `intervalMs` (default 10 s) once something new
 * was processed, and once more on release. Pure bookkeeping (time comes in as `nowMs`); the
 * caller owns the timer, takes the checkpoint and reports it back with `taken()`.
 *
 *   const s = new CheckpointScheduler({ intervalMs: 10_000 });
 *   s.add(p, restoredLastSeq, nowMs);        // on acquire
 *   s.processed(p, msg.seq);                 // per batch
 *   for (const p of s.due(nowMs)) { ...put...; s.taken(p, lastSeq, nowMs); }
 *   if (s.needsFinal(p)) { ...put... }       // on release, then s.remove(p)
 */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 10_000;

export interface CheckpointSchedulerOptions {
  /** Time between checkpoints of a partition, ms (default 10,000). */
  intervalMs?: number;
}

interface PartitionState {
  /** Sequence of the last checkpoint (or of the restored one). */
  checkpointSeq: number;
  lastCheckpointMs: number;
  processedSeq: number;
}

export class CheckpointScheduler {
  readonly intervalMs: number;
  private readonly partitions = new Map<number, PartitionState>();

  constructor(options: CheckpointSchedulerOptions = {}) {
    this.intervalMs = options.intervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
    if (!Number.isFinite(this.intervalMs) || this.intervalMs <= 0) throw new RangeError(`intervalMs must be a positive number of ms, got ${this.intervalMs}`);
  }

  /** A partition was acquired at `nowMs` with state up to `lastSeq` (its checkpoint's, or 0 when fresh). */
  add(partition: number, lastSeq: number, nowMs: number): void {
    this.partitions.set(partition, { checkpointSeq: lastSeq, lastCheckpointMs: nowMs, processedSeq: lastSeq });
  }

  remove(partition: number): void {
    this.partitions.delete(partition);
  }

  /** The partition's state now includes every message up to stream sequence `seq`. */
  processed(partition: number, seq: number): void {
    const state = this.partitions.get(partition);
    if (state !== undefined && seq > state.processedSeq) state.processedSeq = seq;
  }

  /** Sequence the partition's state includes (what a checkpoint taken now records as lastSeq). */
  processedSeq(partition: number): number | undefined {
    return this.partitions.get(partition)?.processedSeq;
  }

  /** Partitions whose checkpoint is due at `nowMs`: an interval since the last one and new messages since. */
  due(nowMs: number): number[] {
    const out: number[] = [];
    for (const [p, s] of this.partitions) {
      if (s.processedSeq > s.checkpointSeq && nowMs - s.lastCheckpointMs >= this.intervalMs) out.push(p);
    }
    return out.sort((a, b) => a - b);
  }

  /** A checkpoint of `partition` at `lastSeq` was stored at `nowMs`. */
  taken(partition: number, lastSeq: number, nowMs: number): void {
    const state = this.partitions.get(partition);
    if (state === undefined) return;
    state.checkpointSeq = Math.max(state.checkpointSeq, lastSeq);
    state.lastCheckpointMs = nowMs;
  }

  /** On release: whether the partition has messages its last checkpoint lacks. */
  needsFinal(partition: number): boolean {
    const state = this.partitions.get(partition);
    return state !== undefined && state.processedSeq > state.checkpointSeq;
  }

  /** Age of the partition's last checkpoint at `nowMs`, ms (for the checkpoint-age metric). */
  ageMs(partition: number, nowMs: number): number | undefined {
    const state = this.partitions.get(partition);
    return state === undefined ? undefined : nowMs - state.lastCheckpointMs;
  }
}
