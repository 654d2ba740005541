/** What the InfluxDB sink is given, and the client's write API it uses as its HTTP transport. */
import { readFileSync } from 'node:fs';
import { InfluxDB, type WriteApi } from '@influxdata/influxdb-client';
import type { Logger } from 'pino';
import { resolveSecret, type InfluxSinkConfig, type SecretEnv, type SecretFileReader } from '../../config/index.js';

export interface InfluxSinkDeps {
  log: Logger;
  /** For the token's secret forms; defaults to process.env and readFileSync. */
  env?: SecretEnv;
  readFile?: SecretFileReader;
  /** Socket idle timeout of a write request; a hung server is retried after it. Default 10s. */
  requestTimeoutMs?: number;
  /** Longest close() waits for delivery before dropping the rest as `shutdown`. Default 30s. */
  closeTimeoutMs?: number;
  /** Jitter source in [0, 1). Default Math.random. */
  random?: () => number;
  /** Called after each successful write request (for a latency histogram). */
  onWrite?: (latencyMs: number, points: number) => void;
  /** Replaces the client's write API (unit tests). */
  writeApi?: InfluxWriteTransport;
}

/** The part of the client's WriteApi the sink uses: hand over lines, send them, dispose. */
export type InfluxWriteTransport = Pick<WriteApi, 'writeRecords' | 'flush' | 'dispose'>;

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** The client's write API as a bare transport: no retries, no buffer, no timers of its own. */
export function clientWriteApi(cfg: InfluxSinkConfig, deps: InfluxSinkDeps): WriteApi {
  const token = cfg.token === undefined ? undefined : resolveSecret(cfg.token, deps.env ?? process.env, deps.readFile ?? ((p) => readFileSync(p, 'utf8')), 'sinks.influx.token');
  const influx = new InfluxDB({
    url: cfg.url,
    ...(token !== undefined ? { token } : {}),
    timeout: deps.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
  });
  return influx.getWriteApi(cfg.org, cfg.bucket, cfg.precision, {
    // One request per flush() with exactly the lines handed over: never an automatic send.
    batchSize: cfg.batchSize + 1,
    maxBatchBytes: Number.POSITIVE_INFINITY,
    flushInterval: 0,
    // The client's retry buffer stays unused; failures come back to this sink.
    maxRetries: 0,
    maxRetryTime: Number.MAX_SAFE_INTEGER,
    maxBufferLines: cfg.batchSize + 1,
    writeFailed: (error: Error) => Promise.reject(error),
  });
}
