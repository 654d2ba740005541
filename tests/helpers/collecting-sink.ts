import type { OutputRecord } from '../../src/domain/index.js';
import type { Sink, SinkHealth } from '../../src/sinks/index.js';

/** A sink that keeps everything it is given, in order (a real Sink, in memory). */
export class CollectingSink implements Sink {
  readonly name: string;
  readonly records: OutputRecord[] = [];

  constructor(name = 'collect') {
    this.name = name;
  }

  write(records: readonly OutputRecord[]): void {
    this.records.push(...records);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  health(): SinkHealth {
    return { buffered: 0, capacity: 1, failed: false };
  }
}
