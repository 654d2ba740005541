/**
 * Names of every metric Headroom exports, as constants: the Grafana dashboards and the
 * Prometheus alert rules are tested against these. Base units, `headroom_<what>_<unit>`.
 */

// Latest window per node: labels site, node, level, window (e.g. `10s`, `1m`, `15m`).
export const NODE_LOAD_WATTS = 'headroom_node_load_watts';
export const NODE_HEADROOM_WATTS = 'headroom_node_headroom_watts';
export const NODE_UTILIZATION_RATIO = 'headroom_node_utilization_ratio';
export const NODE_FAILOVER_HEADROOM_WATTS = 'headroom_node_failover_headroom_watts';
export const NODE_COMPLETENESS_RATIO = 'headroom_node_completeness_ratio';
export const NODE_PEAK_WATTS = 'headroom_node_peak_watts';
export const NODE_USABLE_WATTS = 'headroom_node_usable_watts';

// Latest window per site: labels site, window.
export const SITE_PUE_RATIO = 'headroom_site_pue_ratio';
export const SITE_CONTRACT_HEADROOM_WATTS = 'headroom_site_contract_headroom_watts';
export const SITE_DEMAND_WATTS = 'headroom_site_demand_watts';

// Pipeline health.
/** Counter, label outcome (record outcomes, and `invalid_<reason>` for decode failures). */
export const READINGS_TOTAL = 'headroom_readings_total';
/** Counter, label reason. */
export const DEAD_LETTERS_TOTAL = 'headroom_dead_letters_total';
/** Counter, label site: readings dropped as too late. */
export const LATE_READINGS_TOTAL = 'headroom_late_readings_total';
/** Gauge, label site: processing clock minus the site's watermark. */
export const WATERMARK_LAG_SECONDS = 'headroom_watermark_lag_seconds';
/** Histogram: processing clock at emission minus the window's end (first emission only). */
export const WINDOW_EMIT_DELAY_SECONDS = 'headroom_window_emit_delay_seconds';
/** Gauge, label sink: records or points waiting in the sink's buffer. */
export const SINK_BUFFERED_RECORDS = 'headroom_sink_buffered_records';
/** Gauge: 1 connected, 0 disconnected, reconnecting or closed (absent without NATS). */
export const NATS_CONNECTION_STATE = 'headroom_nats_connection_state';
/** Gauge: messages waiting upstream (JetStream consumer pending), when the source knows. */
export const SOURCE_PENDING_MESSAGES = 'headroom_source_pending_messages';
/** Gauge: 1 while the pipeline holds its source paused for backpressure. */
export const SOURCE_PAUSED = 'headroom_source_paused';
/** Gauge, label sink: 1 when the sink failed permanently. */
export const SINK_FAILED = 'headroom_sink_failed';

/** Every metric name above, for tests of dashboards and rules. */
export const METRIC_NAMES: readonly string[] = [
  NODE_LOAD_WATTS,
  NODE_HEADROOM_WATTS,
  NODE_UTILIZATION_RATIO,
  NODE_FAILOVER_HEADROOM_WATTS,
  NODE_COMPLETENESS_RATIO,
  NODE_PEAK_WATTS,
  NODE_USABLE_WATTS,
  SITE_PUE_RATIO,
  SITE_CONTRACT_HEADROOM_WATTS,
  SITE_DEMAND_WATTS,
  READINGS_TOTAL,
  DEAD_LETTERS_TOTAL,
  LATE_READINGS_TOTAL,
  WATERMARK_LAG_SECONDS,
  WINDOW_EMIT_DELAY_SECONDS,
  SINK_BUFFERED_RECORDS,
  NATS_CONNECTION_STATE,
  SOURCE_PENDING_MESSAGES,
  SOURCE_PAUSED,
  SINK_FAILED,
];
