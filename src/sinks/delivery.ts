/**
 * Delivery delay of a written batch: from the pipeline's emission (`emittedAtMonoMs`, on the
 * monotonic clock, `performance.now()`) to the moment the sink has delivered it. What
 * "delivered" means per sink:
 * - NDJSON: the file stream's write callback of the chunk holding the batch (in the kernel);
 * - InfluxDB: the 2xx of the request carrying its points (a request's oldest emission);
 * - NATS results: handed to the connection (core NATS has no acknowledgement);
 * - Prometheus: the gauges are set in `write` (≈ 0, observed so that it shows).
 * One observation per delivered batch (or request), never per record.
 */

/** Receives a delay in seconds; must not throw. */
export type DeliveryObserver = (seconds: number) => void;

/** Observes `now − emittedAtMonoMs` when both an observer and a finite emission time are given. */
export function observeDelivery(observer: DeliveryObserver | undefined, emittedAtMonoMs: number | undefined): void {
  if (observer === undefined || emittedAtMonoMs === undefined || !Number.isFinite(emittedAtMonoMs)) return;
  observer(Math.max(0, performance.now() - emittedAtMonoMs) / 1000);
}
