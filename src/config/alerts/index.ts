/**
 * The `alerts:` section: alert rules in human units, merged with the built-in rules
 * (config/alerts.yaml mirrors BUILTIN_ALERT_RULES) and normalised into the AlertsConfig
 * the alert engine takes.
 *
 *   alerts:
 *     builtins: true          # include the built-in rules (default true)
 *     revisions: final        # final | first (see RevisionPolicy)
 *     rules:                  # a rule named like a built-in replaces it
 *       - name: headroom_low
 *         metric: headroom
 *         window: 10s         # default: the smallest pipeline window
 *         scope: { levels: [pdu, rack] }
 *         warning: { at: 15%, clear: 20% }   # headroom: % of usable, or a power (200kW)
 *         critical: 5%                       # scalar: clear = at (no hysteresis)
 *         for: 30s
 *         overrides: [{ nodes: [rpdu-101a], warning: 10% }]
 *         labels: { team: power }
 *         annotations: { summary: '{{node}} at {{site}}: {{value}} headroom', runbook_url: 'https://runbooks/{{site}}/{{node}}' }
 */
export { alertsSectionSchema, type AlertRuleInput, type AlertsSectionInput } from './rule-schema.js';
export { parseThreshold, type AlertIssue } from './thresholds.js';
export { BUILTIN_ALERT_RULES } from './builtins.js';
export { builtinAlertsConfig, checkAlerts, parseAlertRule, resolveAlerts } from './resolve.js';
