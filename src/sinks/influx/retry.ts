/** How the InfluxDB sink treats a failed request: classify it, label it, and back off. */
import { HttpError, RequestTimedOutError } from '@influxdata/influxdb-client';
import type { InfluxRetryConfig } from '../../config/index.js';
import type { InfluxSinkError } from './stats.js';
import { errorText } from '../../telemetry/index.js';

/**
 * Node's codes for a TLS handshake that cannot succeed as configured: certificate
 * verification (OpenSSL's X509_V_ERR_* names), a host name the certificate does not cover,
 * and protocol mismatches (https:// to a plain HTTP port). Retrying does not fix these.
 */
const TLS_ERROR_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|HOSTNAME_MISMATCH$|EPROTO$)/;

/** The `code` of a Node system or TLS error, when there is one. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = (err as { code: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

export function isTlsError(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && TLS_ERROR_CODE.test(code);
}

/** The reason label of a failed request (headroom_sink_failures_total{reason}). */
export function failureReason(err: unknown): string {
  if (err instanceof HttpError) return `http_${err.statusCode}`;
  if (err instanceof RequestTimedOutError) return 'timeout';
  if (isTlsError(err)) return 'tls';
  return 'unreachable';
}

export type Failure =
  /** Timeouts, network errors (ECONNREFUSED, resets), 408, 425, 429, 5xx: retried with backoff. */
  | { kind: 'retry'; retryAfterMs: number }
  /**
   * Retrying the same request cannot help until an operator changes something: TLS
   * certificate or protocol errors, 401/403 (credentials), 404 (no such endpoint, org or
   * bucket), other 4xx. `reason` is one line: the problem and the fix.
   */
  | { kind: 'permanent'; reason: string }
  | { kind: 'reject'; reason: 'bad_point' | 'unprocessable' | 'too_large' };

export function classify(err: unknown): Failure {
  if (err instanceof HttpError) {
    const status = err.statusCode;
    const retryAfterMs = Math.max(0, err.retryAfter()) * 1000;
    if (status === 400) return { kind: 'reject', reason: 'bad_point' };
    if (status === 422) return { kind: 'reject', reason: 'unprocessable' };
    if (status === 413) return { kind: 'reject', reason: 'too_large' };
    if (status === 408 || status === 425 || status === 429 || status >= 500) return { kind: 'retry', retryAfterMs };
    if (status === 401 || status === 403) return { kind: 'permanent', reason: `InfluxDB refused the credentials (HTTP ${status}: ${errorText(err)}): check sinks.influx.token and its write permission on the bucket` };
    if (status === 404) {
      return { kind: 'permanent', reason: `InfluxDB answered 404 on /api/v2/write (HTTP 404: ${errorText(err)}): check sinks.influx.url (InfluxDB 1.8+, 2.x, 3.x or VictoriaMetrics), org and bucket` };
    }
    if (status >= 400) return { kind: 'permanent', reason: `InfluxDB refused the write (HTTP ${status}: ${errorText(err)}): check sinks.influx org, bucket and token` };
    return { kind: 'retry', retryAfterMs };
  }
  if (isTlsError(err)) {
    return { kind: 'permanent', reason: `TLS with InfluxDB failed (${errorCode(err) ?? 'tls'}: ${errorText(err)}): fix the server's certificate or trust its CA (NODE_EXTRA_CA_CERTS)` };
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
