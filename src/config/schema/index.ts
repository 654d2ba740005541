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
import type { EngineSettings, Topology } from '../../domain/index.js';
import type { AlertsConfig } from '../../core/alerts/index.js';
import { alertsSectionSchema, checkAlerts, resolveAlerts } from '../alerts/index.js';
import { checkTopologyRules } from '../topology-rules.js';
import { alertRoutingSchema, checkAlertRouting, type AlertRoutingConfig } from './alert-routing.js';
import { formatDurationMs } from '../units.js';
import { secretSchema, strictObject } from './common.js';
import { pipelineSchema } from './pipeline.js';
import { natsSchema, sourceSchema } from './source.js';
import { defaultMetricsWindowsMs, deadLetterSchema, influxSinkSchema, metricsSinkSchema, natsResultsSinkSchema, ndjsonSinkSchema, sinksSchema } from './sinks.js';
import { simulatorSchema } from './simulator.js';
import { siteSchema } from './topology.js';

export { secretSchema, unknownKeyMessage, UNKNOWN_KEYS_SEPARATOR } from './common.js';
export { natsUrlHasCredentials, natsUrlRequiresTls, NATS_URL_CREDENTIALS_MESSAGE } from './source.js';

// ---------------------------------------------------------------------------------------
// the file

const fileSchema = strictObject({
  pipeline: pipelineSchema.default({}).describe('Windowing settings.'),
  sites: z.array(siteSchema).min(1).describe('Sites and their electrical trees. At least one.'),
  source: sourceSchema.default({ kind: 'memory' }).describe('Where readings come from. Default { kind: memory }.'),
  nats: natsSchema.optional().describe('NATS connection. Filled with defaults when a NATS source or NATS results are used.'),
  deadLetter: deadLetterSchema.default({}).describe('Dead-letter publishing of invalid readings.'),
  sinks: sinksSchema.default({}).describe('Outputs.'),
  simulator: simulatorSchema.default({}).describe('Fleet simulator settings (`headroom simulate`, the embedded default).'),
  alerts: alertsSectionSchema.default({}).describe('Alert rules (built-ins from config/alerts.yaml unless `builtins: false`). Default: the built-ins.'),
  alertRouting: alertRoutingSchema.default({}).describe('Who receives the Prometheus alerts (`headroom rules` writes alertmanager.yml from it). Default: everything to team ops.'),
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
  const levels = new Set(f.sites.flatMap((s) => s.nodes.map((n) => n.level)));
  f.sinks.metrics?.levels?.forEach((level, i) => {
    if (!levels.has(level)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['sinks', 'metrics', 'levels', i], message: `'${level}' is not the level of any node` });
  });
  for (const issue of checkAlerts(f.alerts, f.pipeline.windowsMs, f.sites)) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: issue.path, message: issue.message });
  }
  for (const issue of checkAlertRouting(f.alertRouting, f.sites.map((s) => s.id))) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: issue.path, message: issue.message });
  }
  const siteIds = new Set(f.sites.map((s) => s.id));
  f.source.sites?.forEach((site, i) => {
    if (!siteIds.has(site)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['source', 'sites', i], message: `unknown site '${site}'` });
  });
}

function normalise(f: ParsedFile) {
  const topology: Topology = { sites: f.sites };
  const metrics = f.sinks.metrics === undefined ? undefined : { ...f.sinks.metrics, windowsMs: f.sinks.metrics.windowsMs ?? defaultMetricsWindowsMs(f.pipeline.windowsMs) };
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
    alertRouting: f.alertRouting,
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
/** windowsMs is always filled in the normalised config (default: defaultMetricsWindowsMs). */
export type MetricsSinkConfig = Omit<z.output<typeof metricsSinkSchema>, 'windowsMs'> & { windowsMs: number[] };
export type InfluxSinkConfig = z.output<typeof influxSinkSchema>;
export type InfluxRetryConfig = InfluxSinkConfig['retry'];
export type NatsResultsSinkConfig = z.output<typeof natsResultsSinkSchema>;
export type SinksConfig = Omit<z.output<typeof sinksSchema>, 'metrics'> & { metrics?: MetricsSinkConfig };
export type SimulatorConfig = z.output<typeof simulatorSchema>;
export type SimulatorFaults = SimulatorConfig['faults'];
export type { AlertRoutingConfig } from './alert-routing.js';

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
  /** Who receives the Prometheus alerts (for `headroom rules`). */
  alertRouting: AlertRoutingConfig;
}

// Keeps the schema's output and the declared interface in step.
const _check: (c: z.output<typeof headroomConfigSchema>) => HeadroomConfig = (c) => c;
void _check;
