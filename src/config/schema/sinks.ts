/** `deadLetter` and `sinks`: NDJSON, Prometheus metrics, InfluxDB, NATS results. */
import { z } from 'zod';
import { durationMs, sizeBytes } from '../units.js';
import { positive, secretSchema, strictObject, subjectPrefix } from './common.js';

// ---------------------------------------------------------------------------------------
// dead letters and sinks

export const deadLetterSchema = strictObject({
  enabled: z.boolean().default(true).describe('Publish readings that fail validation. Default true.'),
  subjectPrefix: subjectPrefix.default('headroom.deadletter').describe('Subject prefix: rejected messages go to `<prefix>.<site>`, the reason in the Headroom-Reason header. Default headroom.deadletter.'),
});

const ndjsonRotateSchema = strictObject({
  maxBytes: sizeBytes.optional().describe('Start a new file before the current one would grow past this size (bytes, or `64MiB`, `1GB`). Optional.'),
  maxAge: durationMs.optional().describe('Start a new file once the current one\'s first record is this old (`1h`, `1d`). Optional.'),
})
  .superRefine((r, ctx) => {
    if (r.maxBytes === undefined && r.maxAge === undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'give maxBytes, maxAge or both' });
    if (r.maxBytes !== undefined && r.maxBytes <= 0) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['maxBytes'], message: 'must be greater than 0' });
    if (r.maxAge !== undefined && r.maxAge <= 0) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['maxAge'], message: 'must be greater than 0' });
  })
  .transform((r) => ({ maxBytes: r.maxBytes, maxAgeMs: r.maxAge }));

export const ndjsonSinkSchema = strictObject({
  path: z.string().min(1).default('data/results.ndjson').describe('Output file path. Default data/results.ndjson.'),
  meters: z.boolean().default(false).describe('Also write per-meter window records. Default false.'),
  truncate: z.boolean().default(false).describe('Empty the file at start. Default false: a restart appends (a line torn by a crash is cut first).'),
  rotate: ndjsonRotateSchema.optional().describe('Rotate into numbered files (`results-000001.ndjson`, ...) by size and/or age. Absent: one file.'),
});

const LISTEN_RE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]*):(\d{1,5})$/;

/** `host:port`, `[::1]:port`, `:port` → host ('' = all interfaces) and port; null when it is none of these. The one host:port check (config and CLI). */
export function parseListenAddress(text: string): { host: string; port: number } | null {
  const m = LISTEN_RE.exec(text);
  if (m === null || Number(m[2]) > 65535) return null;
  return { host: (m[1] ?? '').replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

export const metricsSinkSchema = strictObject({
  listen: z
    .string()
    .default('127.0.0.1:9464')
    .superRefine((v, ctx) => {
      if (parseListenAddress(v) === null) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected host:port, got '${v}'` });
    }).describe('host:port of the /metrics endpoint. Default 127.0.0.1:9464.'),
  windows: z.array(durationMs).min(1).optional().describe('Window sizes exported; each must be a pipeline window. Default: one window, the smallest pipeline window of 1m or longer (else the smallest). Each window adds every node and site series again.'),
  levels: z.array(z.string().min(1)).min(1).optional().describe('Node levels exported (e.g. [grid, switchgear, ups, pdu]); each must be a level of some node. Default (without maxDepth): every level but the rack rows, levels whose nodes all are leaves under a `role: it` node (in a site without one, any non-root leaf); racks at scale belong in InfluxDB.'),
  maxDepth: z.number().int().min(0).optional().describe('Deepest tree level exported (0 = site roots only). Default: no depth limit. Giving maxDepth without levels exports every level down to it, the leaf levels too.'),
}).transform((m) => {
  const address = parseListenAddress(m.listen);
  return {
    listen: m.listen,
    /** Host part of `listen` ('' = all interfaces). */
    host: address?.host ?? '',
    port: address?.port ?? 0,
    windowsMs: m.windows,
    levels: m.levels,
    maxDepth: m.maxDepth,
  };
});

/** Minimum length of the window exported by default: shorter windows triple the series of a 10s one for little. */
const DEFAULT_METRICS_WINDOW_MIN_MS = 60_000;

/** `sinks.metrics.windows` by default: the smallest pipeline window of 1m or longer, else the smallest. */
export function defaultMetricsWindowsMs(pipelineWindowsMs: readonly number[]): number[] {
  const sorted = [...pipelineWindowsMs].sort((a, b) => a - b);
  const chosen = sorted.find((ms) => ms >= DEFAULT_METRICS_WINDOW_MIN_MS) ?? sorted[0];
  return chosen === undefined ? [] : [chosen];
}

const influxRetrySchema = strictObject({
  maxRetries: z.number().int().min(0).default(10).describe('Attempts after the first failure. Default 10.'),
  minDelay: durationMs.default('500ms').describe('First backoff delay. Default 500ms.'),
  maxDelay: durationMs.default('30s').describe('Backoff cap. Default 30s.'),
})
  .superRefine((r, ctx) => {
    if (r.minDelay > r.maxDelay) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['minDelay'], message: 'minDelay must not exceed maxDelay' });
  })
  .transform((r) => ({ maxRetries: r.maxRetries, minDelayMs: r.minDelay, maxDelayMs: r.maxDelay }));

export const influxSinkSchema = strictObject({
  url: z.string().url().regex(/^https?:\/\//, { message: 'expected an http:// or https:// URL' }).describe('InfluxDB v2 write API base URL (http or https). Required.'),
  org: z.string().min(1).describe('Organisation. Required.'),
  bucket: z.string().min(1).describe('Bucket. Required.'),
  token: secretSchema.optional().describe('API token (secret form). Optional.'),
  precision: z.enum(['ns', 'us', 'ms', 's']).default('ms').describe('Timestamp precision of written points. Default ms.'),
  batchSize: z.number().int().positive().default(5000).describe('Points per write request. Default 5000.'),
  flushInterval: positive(durationMs, 'flushInterval').default('1s').describe('Longest a partial batch waits. Default 1s.'),
  maxBufferedPoints: z.number().int().positive().default(100_000).describe('Buffer bound; when full the pipeline pauses its sources. Default 100000.'),
  retry: influxRetrySchema.default({}).describe('Retry with exponential backoff.'),
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
  enabled: z.boolean().default(false).describe('Publish window results and alert transitions on NATS. Default false.'),
  resultsPrefix: subjectPrefix.default('headroom.results').describe('Results go to `<resultsPrefix>.<site>`. Default headroom.results.'),
  alertsPrefix: subjectPrefix.default('headroom.alerts').describe('Alert transitions go to `<alertsPrefix>.<site>`. Default headroom.alerts.'),
});

export const sinksSchema = strictObject({
  ndjson: ndjsonSinkSchema.optional().describe('NDJSON file of every output record. Absent: off.'),
  metrics: metricsSinkSchema.optional().describe('Prometheus /metrics endpoint. Absent: off.'),
  influx: influxSinkSchema.optional().describe('InfluxDB v2 writer. Absent: off.'),
  natsResults: natsResultsSinkSchema.default({}).describe('NATS results and alerts. Default disabled.'),
});
