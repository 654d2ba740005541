/**
 * InfluxDB v2 writer (`/api/v2/write`) that loses nothing it does not have to.
 *
 * Buffer and retry design (docs/outputs.md):
 * - Server check: before the first write, `GET /ping`. A version without `/api/v2/write`
 *   (InfluxDB 1.7 and older, e.g. Debian's 1.6) is a permanent failure, and `start()`
 *   rejects with InfluxServerUnsupportedError. An unreachable server: not ready
 *   (health().ready = false), points held, checked again with backoff.
 * - The sink keeps its own bounded FIFO of line-protocol lines. A line leaves the queue only
 *   when the request that carried it succeeded, or when the server rejected that one line
 *   permanently. The client's own retry buffer is not used (`maxRetries: 0`): it silently
 *   drops the oldest lines when `maxBufferLines` overflows, and it cannot report its fill
 *   level. The client is used as the HTTP transport only (auth, gzip, Retry-After parsing,
 *   request timeout), one request at a time, `flushInterval: 0` (the sink owns the timers).
 * - Batches: up to `batchSize` lines; a partial batch waits at most `flushIntervalMs`.
 * - Transient errors (network, ECONNREFUSED, request timeout, 408, 429, 5xx) are retried for as long as
 *   the sink runs: exponential backoff from `retry.minDelayMs` doubling to `retry.maxDelayMs`
 *   with equal jitter, or exactly the server's `Retry-After` when it sends one. Past
 *   `retry.maxRetries` consecutive failures the sink logs an error and keeps retrying at the
 *   capped delay: the points stay in the buffer, the buffer fills, and the pipeline pauses
 *   its sources (JetStream keeps the data) rather than dropping anything.
 * - Permanent failures: TLS certificate and protocol errors, 401, 403, 404 and other 4xx
 *   (credentials, org, bucket): health().failed = true with a one-line reason (so /readyz
 *   is 503), counted by reason (`tls`, `http_401`, …); the points are kept and retried at
 *   `retry.maxDelayMs` (an operator can fix the server side).
 * - 400 (bad point), 422 (unprocessable, e.g. outside retention), 413 (too large): the batch
 *   is bisected until the offending lines are isolated; each such line is dropped, counted
 *   by reason and logged with the server's message. The other lines are written (again:
 *   same series and timestamp overwrite, so a server that did a partial write is fine).
 * - `maxBufferedPoints` is the capacity reported by health(): at or above it the pipeline
 *   pauses. Records that still arrive are accepted up to twice the capacity (the output of
 *   batches already in flight through the core); beyond that they are dropped, counted
 *   as `buffer_full` and logged.
 * - `write()` only maps records to lines and appends them: it never waits for the network,
 *   so an InfluxDB outage cannot stall `/metrics`, NATS results or alerts.
 * - `close({ timeoutMs })` sends everything and waits; each remaining batch gets at most
 *   `retry.maxRetries` more attempts, and the whole close at most `timeoutMs` (the
 *   pipeline's stop budget; default `closeTimeoutMs`). What is left then is dropped as
 *   `shutdown`, counted and logged; a request still on the wire is aborted (the sink owns
 *   its HTTP agent). A sink that cannot write (permanent failure, server never reached)
 *   drops at once instead of waiting.
 */
export { INFLUX_DROP_REASONS, type InfluxDropReason, type InfluxSinkError, type InfluxSinkStats } from './stats.js';
export type { InfluxSinkDeps, InfluxWriteTransport } from './deps.js';
export { InfluxServerUnsupportedError, SUPPORTED_SERVERS, hasV2WriteApi, type PingAnswer } from './server-check.js';
export { InfluxSink } from './sink.js';
