/**
 * Batch sizes while the InfluxDB sink isolates the bad lines of a rejected batch (400, 413,
 * 422): the rejected lines are resent in halves until each bad line is alone and dropped;
 * past them the batches grow back, doubling, to `batchSize`.
 */
export class Bisection {
  /** Lines at the head of the queue that were in a rejected batch. */
  private suspect = 0;
  /** The bisected batch size for them. */
  private splitLimit: number;

  constructor(private readonly batchSize: number) {
    this.splitLimit = batchSize;
  }

  /** Lines the next request may carry. */
  batchLimit(): number {
    return this.suspect > 0 ? Math.min(this.suspect, this.splitLimit) : this.batchSize;
  }

  /** `count` lines from the head were written. */
  written(count: number): void {
    if (this.suspect === 0) return;
    // Past a bad point: grow the bisected batches back.
    this.suspect = Math.max(0, this.suspect - count);
    this.splitLimit = this.suspect === 0 ? this.batchSize : Math.min(this.batchSize, this.splitLimit * 2);
  }

  /** A batch of `count` (> 1) lines was rejected: resend the first half now; the rest follows in halves too. */
  rejected(count: number): void {
    this.suspect = Math.max(this.suspect, count);
    this.splitLimit = Math.ceil(count / 2);
  }

  /** The single line at the head was rejected and dropped. */
  dropped(): void {
    if (this.suspect > 0) this.suspect--;
    if (this.suspect === 0) this.splitLimit = this.batchSize;
  }
}
