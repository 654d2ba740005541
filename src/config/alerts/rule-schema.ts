/** The `alerts:` section and its rules as zod schemas (human units; resolved in resolve.ts). */
import { z } from 'zod';
import { ALERT_METRICS, type AlertMetric } from '../../core/alerts/index.js';
import { checkConfigDurationMs } from '../units.js';

function strict<T extends z.ZodRawShape>(shape: T) {
  const known = Object.keys(shape);
  return z
    .object(shape, {
      errorMap: (issue, ctx) =>
        issue.code === z.ZodIssueCode.unrecognized_keys
          ? {
              message: issue.keys
                .map((k) => {
                  const near = known.find((n) => n.toLowerCase() === k.toLowerCase() || n.startsWith(k) || k.startsWith(n));
                  return near === undefined ? `unknown key '${k}'` : `unknown key '${k}' (did you mean '${near}'?)`;
                })
                .join('; '),
            }
          : { message: ctx.defaultError },
    })
    .strict();
}

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const id = z.string().regex(ID_RE, { message: 'must match [A-Za-z0-9_-]{1,64}' });
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

const scopeShape = {
  /** Only these sites. Default: all. */
  sites: z.array(id).optional(),
  /** Only nodes of these levels (node rules). Default: all. */
  levels: z.array(z.string().min(1).max(64)).optional(),
  /** Only these node ids (node rules). Default: all. */
  nodes: z.array(id).optional(),
  /** Only nodes with these roles (facility, it). Default: all. */
  roles: z.array(z.enum(['facility', 'it'])).optional(),
};

const scalar = z.union([z.string(), z.number()], { errorMap: () => ({ message: 'expected a number or a string with a unit' }) });
/** A threshold: `15%`, `200kW`, `30s`, `0.9`, ... (meaning depends on the metric), or { at, clear }. */
const severityInput = z.union([scalar, strict({ at: scalar, clear: scalar.optional() })], {
  errorMap: () => ({ message: 'expected a threshold (e.g. 15%, 200kW, 30s, 0.9) or { at, clear }' }),
});
export type SeverityInput = z.infer<typeof severityInput>;

const overrideSchema = strict({
  ...scopeShape,
  /** Warning threshold for the matching targets. */
  warning: severityInput.optional(),
  /** Critical threshold for the matching targets. */
  critical: severityInput.optional(),
});

export const ruleSchema = strict({
  /** Unique rule name, the `alertname` label: [A-Za-z_][A-Za-z0-9_]*. */
  name: z.string().regex(NAME_RE, { message: 'must match [A-Za-z_][A-Za-z0-9_]{0,63}' }),
  /** What is watched: headroom, utilization, failover_headroom, ramp_rate, completeness, stale_meter, time_to_breach, swing, demand, grid_frequency. */
  metric: z.enum(ALERT_METRICS as [AlertMetric, ...AlertMetric[]]),
  /** Window size evaluated; one of pipeline.windows. Default: the smallest. */
  window: durationOrIssue().optional(),
  /** Targets. Default: every node (node metrics) or every site (demand, grid_frequency). */
  scope: strict(scopeShape).default({}),
  /** Warning threshold (scalar or { at, clear }). */
  warning: severityInput.optional(),
  /** Critical threshold (scalar or { at, clear }). */
  critical: severityInput.optional(),
  /** How long the breach must last before the alert fires (event time). Default 0s. */
  for: durationOrIssue().default(0),
  /**
   * An alert ends only once its value stayed clear this long: a swinging load does not flap.
   * A firing alert then resolves; a pending one that never fired ends without an event. Default 2m.
   */
  clearFor: durationOrIssue().default('2m'),
  /** Node rules: only while the node's utilization (load / rating) is at least this (0.5 or 50%); below it the node counts as clear. Default: always. */
  minUtilization: scalar.optional(),
  /** demand only: compare with the billing period's peak or with the contract. Default period_peak. */
  of: z.enum(['period_peak', 'contract']).optional(),
  /** Per-scope thresholds; per severity the first matching override that sets it wins. */
  overrides: z.array(overrideSchema).default([]),
  /** Static labels added to every event. */
  labels: z.record(z.string()).default({}),
  /** Annotation templates ({{site}} {{node}} {{level}} {{value}} {{threshold}} {{rule}} {{severity}} {{window}}). */
  annotations: z.record(z.string()).default({}),
  /** false: drop the rule (e.g. a built-in). Default true. */
  enabled: z.boolean().default(true),
});

function durationOrIssue() {
  return scalar.transform((v, ctx): number => {
    const r = checkConfigDurationMs(v);
    if (r.ok) return r.value;
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: r.message });
    return z.NEVER;
  });
}

export type AlertRuleInput = z.input<typeof ruleSchema>;
export type ParsedRule = z.output<typeof ruleSchema>;

export const alertsSectionSchema = strict({
  /** Include the built-in rules (config/alerts.yaml). Default true. */
  builtins: z.boolean().default(true),
  /** Restatements: `final` (evaluate each window once it is final) or `first` (revision 0 only). Default final. */
  revisions: z.enum(['final', 'first']).default('final'),
  /** Rules; one named like a built-in replaces it. Default []. */
  rules: z.array(ruleSchema).default([]),
});
export type AlertsSectionInput = z.input<typeof alertsSectionSchema>;
export type ParsedSection = z.output<typeof alertsSectionSchema>;
