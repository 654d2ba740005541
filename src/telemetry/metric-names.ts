/**
 * Names of every metric Headroom exports, as constants: the Grafana dashboards and the
 * Prometheus alert rules are tested against these. Base units, `headroom_<what>_<unit>`;
 * counters end in `_total`.
 */

// ── Latest window per node: gauges, labels site, node, level, window (`10s`, `1m`, `15m`). ──
/** Time-weighted mean load in the window. */
export const NODE_LOAD_WATTS = 'headroom_node_load_watts';
/** Usable capacity minus load; absent while completeness is below the threshold. */
export const NODE_HEADROOM_WATTS = 'headroom_node_headroom_watts';
/** Load over rating. */
export const NODE_UTILIZATION_RATIO = 'headroom_node_utilization_ratio';
/** Headroom if the redundant partner fails; absent without redundancy or while uncertain. */
export const NODE_FAILOVER_HEADROOM_WATTS = 'headroom_node_failover_headroom_watts';
/** Share of the node's meters that reported in the window. */
export const NODE_COMPLETENESS_RATIO = 'headroom_node_completeness_ratio';
/** Largest 1-second load in the window. */
export const NODE_PEAK_WATTS = 'headroom_node_peak_watts';
/** Rating times derate. */
export const NODE_USABLE_WATTS = 'headroom_node_usable_watts';
/** Load trend (W/s); absent when the window has no trend. */
export const NODE_RAMP_WATTS_PER_SECOND = 'headroom_node_ramp_watts_per_second';
/** Time until the trend reaches usable capacity; absent when the load is not rising towards it. */
export const NODE_TIME_TO_BREACH_SECONDS = 'headroom_node_time_to_breach_seconds';
/** Windows of 1 min and longer: 95th minus 5th percentile of the 1-second load. */
export const NODE_SWING_WATTS = 'headroom_node_swing_watts';
/** Dominant period of the swing; absent when there is none. */
export const NODE_SWING_PERIOD_SECONDS = 'headroom_node_swing_period_seconds';
/** Share of the swing's variance that repeats with that period. */
export const NODE_SWING_PERIOD_SHARE_RATIO = 'headroom_node_swing_period_share_ratio';

// ── Latest window per site: gauges, labels site, window. ──
/** Facility energy over IT energy in the window; absent without IT load. */
export const SITE_PUE_RATIO = 'headroom_site_pue_ratio';
/** Interconnect contract minus facility load; absent without a contract. */
export const SITE_CONTRACT_HEADROOM_WATTS = 'headroom_site_contract_headroom_watts';
/** The interconnect contract (so demand can be compared with it in PromQL). */
export const SITE_CONTRACT_WATTS = 'headroom_site_contract_watts';
/** Average facility power over the clock-aligned 15-minute demand interval, to date. */
export const SITE_DEMAND_15M_WATTS = 'headroom_site_demand_15m_watts';
/**
 * @deprecated The same name as SITE_DEMAND_15M_WATTS (one metric, renamed to the issue's
 * `headroom_site_demand_15m_watts`); kept so existing imports compile.
 */
export const SITE_DEMAND_WATTS = SITE_DEMAND_15M_WATTS;
/** Highest demand-interval average so far in the billing period. */
export const SITE_PERIOD_PEAK_WATTS = 'headroom_site_period_peak_watts';
/** Mean grid frequency in the window; absent without a grid meter reporting it. */
export const SITE_GRID_FREQUENCY_HERTZ = 'headroom_site_grid_frequency_hertz';
/** Facility load (time-weighted mean) in the window. */
export const SITE_LOAD_WATTS = 'headroom_site_load_watts';

// ── Pipeline health. ──
/** Counter, label outcome (record outcomes, and `invalid_<reason>` for decode failures). */
export const READINGS_TOTAL = 'headroom_readings_total';
/**
 * Counter, labels site, reason: readings (or decode failures) that did not reach the window
 * state: `late`, `duplicate`, `future`, `unknown_meter`, `unknown_site`, `implausible`, `invalid_<reason>`.
 * `site` is the subject's site, or `unknown` when it is not in the topology.
 */
