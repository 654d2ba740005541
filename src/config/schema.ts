/**
 * The configuration schema: the one source of truth for what a config file may contain.
 *
 * Every object is strict (unknown keys are errors, with a suggestion when the key looks
 * like a known one). Values take human units in the file; the parsed result carries base
 * units with the unit in the name: a duration key `x` becomes `xMs`, a power key `x`
 * becomes `xWatts` (`windows: [10s]` → `windowsMs: [10000]`, `rating: 2MW` →
 * `ratingWatts: 2000000`). Cross-field rules run in a refinement and report every problem.
 */
import { z } from 'zod';
import type { EngineSettings, GridMeterSpec, NodeSpec, SiteSpec, Topology } from '../domain/index.js';
import type { AlertsConfig } from '../core/alerts/index.js';
import { alertsSectionSchema, checkAlerts, resolveAlerts } from './alerts-schema.js';
import { checkTopologyRules } from './topology-rules.js';
import { durationMs, formatDurationMs, powerWatts, sizeBytes } from './units.js';

// ---------------------------------------------------------------------------------------
// Building blocks

const UNIT_SUFFIXES = ['Ms', 'Watts', 'Bytes', 'Seconds', 'Hz', 'W'];

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j] ?? 0;
      row[j] = Math.min(up + 1, (row[j - 1] ?? 0) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length] ?? 0;
}

/** `unknown key 'ratingWatts' (did you mean 'rating'? values take units, e.g. 2MW)`. */
export function unknownKeyMessage(key: string, knownKeys: readonly string[]): string {
  for (const known of knownKeys) {
    if (key.startsWith(known) && UNIT_SUFFIXES.includes(key.slice(known.length))) {
      return `unknown key '${key}' (did you mean '${known}'? values take units, e.g. 10s or 2MW)`;
    }
  }
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const known of knownKeys) {
    const d = editDistance(key.toLowerCase(), known.toLowerCase());
    if (d < bestDistance) {
      best = known;
      bestDistance = d;
    }
  }
  if (best !== undefined && bestDistance <= Math.max(1, Math.floor(key.length / 4))) {
    return `unknown key '${key}' (did you mean '${best}'?)`;
  }
  return `unknown key '${key}'`;
}

/** Separator between the per-key messages of one unrecognized_keys issue. */
export const UNKNOWN_KEYS_SEPARATOR = '; ';

/** z.object(shape).strict() whose unknown-key message names each key with a suggestion. */
function strictObject<T extends z.ZodRawShape>(shape: T) {
  const known = Object.keys(shape);
  return z
    .object(shape, {
      errorMap: (issue, ctx) =>
        issue.code === z.ZodIssueCode.unrecognized_keys
          ? { message: issue.keys.map((k) => unknownKeyMessage(k, known)).join(UNKNOWN_KEYS_SEPARATOR) }
          : { message: ctx.defaultError },
    })
    .strict();
}

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
/** Site, node and meter ids: `[A-Za-z0-9_-]{1,64}`. */
const id = z.string().regex(ID_RE, { message: 'must match [A-Za-z0-9_-]{1,64}' });

const SUBJECT_RE = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;
/** NATS subject prefix: dot-separated tokens, no wildcards. */
const subjectPrefix = z.string().regex(SUBJECT_RE, { message: 'must be dot-separated tokens of [A-Za-z0-9_-] (no wildcards)' });

type UnitSchema = typeof durationMs;

function positive(schema: UnitSchema, what: string) {
  return schema.refine((v) => typeof v !== 'number' || v > 0, { message: `${what} must be greater than 0` });
}

/** A duration that is a whole number of seconds, at least 1 s. */
const wholeSecondsMs = durationMs.superRefine((ms, ctx) => {
  // A failed unit parse leaves no number behind; its own issue is already reported.
  if (typeof ms !== 'number') return;
  if (ms < 1000) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${formatDurationMs(ms)} is shorter than 1s` });
  else if (ms % 1000 !== 0) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${formatDurationMs(ms)} is not a whole number of seconds` });
});

const fraction = z.number().min(0).max(1);

