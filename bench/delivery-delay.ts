/**
 * The delivery delay per sink (`headroom_sink_delivery_delay_seconds{sink}`) read from a
 * Prometheus text exposition: p50 and p99 interpolated within buckets as PromQL's
 * histogram_quantile does, and the max as the upper bound of the highest non-empty bucket
 * (a histogram keeps no exact max). Observations above the last finite bound are counted
 * as `overflow`; a quantile that falls there reads as that bound.
 */
import { SINK_DELIVERY_DELAY_SECONDS } from '../src/telemetry/index.js';

export interface DeliveryDelay {
  /** Observations: delivered batches (InfluxDB: requests). */
  batches: number;
  p50Ms: number;
  p99Ms: number;
  /** Upper bound of the highest non-empty bucket (the max is at most this). */
  maxMs: number;
  /** Observations above the last finite bucket bound. */
  overflow: number;
}

const BUCKET_LINE = new RegExp(`^${SINK_DELIVERY_DELAY_SECONDS}_bucket\\{([^}]*)\\} (\\S+)$`);

/** Per sink, from the text of a /metrics scrape; sinks without observations are left out. */
export function deliveryDelays(exposition: string): Record<string, DeliveryDelay> {
  const buckets = new Map<string, { le: number; count: number }[]>();
  for (const line of exposition.split('\n')) {
    const m = BUCKET_LINE.exec(line);
    if (m === null) continue;
    const labels = Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    const sink = labels['sink'];
    const le = labels['le'];
    if (sink === undefined || le === undefined) continue;
    const list = buckets.get(sink) ?? [];
    list.push({ le: le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), count: Number(m[2]) });
    buckets.set(sink, list);
  }
  const out: Record<string, DeliveryDelay> = {};
  for (const [sink, list] of buckets) {
    list.sort((a, b) => a.le - b.le);
    const total = list.at(-1)?.count ?? 0;
    if (total === 0) continue;
    const finite = list.filter((b) => Number.isFinite(b.le));
    const lastBound = finite.at(-1)?.le ?? 0;
    let maxBound = 0;
    let prev = 0;
    for (const b of finite) {
      if (b.count > prev) maxBound = b.le;
      prev = b.count;
    }
    const overflow = total - (finite.at(-1)?.count ?? 0);
    out[sink] = { batches: total, p50Ms: quantile(finite, total, 0.5) * 1000, p99Ms: quantile(finite, total, 0.99) * 1000, maxMs: (overflow > 0 ? lastBound : maxBound) * 1000, overflow };
  }
  return out;
}

/** histogram_quantile over cumulative finite buckets (ascending) of `total` observations. */
function quantile(finite: readonly { le: number; count: number }[], total: number, q: number): number {
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const b of finite) {
    if (b.count >= rank) return b.count === below ? b.le : lower + ((b.le - lower) * (rank - below)) / (b.count - below);
    lower = b.le;
    below = b.count;
  }
  return lower;
}

/** One table line per sink: `ndjson p50 1.2 ms  p99 8.0 ms  max ≤ 10 ms  (n batches)`. */
export function deliveryDelayRows(delays: Record<string, DeliveryDelay>): string[] {
  return Object.entries(delays).map(
    ([sink, d]) =>
      `  delivery delay ${sink.padEnd(13)} p50 ${d.p50Ms.toFixed(1).padStart(8)} ms  p99 ${d.p99Ms.toFixed(1).padStart(8)} ms  max ≤ ${d.maxMs.toFixed(1).padStart(8)} ms  (${d.batches} batches${d.overflow > 0 ? `, ${d.overflow} above the last bucket` : ''})`,
  );
}
