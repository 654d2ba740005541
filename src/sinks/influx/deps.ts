/** What the InfluxDB sink is given, and the client it uses as its HTTP transport. */
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { HttpError, InfluxDB, type WriteApi } from '@influxdata/influxdb-client';
import type { Logger } from 'pino';
import { resolveSecret, type InfluxSinkConfig, type SecretEnv, type SecretFileReader } from '../../config/index.js';
import { headerText, type PingAnswer } from './server-check.js';

export interface InfluxSinkDeps {
  log: Logger;
  /** For the token's secret forms; defaults to process.env and readFileSync. */
  env?: SecretEnv;
  readFile?: SecretFileReader;
  /** Socket idle timeout of a request; a hung server is retried after it. Default 10s. */
  requestTimeoutMs?: number;
  /** Longest close() waits for delivery when the caller gives no deadline. Default 30s. */
  closeTimeoutMs?: number;
  /** Jitter source in [0, 1). Default Math.random. */
  random?: () => number;
  /** Called after each successful write request (for a latency histogram). */
  onWrite?: (latencyMs: number, points: number) => void;
  /** Replaces the client's write API (unit tests). */
  writeApi?: InfluxWriteTransport;
  /** Replaces `GET /ping` (unit tests). With `writeApi` and without this, the server is not checked. */
  ping?: () => Promise<PingAnswer>;
}

/** The part of the client's WriteApi the sink uses: hand over lines, send them, dispose. */
export type InfluxWriteTransport = Pick<WriteApi, 'writeRecords' | 'flush' | 'dispose'>;

/** The sink's connection to the server: writes, the version check, and teardown. */
export interface InfluxTransport {
  writeApi: InfluxWriteTransport;
  ping(): Promise<PingAnswer>;
  /** Disposes the write API and destroys every open socket: a request on the wire fails at once. */
  destroy(): void;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** The client's write API as a bare transport (no retries, no buffer, no timers of its own), on an agent the sink owns. */
export function clientTransport(cfg: InfluxSinkConfig, deps: InfluxSinkDeps): InfluxTransport {
  if (deps.writeApi !== undefined) {
    const writeApi = deps.writeApi;
    return { writeApi, ping: deps.ping ?? (() => Promise.resolve({ status: 204, version: null, build: null })), destroy: () => void writeApi.dispose() };
  }
  const token = cfg.token === undefined ? undefined : resolveSecret(cfg.token, deps.env ?? process.env, deps.readFile ?? ((p) => readFileSync(p, 'utf8')), 'sinks.influx.token');
  // Our own agent, so that close() can destroy a request hung on a server that never answers.
  const agent = cfg.url.startsWith('https:') ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const influx = new InfluxDB({
    url: cfg.url,
    ...(token !== undefined ? { token } : {}),
    timeout: deps.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    transportOptions: { agent },
  });
  const writeApi = influx.getWriteApi(cfg.org, cfg.bucket, cfg.precision, {
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
  const ping = async (): Promise<PingAnswer> => {
    let status: number | undefined;
    let headers: Record<string, string | string[] | undefined> = {};
    try {
      await influx.transport.request('/ping', '', { method: 'GET' }, (h, s) => {
        headers = h;
        status = s;
      });
    } catch (err: unknown) {
      // Any HTTP answer tells what the server is; only network and TLS errors are failures.
      if (!(err instanceof HttpError) && status === undefined) throw err;
    }
    return { status: status ?? 0, version: headerText(headers['x-influxdb-version']), build: headerText(headers['x-influxdb-build']) };
  };
  return {
    writeApi,
    ping,
    destroy: () => {
      writeApi.dispose();
      agent.destroy();
    },
  };
}