/**
 * A secret: a literal string, `{ env: VAR }` (read from the environment) or `{ file: path }`
 * (the file's contents, trailing newline removed). Resolved by `resolveSecret` at start-up,
 * never at parse time, so a parsed config never holds a value it did not have to.
 */
export const secretSchema = z.union(
  [z.string().min(1), strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/) }), strictObject({ file: z.string().min(1) })],
  {
    errorMap: (issue, ctx) =>
      issue.code === z.ZodIssueCode.invalid_union
        ? { message: 'expected a string, { env: VAR_NAME } or { file: path }' }
        : { message: ctx.defaultError },
  },
);

// ---------------------------------------------------------------------------------------
// pipeline → EngineSettings

const pipelineSchema = strictObject({
  /** Tumbling window sizes; each a whole number of seconds, >= 1s, no duplicates. Default [10s, 1m, 15m]. Sorted ascending. */
  windows: z.array(wholeSecondsMs).min(1).default(['10s', '1m', '15m']),
  /** Watermark lag behind the largest event time seen. Default 2s. */
  maxOutOfOrder: durationMs.default('2s'),
  /** How long an emitted window still accepts late readings (re-emitted with revision + 1). Default 10s. */
  allowedLateness: durationMs.default('10s'),
  /** Longest a reading holds its value; after that the meter is stale. Default 5s. */
  maxHold: positive(durationMs, 'maxHold').default('5s'),
  /** A partition quiet this long (processing time) advances on the processing clock. Default 30s. */
  idleTimeout: positive(durationMs, 'idleTimeout').default('30s'),
  /** Readings further ahead of the processing clock are rejected as from the future. Default 5m. */
  maxClockSkew: durationMs.default('5m'),
  /** Below this share of reporting meters a node's headroom is uncertain (0..1). Default 0.9. */
  completenessThreshold: fraction.default(0.9),
  /** Recent windows in the least-squares time-to-breach trend (>= 2). Default 6. */
  trendWindows: z.number().int().min(2).default(6),
  /**
   * The watermark follows the k-th most advanced meter clock among recently active meters,
   * so k - 1 meters with clocks running ahead cannot make a site late. Default 3.
   */
  watermarkQuorum: z.number().int().min(1).default(3),
})
  .superRefine((p, ctx) => {
    const seen = new Map<number, number>();
    p.windows.forEach((ms, i) => {
      const first = seen.get(ms);
      if (first !== undefined) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['windows', i], message: `duplicate window ${formatDurationMs(ms)} (first at windows[${first}])` });
      } else seen.set(ms, i);
    });
  })
  .transform(
    (p): EngineSettings => ({
      windowsMs: [...p.windows].sort((a, b) => a - b),
      maxOutOfOrderMs: p.maxOutOfOrder,
      allowedLatenessMs: p.allowedLateness,
      maxHoldMs: p.maxHold,
      idleTimeoutMs: p.idleTimeout,
      maxClockSkewMs: p.maxClockSkew,
      completenessThreshold: p.completenessThreshold,
      trendWindows: p.trendWindows,
      watermarkQuorum: p.watermarkQuorum,
    }),
  );

// ---------------------------------------------------------------------------------------
// sites → Topology

const nodeSchema = strictObject({
  /** Node id, unique within the site. */
  id,
  /** Parent node id; absent (or null) for a root. */
  parent: id.nullable().optional(),
  /** Free text: grid, switchgear, ups, pdu, busway, rack, circuit, cooling, hall, ... */
  level: z.string().min(1).max(64),
  /** `facility` (total intake, at most one per site) or `it` (IT load), for PUE. Optional. */
  role: z.enum(['facility', 'it']).optional(),
  /** Nameplate or breaker rating: power (`2MW`, `400kW`, number = watts), > 0. Required. */
  rating: positive(powerWatts, 'rating'),
  /** Usable fraction of the rating, 0 < derate <= 1. Default 0.8 (continuous-load rule). */
  derate: z
    .number()
    .gt(0, { message: 'derate must be greater than 0' })
    .max(1, { message: 'derate must be at most 1' })
    .default(0.8),
  /** Meters whose power sums to this node's load. Default []: the load is the children's sum. */
  meters: z.array(id).default([]),
  /** The other node of a redundant pair (A/B feeds, 2N); must name this node back. Optional. */
  redundantWith: id.optional(),
  /** `n+1`: this node's children (at least 2) form an N+1 group. Optional. */
  redundancy: z.literal('n+1').optional(),
}).transform((n): NodeSpec => {
  const spec: NodeSpec = {
    id: n.id,
    parent: n.parent ?? null,
    level: n.level,
    ratingWatts: n.rating,
    derate: n.derate,
    meters: n.meters,
  };
  if (n.role !== undefined) spec.role = n.role;
  if (n.redundantWith !== undefined) spec.redundantWith = n.redundantWith;
  if (n.redundancy !== undefined) spec.redundancy = n.redundancy;
  return spec;
});

