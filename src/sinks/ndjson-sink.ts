import type { Logger } from 'pino';
import type { OutputRecord } from '../domain/index.js';
import { observeDelivery, type DeliveryObserver } from './delivery.js';
import { recordsJson } from './record-json.js';
import { LineFileWriter } from './line-file-writer.js';
import type { Sink, SinkHealth } from './types.js';

/** Bytes the file stream may hold before the sink reports itself full. */
const DEFAULT_CAPACITY_BYTES = 16 * 1024 * 1024;

export interface NdjsonSinkOptions {
  /** Start from an empty file. Default false: append to what a previous run wrote. */
  truncate?: boolean;
  /** Start a new numbered file before the current one would grow past this many bytes. */
  rotateBytes?: number;
  /** Start a new numbered file once the current one's first record is this old. */
  rotateMs?: number;
  /** Clock for `rotateMs`. Default Date.now. */
  nowMs?: () => number;
  /** Bytes the file stream may hold before the sink reports itself full. Default 16 MiB. */
  capacityBytes?: number;
  /** Where a cut torn line is reported. */
  log?: Logger;
}

/**
 * Window results and alert transitions as NDJSON, one JSON object a line, in emission
 * order. The records are the public output format (docs/replay-and-record.md, "Output records").
 *
 * By default a restart appends: the results of earlier runs stay. A line torn by a crash
 * (SIGKILL mid-write) is cut before appending, so every line of the file parses. Rotation by
 * size and age numbers the files (`results-000001.ndjson`, ...), as `headroom record` does
 * (the same LineFileWriter). A batch of records is written as one chunk of whole lines.
 */
export class NdjsonSink implements Sink {
  readonly name = 'ndjson';
  private readonly out: LineFileWriter;
  private readonly capacityBytes: number;
  written = 0;
  onDelivered?: DeliveryObserver | undefined;

  constructor(
    readonly path: string,
    opts: NdjsonSinkOptions = {},
  ) {
    this.capacityBytes = opts.capacityBytes ?? DEFAULT_CAPACITY_BYTES;
    this.out = new LineFileWriter({
      path,
      mode: opts.truncate === true ? 'truncate' : 'append',
      nowMs: opts.nowMs ?? Date.now,
      eager: true,
      ...(opts.rotateBytes !== undefined ? { rotateBytes: opts.rotateBytes } : {}),
      ...(opts.rotateMs !== undefined ? { rotateMs: opts.rotateMs } : {}),
    });
    const cut = this.out.stats.tornBytesCut;
    if (cut > 0) opts.log?.warn({ sink: 'ndjson', path, bytes: cut }, 'cut a torn last line (left by a crash) before appending');
  }

  /** Bytes of a torn last line cut from the existing file at start. */
  get tornBytesCut(): number {
    return this.out.stats.tornBytesCut;
  }

  /** Files written to, in order (one unless rotating). */
  get files(): readonly string[] {
    return this.out.stats.files;
  }

  write(records: readonly OutputRecord[], emittedAtMonoMs?: number): void {
    if (records.length === 0 || this.out.failure !== null) return;
    this.written += records.length;
    const observer = this.onDelivered;
    // Delivered: the file stream wrote the chunk holding the batch.
    const onWritten = observer === undefined || emittedAtMonoMs === undefined ? undefined : () => observeDelivery(observer, emittedAtMonoMs);
    this.out.writeLines(
      recordsJson(records).map((json) => json + '\n'),
      onWritten,
    );
  }

  /** Writes any JSON-serialisable line (the replay summary, for example). */
  writeLine(value: unknown): void {
    if (this.out.failure === null) this.out.writeLines([JSON.stringify(value) + '\n']);
  }

  async flush(): Promise<void> {
    await this.out.drained();
  }

  async close(): Promise<void> {
    await this.out.close();
  }

  health(): SinkHealth {
    const failure = this.out.failure;
    return {
      buffered: this.out.bufferedBytes,
      capacity: this.capacityBytes,
      failed: failure !== null,
      ...(failure !== null ? { detail: failure.message } : {}),
    };
  }
}