export const DROPPED_READINGS_TOTAL = 'headroom_dropped_readings_total';
/** Counter, label reason. */
export const DEAD_LETTERS_TOTAL = 'headroom_dead_letters_total';
/** Counter, label site: readings dropped as too late. */
export const LATE_READINGS_TOTAL = 'headroom_late_readings_total';
/** Gauge, label site (the watermark partition): processing clock minus the site's watermark. */
export const WATERMARK_LAG_SECONDS = 'headroom_watermark_lag_seconds';
/**
 * Histogram: the lag of emission behind the window end: processing clock when the engine
 * emitted a window minus its end (event time), i.e. watermark lag plus tick; not the delivery
 * (SINK_DELIVERY_DELAY_SECONDS). One observation per emitted batch of windows (the batch's
 * oldest first emission), never per record.
 */
export const WINDOW_EMIT_DELAY_SECONDS = 'headroom_window_emit_delay_seconds';
/**
 * Histogram, label sink: from the pipeline's emission of a batch to the sink's delivery of it
 * (NDJSON: written to the file; InfluxDB: the 2xx of the request, its oldest emission; NATS
 * results: handed to the connection, core NATS has no ack; metrics: gauges set, ≈ 0). One
 * observation per delivered batch or request, never per record.
 */
export const SINK_DELIVERY_DELAY_SECONDS = 'headroom_sink_delivery_delay_seconds';
/** Gauge, label sink: records or points waiting in the sink's buffer. */
export const SINK_BUFFERED_RECORDS = 'headroom_sink_buffered_records';
/** Gauge, label sink: 1 when the sink failed permanently. */
export const SINK_FAILED = 'headroom_sink_failed';
/** Histogram, label sink: duration of a sink's write requests (sampled, at most one per tick). */
export const SINK_WRITE_SECONDS = 'headroom_sink_write_seconds';
/** Counter, labels sink, reason: failed write attempts (each retried or dropped). */
export const SINK_FAILURES_TOTAL = 'headroom_sink_failures_total';
/** Counter, label sink: records delivered. */
export const SINK_WRITTEN_RECORDS_TOTAL = 'headroom_sink_written_records_total';
/** Counter, label sink: write retries. */
export const SINK_RETRIES_TOTAL = 'headroom_sink_retries_total';
/** Counter, labels sink, reason: records a sink gave up on. */
export const SINK_DROPPED_RECORDS_TOTAL = 'headroom_sink_dropped_records_total';
/** Gauge: 1 connected, 0 disconnected, reconnecting or closed (absent without NATS). */
export const NATS_CONNECTION_STATE = 'headroom_nats_connection_state';
/** Counter: successful NATS reconnects (absent without NATS). */
export const NATS_RECONNECTS_TOTAL = 'headroom_nats_reconnects_total';
/** Gauge: messages waiting upstream (JetStream consumer pending), when the source knows. */
export const SOURCE_PENDING_MESSAGES = 'headroom_source_pending_messages';
/** Gauge: 1 while the pipeline holds its source paused for backpressure. */
export const SOURCE_PAUSED = 'headroom_source_paused';

// ── Alerts (in-stream alert engine). ──
/**
 * Gauge, labels site, node (empty for site rules), rule, severity: 1 firing, 0 pending;
 * no series while inactive.
 */
export const ALERT_STATE = 'headroom_alert_state';
/** Gauge, labels site, severity: alerts firing now. */
export const ALERTS_FIRING = 'headroom_alerts_firing';

/**
 * Prefix given to prom-client's default metrics (its `process_*` and `nodejs_*` names), e.g.
 * `headroom_process_cpu_seconds_total`, `headroom_nodejs_eventloop_lag_seconds`.
 */
export const RUNTIME_METRICS_PREFIX = 'headroom_';
/** Process metrics (CPU, memory, file descriptors): `headroom_process_*`. */
export const PROCESS_METRICS_PREFIX = 'headroom_process_';
/** Node.js runtime metrics (event loop, heap, GC): `headroom_nodejs_*`. */
export const NODEJS_METRICS_PREFIX = 'headroom_nodejs_';

