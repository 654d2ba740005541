/**
 * A partition's view of a sink shared by the whole worker: records pass only while the
 * worker still holds the partition's lease (the fence), and closing the view leaves the
 * shared sink open (the worker closes it once, after its last partition).
 *
 * Why the fence is enough for exact outputs: the owner writes a checkpoint only after the
 * shared sinks flushed every record emitted before the state it checkpoints, and a new owner
 * restores that checkpoint and replays the stream from the next sequence: every window the
 * old owner emitted after its last checkpoint is emitted again, with the same key, revision
 * and values. What the fence stops is a worker that lost its lease (frozen, cut off from
 * NATS) writing results of a stretch it no longer consumes.
 */
import type { OutputRecord } from '../../domain/index.js';
import type { DeliveryObserver, Sink, SinkCloseOptions, SinkHealth, SinkStats } from '../../sinks/index.js';

export class FencedSink implements Sink {
  readonly name: string;
  /** Records refused because the lease was gone. */
  fencedRecords = 0;

  constructor(
    private readonly inner: Sink,
    private readonly owns: () => boolean,
  ) {
    this.name = inner.name;
  }

  write(records: readonly OutputRecord[], emittedAtMonoMs?: number): void {
    if (!this.owns()) {
      this.fencedRecords += records.length;
      return;
    }
    this.inner.write(records, emittedAtMonoMs);
  }

  /** The shared sink's delivery observer: delivery happens there. */
  get onDelivered(): DeliveryObserver | undefined {
    return this.inner.onDelivered;
  }

  set onDelivered(observer: DeliveryObserver | undefined) {
    this.inner.onDelivered = observer;
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  /** Flushes only: the shared sink stays open for the worker's other partitions. */
  async close(_opts?: SinkCloseOptions): Promise<void> {
    await this.inner.flush();
  }

  health(): SinkHealth {
    return this.inner.health();
  }

  stats(): SinkStats {
    return this.inner.stats?.() ?? {};
  }
}
