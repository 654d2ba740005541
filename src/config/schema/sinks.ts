/** `deadLetter` and `sinks`: NDJSON, Prometheus metrics, InfluxDB, NATS results. */
import { z } from 'zod';
import { durationMs, sizeBytes } from '../units.js';
import { positive, secretSchema, strictObject, subjectPrefix } from './common.js';

// ---------------------------------------------------------------------------------------
// dead letters and sinks

export const deadLetterSchema = strictObject({
  /** Publish readings that fail validation. Default true. */
  enabled: z.boolean().default(true),
  /** Subject prefix: rejected messages go to `<prefix>.<site>`, the reason in the Headroom-Reason header. Default headroom.deadletter. */
  subjectPrefix: subjectPrefix.default('headroom.deadletter'),
});

const ndjsonRotateSchema = strictObject({
  /** Start a new file before the current one would grow past this size (bytes, or `64MiB`, `1GB`). Optional. */
  maxBytes: sizeBytes.optional(),
  /** Start a new file once the current one's first record is this old (`1h`, `1d`). Optional. */
  maxAge: durationMs.optional(),
})
  .superRefine((r, ctx) => {
    if (r.maxBytes === undefined && r.maxAge === undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'give maxBytes, maxAge or both' });
    if (r.maxBytes !== undefined && r.maxBytes <= 0) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['maxBytes'], message: 'must be greater than 0' });
    if (r.maxAge !== undefined && r.maxAge <= 0) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['maxAge'], message: 'must be greater than 0' });
  })
  .transform((r) => ({ maxBytes: r.maxBytes, maxAgeMs: r.maxAge }));

export const ndjsonSinkSchema = strictObject({
  /** Output file path. Default data/results.ndjson. */
  path: z.string().min(1).default('data/results.ndjson'),
  /** Also write per-meter window records. Default false. */
  meters: z.boolean().default(false),
  /** Empty the file at start. Default false: a restart appends (a line torn by a crash is cut first). */
  truncate: z.boolean().default(false),
  /** Rotate into numbered files (`results-000001.ndjson`, ...) by size and/or age. Absent: one file. */
  rotate: ndjsonRotateSchema.optional(),
});

const LISTEN_RE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]*):(\d{1,5})$/;

/** `host:port`, `[::1]:port`, `:port` → host ('' = all interfaces) and port; null when it is none of these. The one host:port check (config and CLI). */
export function parseListenAddress(text: string): { host: string; port: number } | null {
  const m = LISTEN_RE.exec(text);
  if (m === null || Number(m[2]) > 65535) return null;
  return { host: (m[1] ?? '').replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

export const metricsSinkSchema = strictObject({
  /** host:port of the /metrics endpoint. Default 127.0.0.1:9464. */
  listen: z
    .string()
    .default('127.0.0.1:9464')
    .superRefine((v, ctx) => {
      if (parseListenAddress(v) === null) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected host:port, got '${v}'` });
    }),
  /** Window sizes exported; each must be a pipeline window. Default: all pipeline windows. */
  windows: z.array(durationMs).min(1).optional(),
  /** Deepest tree level exported (0 = site roots only). Default 10. */
  maxDepth: z.number().int().min(0).default(10),
}).transform((m) => {
  const address = parseListenAddress(m.listen);
  return {
    listen: m.listen,
    /** Host part of `listen` ('' = all interfaces). */
    host: address?.host ?? '',
    port: address?.port ?? 0,
    windowsMs: m.windows,
    maxDepth: m.maxDepth,
  };
});

const influxRetrySchema = strictObject({
  /** Attempts after the first failure. Default 10. */
  maxRetries: z.number().int().min(0).default(10),
  /** First backoff delay. Default 500ms. */
  minDelay: durationMs.default('500ms'),
  /** Backoff cap. Default 30s. */
  maxDelay: durationMs.default('30s'),
})
  .superRefine((r, ctx) => {
    if (r.minDelay > r.maxDelay) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['minDelay'], message: 'minDelay must not exceed maxDelay' });
  })
  .transform((r) => ({ maxRetries: r.maxRetries, minDelayMs: r.minDelay, maxDelayMs: r.maxDelay }));

export const influxSinkSchema = strictObject({
  /** InfluxDB v2 write API base URL (http or https). Required. */
  url: z.string().url().regex(/^https?:\/\//, { message: 'expected an http:// or https:// URL' }),
  /** Organisation. Required. */
  org: z.string().min(1),
  /** Bucket. Required. */
  bucket: z.string().min(1),
  /** API token (secret form). Optional. */
  token: secretSchema.optional(),
  /** Timestamp precision of written points. Default ms. */
  precision: z.enum(['ns', 'us', 'ms', 's']).default('ms'),
  /** Points per write request. Default 5000. */
  batchSize: z.number().int().positive().default(5000),
  /** Longest a partial batch waits. Default 1s. */
  flushInterval: positive(durationMs, 'flushInterval').default('1s'),
  /** Buffer bound; when full the pipeline pauses its sources. Default 100000. */
  maxBufferedPoints: z.number().int().positive().default(100_000),
  /** Retry with exponential backoff. */
  retry: influxRetrySchema.default({}),
})
  .superRefine((c, ctx) => {
    if (c.maxBufferedPoints < c.batchSize) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['maxBufferedPoints'], message: 'maxBufferedPoints must be at least batchSize' });
    }
  })
  .transform((c) => ({
    url: c.url,
    org: c.org,
    bucket: c.bucket,
    token: c.token,
    precision: c.precision,
    batchSize: c.batchSize,
    flushIntervalMs: c.flushInterval,
    maxBufferedPoints: c.maxBufferedPoints,
    retry: c.retry,
  }));

export const natsResultsSinkSchema = strictObject({
  /** Publish window results and alert transitions on NATS. Default false. */
  enabled: z.boolean().default(false),
  /** Results go to `<resultsPrefix>.<site>`. Default headroom.results. */
  resultsPrefix: subjectPrefix.default('headroom.results'),
  /** Alert transitions go to `<alertsPrefix>.<site>`. Default headroom.alerts. */
  alertsPrefix: subjectPrefix.default('headroom.alerts'),
});

export const sinksSchema = strictObject({
  /** NDJSON file of every output record. Absent: off. */
  ndjson: ndjsonSinkSchema.optional(),
  /** Prometheus /metrics endpoint. Absent: off. */
  metrics: metricsSinkSchema.optional(),
  /** InfluxDB v2 writer. Absent: off. */
  influx: influxSinkSchema.optional(),
  /** NATS results and alerts. Default disabled. */
  natsResults: natsResultsSinkSchema.default({}),
});
