import type { AlertEngine } from '../../src/core/alerts/index.js';
import type { AlertEvent, OutputRecord, WindowResult } from '../../src/domain/index.js';
import type { Sink, SinkHealth } from '../../src/sinks/index.js';

/**
 * A sink that keeps everything it is given, in order (a real Sink, in memory). Its buffer level
 * is whatever the test sets (`buffered`, `capacity`, `failed`), so a test can apply backpressure
 * or report a failed sink; `closed` tells whether the pipeline closed it.
 */
export class CollectingSink implements Sink {
  readonly name: string;
  readonly records: OutputRecord[] = [];
  buffered = 0;
  capacity: number;
  failed = false;
  closed = false;

  constructor(name = 'collect', capacity = 1) {
    this.name = name;
    this.capacity = capacity;
  }

  write(records: readonly OutputRecord[]): void {
    this.records.push(...records);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  health(): SinkHealth {
    return { buffered: this.buffered, capacity: this.capacity, failed: this.failed };
  }
}

/** Hands each batch of window results to the alert engine, as the pipeline does; keeps both. */
export class AlertingSink extends CollectingSink {
  readonly windows: WindowResult[] = [];
  readonly alerts: AlertEvent[] = [];

  constructor(private readonly engine: AlertEngine) {
    super('alerting');
  }

  override write(records: readonly OutputRecord[]): void {
    super.write(records);
    const results = records.filter((r): r is WindowResult => r.type !== 'alert');
    this.windows.push(...results);
    this.alerts.push(...this.engine.evaluate(results));
  }
}
