/** How the InfluxDB sink treats a failed write request: classify it, label it, and back off. */
import { HttpError, RequestTimedOutError } from '@influxdata/influxdb-client';
import type { InfluxRetryConfig } from '../../config/index.js';
import type { InfluxSinkError } from './stats.js';
import { errorText } from '../../telemetry/index.js';

/** The reason label of a failed write request. */
export function failureReason(err: unknown): string {
  if (err instanceof HttpError) return `http_${err.statusCode}`;
  if (err instanceof RequestTimedOutError) return 'timeout';
  return 'unreachable';
}

export type Failure =
  | { kind: 'retry'; retryAfterMs: number }
  | { kind: 'config' }
  | { kind: 'reject'; reason: 'bad_point' | 'unprocessable' | 'too_large' };

export function classify(err: unknown): Failure {
  if (err instanceof HttpError) {
    const status = err.statusCode;
    const retryAfterMs = Math.max(0, err.retryAfter()) * 1000;
    if (status === 400) return { kind: 'reject', reason: 'bad_point' };
    if (status === 422) return { kind: 'reject', reason: 'unprocessable' };
    if (status === 413) return { kind: 'reject', reason: 'too_large' };
    if (status === 408 || status === 425 || status === 429 || status >= 500) return { kind: 'retry', retryAfterMs };
    if (status >= 400) return { kind: 'config' };
    return { kind: 'retry', retryAfterMs };
  }
  return { kind: 'retry', retryAfterMs: 0 };
}

export function errorInfo(err: unknown, atMs: number): InfluxSinkError {
  const message = errorText(err);
  return err instanceof HttpError ? { message, status: err.statusCode, atMs } : { message, atMs };
}

/** Exponential backoff with equal jitter: half the capped delay fixed, half random. */
export function backoffMs(attempt: number, retry: Pick<InfluxRetryConfig, 'minDelayMs' | 'maxDelayMs'>, random: () => number): number {
  const { minDelayMs, maxDelayMs } = retry;
  const capped = Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(attempt - 1, 52));
  return Math.round(capped / 2 + random() * (capped / 2));
}
