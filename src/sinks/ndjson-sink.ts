import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { once } from 'node:events';
import type { OutputRecord } from '../domain/index.js';
import type { Sink, SinkHealth } from './types.js';

/** Bytes the file stream may hold before the sink reports itself full. */
const DEFAULT_CAPACITY_BYTES = 16 * 1024 * 1024;

/**
 * Window results and alert transitions as NDJSON, one JSON object a line, in emission
 * order. The records are the public output format (README: "Output records").
 */
export class NdjsonSink implements Sink {
  readonly name = 'ndjson';
  private readonly stream: WriteStream;
  private error: Error | null = null;
  written = 0;

  constructor(
    readonly path: string,
    private readonly capacityBytes = DEFAULT_CAPACITY_BYTES,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.stream = createWriteStream(path, { flags: 'w' });
    this.stream.on('error', (err) => {
      this.error = err;
    });
  }

  write(records: readonly OutputRecord[]): void {
    if (records.length === 0 || this.error !== null) return;
    let chunk = '';
    for (const r of records) chunk += JSON.stringify(r) + '\n';
    this.written += records.length;
    this.stream.write(chunk);
  }

  /** Writes any JSON-serialisable line (the replay summary, for example). */
  writeLine(value: unknown): void {
    if (this.error === null) this.stream.write(JSON.stringify(value) + '\n');
  }

  async flush(): Promise<void> {
    if (this.stream.writableNeedDrain) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    if (this.stream.closed) return;
    const finished = once(this.stream, 'close');
    this.stream.end();
    await finished;
    if (this.error !== null) throw this.error;
  }

  health(): SinkHealth {
    return {
      buffered: this.stream.writableLength,
      capacity: this.capacityBytes,
      failed: this.error !== null,
      ...(this.error !== null ? { detail: this.error.message } : {}),
    };
  }
}