const gridMeterSchema = strictObject({
  /** Meter id of the grid sensor; shares the site's meter namespace. */
  id,
  /** Signals this sensor reports: hertz, volts, price, carbon. At least one. */
  signals: z.array(z.enum(['hertz', 'volts', 'price', 'carbon'])).min(1),
}).transform((g): GridMeterSpec => ({ id: g.id, signals: [...new Set(g.signals)] }));

const siteSchema = strictObject({
  /** Site id, unique in the file. */
  id,
  /** Interconnect capacity agreed with the utility (power, > 0). Optional. */
  contract: positive(powerWatts, 'contract').optional(),
  /** Nominal grid frequency, 50 or 60 Hz. Default 60. */
  nominalHertz: z
    .union([z.literal(50), z.literal(60)], { errorMap: () => ({ message: 'expected 50 or 60' }) })
    .default(60),
  /** Peak demand billing period. Only `month` (calendar month, UTC). Default month. */
  billingPeriod: z.literal('month').default('month'),
  /** Demand interval of the utility's peak demand charge; whole seconds. Default 15m. */
  demandInterval: wholeSecondsMs.default('15m'),
  /** Grid-side sensors (frequency, voltage, price, carbon). Default []. */
  gridMeters: z.array(gridMeterSchema).default([]),
  /** The electrical tree, at least one node. */
  nodes: z.array(nodeSchema).min(1),
}).transform((s): SiteSpec => {
  const spec: SiteSpec = {
    id: s.id,
    nominalHertz: s.nominalHertz,
    billingPeriod: s.billingPeriod,
    demandIntervalMs: s.demandInterval,
    nodes: s.nodes,
    gridMeters: s.gridMeters,
  };
  if (s.contract !== undefined) spec.contractWatts = s.contract;
  return spec;
});

// ---------------------------------------------------------------------------------------
// source

const sourceCommon = {
  /** Readings arrive on `<subjectPrefix>.<site>.<source>`. Default telemetry. */
  subjectPrefix: subjectPrefix.default('telemetry'),
  /** Only these sites are consumed (must be configured sites). Default: all. */
  sites: z.array(id).min(1).optional(),
  /** Messages larger than this are rejected (size: bytes or `1MiB`). Default 1048576. */
  maxMessageBytes: positive(sizeBytes, 'maxMessageBytes').default(1_048_576),
};

const streamSchema = strictObject({
  /** JetStream stream name. Default TELEMETRY. */
  name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).default('TELEMETRY'),
  /** Subjects the stream captures. Default [`<subjectPrefix>.>`]. */
  subjects: z.array(z.string().min(1)).min(1).optional(),
  /** Retention by age (0 = unlimited). Default 7d. */
  maxAge: durationMs.default('7d'),
  /** Retention by size (bytes or `10GB`). Default: unlimited. */
  maxBytes: positive(sizeBytes, 'maxBytes').optional(),
  /** Stream replicas, 1..5. Default 1. */
  replicas: z.number().int().min(1).max(5).default(1),
  /** Storage backend. Default file. */
  storage: z.enum(['file', 'memory']).default('file'),
}).transform((s) => ({
  name: s.name,
  subjects: s.subjects,
  maxAgeMs: s.maxAge,
  maxBytes: s.maxBytes,
  replicas: s.replicas,
  storage: s.storage,
}));