/** Every metric name above (not the process metrics), for tests of dashboards and rules. */
export const METRIC_NAMES: readonly string[] = [
  NODE_LOAD_WATTS,
  NODE_HEADROOM_WATTS,
  NODE_UTILIZATION_RATIO,
  NODE_FAILOVER_HEADROOM_WATTS,
  NODE_COMPLETENESS_RATIO,
  NODE_PEAK_WATTS,
  NODE_USABLE_WATTS,
  NODE_RAMP_WATTS_PER_SECOND,
  NODE_TIME_TO_BREACH_SECONDS,
  NODE_SWING_WATTS,
  NODE_SWING_PERIOD_SECONDS,
  NODE_SWING_PERIOD_SHARE_RATIO,
  SITE_PUE_RATIO,
  SITE_CONTRACT_HEADROOM_WATTS,
  SITE_CONTRACT_WATTS,
  SITE_DEMAND_15M_WATTS,
  SITE_PERIOD_PEAK_WATTS,
  SITE_GRID_FREQUENCY_HERTZ,
  SITE_LOAD_WATTS,
  READINGS_TOTAL,
  DROPPED_READINGS_TOTAL,
  DEAD_LETTERS_TOTAL,
  LATE_READINGS_TOTAL,
  WATERMARK_LAG_SECONDS,
  WINDOW_EMIT_DELAY_SECONDS,
  SINK_BUFFERED_RECORDS,
  SINK_FAILED,
  SINK_WRITE_SECONDS,
  SINK_DELIVERY_DELAY_SECONDS,
  SINK_FAILURES_TOTAL,
  SINK_WRITTEN_RECORDS_TOTAL,
  SINK_RETRIES_TOTAL,
  SINK_DROPPED_RECORDS_TOTAL,
  NATS_CONNECTION_STATE,
  NATS_RECONNECTS_TOTAL,
  SOURCE_PENDING_MESSAGES,
  SOURCE_PAUSED,
  ALERT_STATE,
  ALERTS_FIRING,
];

// ── Worker groups (docs/worker-groups.md); label group. Registered by pipeline/group. ──
/** Gauge: partitions this worker holds a lease on. */
export const GROUP_PARTITIONS_OWNED = 'headroom_group_partitions_owned';
/** Counter, label how (free, takeover): leases acquired; takeover = from a holder whose lease ran out. */
export const GROUP_LEASE_ACQUISITIONS_TOTAL = 'headroom_group_lease_acquisitions_total';
/** Counter: leases taken over from a holder whose lease ran out (dead or cut off). */
export const GROUP_LEASE_TAKEOVERS_TOTAL = 'headroom_group_lease_takeovers_total';
/** Counter, label reason (conflict, unreachable): renewals that failed. */
export const GROUP_LEASE_RENEW_FAILURES_TOTAL = 'headroom_group_lease_renew_failures_total';
/** Counter, label reason (conflict, expired): leases this worker lost (onLose called). */
export const GROUP_LEASES_LOST_TOTAL = 'headroom_group_leases_lost_total';
/** Gauge: live members of the group as this worker sees them. */
export const GROUP_MEMBERS = 'headroom_group_members';

// Worker-group partitions (src/pipeline/group/partition-metrics.ts), label `group`, `partition`.
/** Messages of an owned partition not yet consumed (consumer pending). */
export const GROUP_PARTITION_LAG_MESSAGES = 'headroom_group_partition_lag_messages';
/** Seconds since an owned partition's last stored checkpoint (since take-over before the first). */
export const GROUP_CHECKPOINT_AGE_SECONDS = 'headroom_group_checkpoint_age_seconds';
/** Bytes of an owned partition's last checkpoint (engine and alert state). */
export const GROUP_CHECKPOINT_BYTES = 'headroom_group_checkpoint_bytes';
/** Time to cut, flush behind and store a checkpoint. */
export const GROUP_CHECKPOINT_DURATION_SECONDS = 'headroom_group_checkpoint_duration_seconds';
/** Time to load and restore a partition's checkpoint on take-over. */
export const GROUP_RESTORE_DURATION_SECONDS = 'headroom_group_restore_duration_seconds';
