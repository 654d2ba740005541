/** The built-in alert rules. */
import { ruleSchema, type AlertRuleInput, type ParsedRule } from './rule-schema.js';

// ---------------------------------------------------------------------------------------
// built-in rules (config/alerts.yaml holds the same, as YAML; a unit test keeps them equal)

const RUNBOOK = 'https://runbooks.example.com/headroom';

export const BUILTIN_ALERT_RULES: readonly AlertRuleInput[] = [
  {
    name: 'headroom_low',
    metric: 'headroom',
    warning: { at: '15%', clear: '20%' },
    critical: { at: '5%', clear: '8%' },
    for: '30s',
    annotations: {
      summary: 'Headroom of {{level}} {{node}} at {{site}} is {{value}} (threshold {{threshold}})',
      runbook_url: `${RUNBOOK}/headroom-low?site={{site}}&node={{node}}`,
    },
  },
  {
    name: 'utilization_high',
    metric: 'utilization',
    warning: { at: '90%', clear: '85%' },
    critical: { at: '100%', clear: '95%' },
    for: '30s',
    annotations: {
      summary: '{{level}} {{node}} at {{site}} runs at {{value}} of its rating',
      runbook_url: `${RUNBOOK}/utilization-high?site={{site}}&node={{node}}`,
    },
  },
  {
    name: 'failover_headroom_low',
    metric: 'failover_headroom',
    warning: { at: '5%', clear: '8%' },
    critical: { at: '0%', clear: '2%' },
    for: '30s',
    annotations: {
      summary: 'If its redundant partner fails, {{node}} at {{site}} is left with {{value}} of headroom',
      runbook_url: `${RUNBOOK}/failover-headroom?site={{site}}&node={{node}}`,
    },
  },
  {
    name: 'ramp_rate_high',
    metric: 'ramp_rate',
    // Minute to minute: 10 s steps on a training site are iterations and checkpoints, not the
    // sustained ramps a grid operator limits.
    window: '1m',
    scope: { roles: ['facility'] },
    warning: { at: '10%/min', clear: '8%/min' },
    critical: { at: '20%/min', clear: '15%/min' },
    for: '0s',
    annotations: {
      summary: 'Site {{site}} ramps at {{value}} (limit {{threshold}})',
      runbook_url: `${RUNBOOK}/ramp-rate?site={{site}}`,
    },
  },
  {
    name: 'completeness_low',
    metric: 'completeness',
    warning: { at: 0.9, clear: 0.95 },
    critical: { at: 0.5, clear: 0.6 },
    for: '1m',
    annotations: {
      summary: 'Only {{value}} of the meters under {{node}} at {{site}} report: its headroom is uncertain',
      runbook_url: `${RUNBOOK}/completeness?site={{site}}&node={{node}}`,
    },
  },
  {
    name: 'meter_stale',
    metric: 'stale_meter',
    warning: '30s',
    critical: '5m',
    annotations: {
      summary: 'No data for {{node}} at {{site}} for {{value}}',
      runbook_url: `${RUNBOOK}/meter-stale?site={{site}}&node={{node}}`,
    },
  },
  {
    // Pages only on a significant rise (see docs/concepts.md) of a node already at
    // half its rating; `for` outlasts a training swing; critical only when the breach is close.
    name: 'time_to_breach_short',
    metric: 'time_to_breach',
    warning: { at: '15m', clear: '20m' },
    critical: { at: '5m', clear: '8m' },
    for: '2m',
    minUtilization: '50%',
    annotations: {
      summary: 'At the current trend {{node}} at {{site}} runs out of headroom in {{value}}',
      runbook_url: `${RUNBOOK}/time-to-breach?site={{site}}&node={{node}}`,
    },
  },
  {
    // Training swings of a large share of the rating, sustained: grid operators ask about them.
    name: 'swing_high',
    metric: 'swing',
    window: '1m',
    warning: { at: '40%', clear: '30%' },
    for: '15m',
    annotations: {
      summary: 'Load of {{level}} {{node}} at {{site}} swings {{value}} peak to trough (threshold {{threshold}}, 40% of its rating)',
      runbook_url: `${RUNBOOK}/swing-high?site={{site}}&node={{node}}`,
    },
  },
  {
    name: 'demand_near_period_peak',
    metric: 'demand',
    of: 'period_peak',
    warning: { at: '95%', clear: '92%' },
    for: '1m',
    annotations: {
      summary: '15-minute demand at {{site}} is {{value}}, near the billing period peak ({{threshold}} = 95%)',
      runbook_url: `${RUNBOOK}/demand-peak?site={{site}}`,
    },
  },
  {
    name: 'demand_near_contract',
    metric: 'demand',
    of: 'contract',
    warning: { at: '90%', clear: '87%' },
    critical: { at: '98%', clear: '95%' },
    for: '1m',
    annotations: {
      summary: '15-minute demand at {{site}} is {{value}} against the interconnect contract (threshold {{threshold}})',
      runbook_url: `${RUNBOOK}/demand-contract?site={{site}}`,
    },
  },
  {
    name: 'grid_frequency_out_of_band',
    metric: 'grid_frequency',
    warning: { at: '0.1Hz', clear: '0.05Hz' },
    critical: { at: '0.2Hz', clear: '0.15Hz' },
    for: '10s',
    annotations: {
      summary: 'Grid frequency at {{site}} is {{value}} off nominal',
      runbook_url: `${RUNBOOK}/grid-frequency?site={{site}}`,
    },
  },
];

export const parsedBuiltins: ParsedRule[] = BUILTIN_ALERT_RULES.map((r) => ruleSchema.parse(r));