const consumerSchema = strictObject({
  /** Durable consumer name shared by the workers. Default headroom. */
  durable: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).default('headroom'),
  /** Unacknowledged messages in flight at most. Default 10000. */
  maxAckPending: z.number().int().positive().default(10_000),
  /** Messages per pull. Default 500. */
  batch: z.number().int().positive().default(500),
  /** How long a pull waits for messages. Default 5s. */
  expires: positive(durationMs, 'expires').default('5s'),
  /** Redelivery after this long without an ack. Default 30s. */
  ackWait: positive(durationMs, 'ackWait').default('30s'),
}).transform((c) => ({
  durable: c.durable,
  maxAckPending: c.maxAckPending,
  batch: c.batch,
  expiresMs: c.expires,
  ackWaitMs: c.ackWait,
}));

const sourceSchema = z
  .discriminatedUnion('kind', [
    /** In-process bus (the embedded default, tests). */
    strictObject({ kind: z.literal('memory'), ...sourceCommon }),
    /** Core NATS subscription: at-most-once, lowest latency. */
    strictObject({ kind: z.literal('nats'), ...sourceCommon }),
    /** JetStream durable pull consumer: at-least-once, replayable. */
    strictObject({
      kind: z.literal('jetstream'),
      ...sourceCommon,
      /** Stream settings (created or updated at start-up). */
      stream: streamSchema.default({}),
      /** Durable consumer settings. */
      consumer: consumerSchema.default({}),
    }),
  ])
  .transform((s) =>
    s.kind === 'jetstream'
      ? { ...s, stream: { ...s.stream, subjects: s.stream.subjects ?? [`${s.subjectPrefix}.>`] } }
      : s,
  );

// ---------------------------------------------------------------------------------------
// nats connection

const natsSchema = strictObject({
  /** Server URLs. Default [nats://127.0.0.1:4222]. */
  servers: z.array(z.string().regex(/^(nats|tls|ws|wss):\/\/\S+$|^[^\s:/]+:\d+$/, { message: 'expected nats://host:port (or tls://, ws://, wss://, host:port)' })).min(1).default(['nats://127.0.0.1:4222']),
  /** User name (secret form). */
  user: secretSchema.optional(),
  /** Password (secret form). */
  password: secretSchema.optional(),
  /** Token (secret form). */
  token: secretSchema.optional(),
  /** NKey seed (secret form). */
  nkeySeed: secretSchema.optional(),
  /** Path of a `.creds` file (secret form; resolves to the path). */
  credsFile: secretSchema.optional(),
  /** TLS file paths: ca, cert, key. */
  tls: strictObject({ ca: z.string().min(1).optional(), cert: z.string().min(1).optional(), key: z.string().min(1).optional() }).optional(),
  /** Connection name shown by the server. Default headroom. */
  name: z.string().min(1).default('headroom'),
}).superRefine((n, ctx) => {
  if ((n.user === undefined) !== (n.password === undefined)) {
    const missing = n.user === undefined ? 'user' : 'password';
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: [missing], message: 'user and password must be given together' });
  }
  if (n.tls !== undefined && (n.tls.cert === undefined) !== (n.tls.key === undefined)) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['tls'], message: 'tls.cert and tls.key must be given together' });
  }
});

// ---------------------------------------------------------------------------------------
// dead letters and sinks

const deadLetterSchema = strictObject({
  /** Publish readings that fail validation. Default true. */
  enabled: z.boolean().default(true),
  /** Subject prefix: rejected messages go to `<prefix>.<site>`, the reason in the Headroom-Reason header. Default headroom.deadletter. */
  subjectPrefix: subjectPrefix.default('headroom.deadletter'),
});

const ndjsonSinkSchema = strictObject({
  /** Output file path. Default data/results.ndjson. */
  path: z.string().min(1).default('data/results.ndjson'),
  /** Also write per-meter window records. Default false. */
  meters: z.boolean().default(false),
});

const LISTEN_RE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]*):(\d{1,5})$/;

