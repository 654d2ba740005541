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
  sites: z.array(id).optional().describe('Only these sites. Default: all.'),
  levels: z.array(z.string().min(1).max(64)).optional().describe('Only nodes of these levels (node rules). Default: all.'),
  nodes: z.array(id).optional().describe('Only these node ids (node rules). Default: all.'),
  roles: z.array(z.enum(['facility', 'it'])).optional().describe('Only nodes with these roles (facility, it). Default: all.'),
};

const scalar = z.union([z.string(), z.number()], { errorMap: () => ({ message: 'expected a number or a string with a unit' }) });
/** A threshold: `15%`, `200kW`, `30s`, `0.9`, ... (meaning depends on the metric), or { at, clear }. */
const severityInput = z.union([scalar, strict({ at: scalar, clear: scalar.optional() })], {
  errorMap: () => ({ message: 'expected a threshold (e.g. 15%, 200kW, 30s, 0.9) or { at, clear }' }),
});
export type SeverityInput = z.infer<typeof severityInput>;

const overrideSchema = strict({
  ...scopeShape,
  warning: severityInput.optional().describe('Warning threshold for the matching targets.'),
  critical: severityInput.optional().describe('Critical threshold for the matching targets.'),
});

export const ruleSchema = strict({
  name: z.string().regex(NAME_RE, { message: 'must match [A-Za-z_][A-Za-z0-9_]{0,63}' }).describe('Unique rule name, the `alertname` label: [A-Za-z_][A-Za-z0-9_]*.'),
  metric: z.enum(ALERT_METRICS as [AlertMetric, ...AlertMetric[]]).describe('What is watched: headroom, utilization, failover_headroom, ramp_rate, completeness, stale_meter, time_to_breach, swing, demand, grid_frequency.'),
  window: durationOrIssue().optional().describe('Window size evaluated; one of pipeline.windows. Default: the smallest.'),
  scope: strict(scopeShape).default({}).describe('Targets. Default: every node (node metrics) or every site (demand, grid_frequency).'),
  warning: severityInput.optional().describe('Warning threshold (scalar or { at, clear }).'),
  critical: severityInput.optional().describe('Critical threshold (scalar or { at, clear }).'),
  for: durationOrIssue().default(0).describe('How long the breach must last before the alert fires (event time). Default 0s.'),
  clearFor: durationOrIssue().default('2m').describe('An alert ends only once its value stayed clear this long: a swinging load does not flap. A firing alert then resolves; a pending one that never fired ends without an event. Default 2m.'),
  minUtilization: scalar.optional().describe('Node rules: only while the node\'s utilization (load / rating) is at least this (0.5 or 50%); below it the node counts as clear. Default: always.'),
  of: z.enum(['period_peak', 'contract']).optional().describe('demand only: compare with the billing period\'s peak or with the contract. Default period_peak.'),
  overrides: z.array(overrideSchema).default([]).describe('Per-scope thresholds; per severity the first matching override that sets it wins.'),
  labels: z.record(z.string()).default({}).describe('Static labels added to every event.'),
  annotations: z.record(z.string()).default({}).describe('Annotation templates ({{site}} {{node}} {{level}} {{value}} {{threshold}} {{rule}} {{severity}} {{window}}).'),
  enabled: z.boolean().default(true).describe('false: drop the rule (e.g. a built-in). Default true.'),
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
  builtins: z.boolean().default(true).describe('Include the built-in rules (config/alerts.yaml). Default true.'),
  revisions: z.enum(['final', 'first']).default('final').describe('Restatements: `final` (evaluate each window once it is final) or `first` (revision 0 only). Default final.'),
  rules: z.array(ruleSchema).default([]).describe('Rules; one named like a built-in replaces it. Default [].'),
});
export type AlertsSectionInput = z.input<typeof alertsSectionSchema>;
export type ParsedSection = z.output<typeof alertsSectionSchema>;