const metricsSinkSchema = strictObject({
  /** host:port of the /metrics endpoint. Default 127.0.0.1:9464. */
  listen: z
    .string()
    .default('127.0.0.1:9464')
    .superRefine((v, ctx) => {
      const m = LISTEN_RE.exec(v);
      if (m === null || Number(m[2]) > 65535) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected host:port, got '${v}'` });
    }),
  /** Window sizes exported; each must be a pipeline window. Default: all pipeline windows. */
  windows: z.array(durationMs).min(1).optional(),
  /** Deepest tree level exported (0 = site roots only). Default 10. */
  maxDepth: z.number().int().min(0).default(10),
}).transform((m) => {
  const match = LISTEN_RE.exec(m.listen);
  const host = (match?.[1] ?? '').replace(/^\[|\]$/g, '');
  return {
    listen: m.listen,
    /** Host part of `listen` ('' = all interfaces). */
    host,
    port: Number(match?.[2] ?? 0),
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

const influxSinkSchema = strictObject({
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

const natsResultsSinkSchema = strictObject({
  /** Publish window results and alert transitions on NATS. Default false. */
  enabled: z.boolean().default(false),
  /** Results go to `<resultsPrefix>.<site>`. Default headroom.results. */
  resultsPrefix: subjectPrefix.default('headroom.results'),
  /** Alert transitions go to `<alertsPrefix>.<site>`. Default headroom.alerts. */
  alertsPrefix: subjectPrefix.default('headroom.alerts'),
});

const sinksSchema = strictObject({
  /** NDJSON file of every output record. Absent: off. */
  ndjson: ndjsonSinkSchema.optional(),
  /** Prometheus /metrics endpoint. Absent: off. */
  metrics: metricsSinkSchema.optional(),
  /** InfluxDB v2 writer. Absent: off. */
  influx: influxSinkSchema.optional(),
  /** NATS results and alerts. Default disabled. */
  natsResults: natsResultsSinkSchema.default({}),
});

// ---------------------------------------------------------------------------------------
// simulator

const probability = fraction;

const faultsSchema = strictObject({
  /** Per reading: the meter skips it. Default 0.001. */
  dropout: probability.default(0.001),
  /** Per reading: the meter starts repeating one value. Default 0.0005. */
  flatline: probability.default(0.0005),
  /** Per reading: an implausible spike. Default 0.0005. */
  spike: probability.default(0.0005),
  /** Per reading: a sentinel value (-1, 0, 65535). Default 0.0005. */
  sentinel: probability.default(0.0005),
  /** Per reading: the meter's clock jumps. Default 0.0002. */
  clockSkew: probability.default(0.0002),
  /** Per reading: sent twice. Default 0.001. */
  duplicate: probability.default(0.001),
  /** Per reading: sent after its successor. Default 0.002. */
  outOfOrder: probability.default(0.002),
  /** Per reading: starts a burst of late readings. Default 0.0001. */
  lateBurst: probability.default(0.0001),
});

const simulatorSchema = strictObject({
  /** Seed of the deterministic generator. Default 1. */
  seed: z.number().int().default(1),
  /** Interval between two readings of one meter. Default 1s. */
  rate: positive(durationMs, 'rate').default('1s'),
  /** Send gateway batches (JSON arrays) instead of single readings. Default true. */
  batch: z.boolean().default(true),
  /** Fault probabilities. */
  faults: faultsSchema.default({}),
}).transform((s) => ({ seed: s.seed, rateMs: s.rate, batch: s.batch, faults: s.faults }));

// ---------------------------------------------------------------------------------------
// the file

const fileSchema = strictObject({
  /** Windowing settings. */
  pipeline: pipelineSchema.default({}),
  /** Sites and their electrical trees. At least one. */
  sites: z.array(siteSchema).min(1),
  /** Where readings come from. Default { kind: memory }. */
  source: sourceSchema.default({ kind: 'memory' }),
  /** NATS connection. Filled with defaults when a NATS source or NATS results are used. */
  nats: natsSchema.optional(),
  /** Dead-letter publishing of invalid readings. */
  deadLetter: deadLetterSchema.default({}),
  /** Outputs. */
  sinks: sinksSchema.default({}),
  /** Fleet simulator settings (`headroom simulate`, the embedded default). */
  simulator: simulatorSchema.default({}),
  /** Alert rules (built-ins from config/alerts.yaml unless `builtins: false`). Default: the built-ins. */
  alerts: alertsSectionSchema.default({}),
});

type ParsedFile = z.output<typeof fileSchema>;

function refineFile(f: ParsedFile, ctx: z.RefinementCtx): void {
  for (const issue of checkTopologyRules(f.sites)) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: issue.path, message: issue.message });
  }
  const windows = new Set(f.pipeline.windowsMs);
  f.sinks.metrics?.windowsMs?.forEach((ms, i) => {
    if (!windows.has(ms)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['sinks', 'metrics', 'windows', i],
        message: `${formatDurationMs(ms)} is not one of pipeline.windows`,
      });
    }
  });
  for (const issue of checkAlerts(f.alerts, f.pipeline.windowsMs, f.sites)) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: issue.path, message: issue.message });
  }
  const siteIds = new Set(f.sites.map((s) => s.id));
  f.source.sites?.forEach((site, i) => {
    if (!siteIds.has(site)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['source', 'sites', i], message: `unknown site '${site}'` });
  });
}

function normalise(f: ParsedFile) {
  const topology: Topology = { sites: f.sites };
  const metrics = f.sinks.metrics === undefined ? undefined : { ...f.sinks.metrics, windowsMs: f.sinks.metrics.windowsMs ?? [...f.pipeline.windowsMs] };
  const needsNats = f.source.kind !== 'memory' || f.sinks.natsResults.enabled;
  const nats = f.nats ?? (needsNats ? natsSchema.parse({}) : undefined);
  return {
    engine: f.pipeline,
    topology,
    source: f.source,
    nats,
    deadLetter: f.deadLetter,
    sinks: { ...f.sinks, metrics },
    simulator: f.simulator,
    alerts: resolveAlerts(f.alerts, f.pipeline),
  };
}

/**
 * The whole config file → HeadroomConfig (normalised: ms, watts, bytes; defaults filled).
 * Use via `parseConfigText` / `loadConfigFile` for readable issues and YAML positions.
 */
export const headroomConfigSchema = fileSchema.superRefine(refineFile).transform(normalise);

// ---------------------------------------------------------------------------------------
// types

/** What a config file may contain (units as strings allowed). */
export type HeadroomConfigInput = z.input<typeof headroomConfigSchema>;
export type Secret = z.output<typeof secretSchema>;
export type SourceConfig = z.output<typeof sourceSchema>;
export type MemorySourceConfig = Extract<SourceConfig, { kind: 'memory' }>;
export type NatsSourceConfig = Extract<SourceConfig, { kind: 'nats' }>;
export type JetStreamSourceConfig = Extract<SourceConfig, { kind: 'jetstream' }>;
export type StreamConfig = JetStreamSourceConfig['stream'];
export type ConsumerConfig = JetStreamSourceConfig['consumer'];
export type NatsConfig = z.output<typeof natsSchema>;
export type NatsTlsConfig = NonNullable<NatsConfig['tls']>;
export type DeadLetterConfig = z.output<typeof deadLetterSchema>;
export type NdjsonSinkConfig = z.output<typeof ndjsonSinkSchema>;
/** windowsMs is always filled in the normalised config (default: all pipeline windows). */
export type MetricsSinkConfig = Omit<z.output<typeof metricsSinkSchema>, 'windowsMs'> & { windowsMs: number[] };
export type InfluxSinkConfig = z.output<typeof influxSinkSchema>;
export type InfluxRetryConfig = InfluxSinkConfig['retry'];
export type NatsResultsSinkConfig = z.output<typeof natsResultsSinkSchema>;
export type SinksConfig = Omit<z.output<typeof sinksSchema>, 'metrics'> & { metrics?: MetricsSinkConfig };
export type SimulatorConfig = z.output<typeof simulatorSchema>;
export type SimulatorFaults = SimulatorConfig['faults'];

/** The normalised configuration handed to the CLI; each component gets only its slice. */
export interface HeadroomConfig {
  engine: EngineSettings;
  topology: Topology;
  source: SourceConfig;
  /** Present when configured, or filled with defaults when a NATS source or NATS results need it. */
  nats?: NatsConfig;
  deadLetter: DeadLetterConfig;
  sinks: SinksConfig;
  simulator: SimulatorConfig;
  /** Alert rules, normalised (built-ins merged, windows resolved). */
  alerts: AlertsConfig;
}

// Keeps the schema's output and the declared interface in step.
const _check: (c: z.output<typeof headroomConfigSchema>) => HeadroomConfig = (c) => c;
void _check;
