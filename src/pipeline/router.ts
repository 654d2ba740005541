/**
 * The one router of window results, used by the live pipeline and by the in-process replay:
 * results → every sink → the alert rules (event time) → their transitions to every sink,
 * counting what was written on the way.
 *
 * Ordering, the same for both users: a batch of results is written to the sinks, then the
 * alert rules are evaluated on it against the engine's watermarks and the transitions they
 * cause are written after it. `flushAlerts` (end of input, shutdown) writes what the rules
 * still hold. The router has no clock: `nowMs` is handed to the `onWritten` hook only, and
 * `emittedAtMonoMs` (the pipeline's monotonic time of emission) to every sink's `write`, which
 * observes the delivery delay from it.
 */
import type { AlertEngine } from '../core/alerts/index.js';
import type { AlertEvent, OutputRecord, WindowResult } from '../domain/index.js';
import type { Sink } from '../sinks/index.js';

/** What the router wrote, since it was made. */
export interface RouteCounts {
  /** Records written to the sinks: window results and alert transitions. */
  records: number;
  /** Window results by type; `restatements` are those with a revision above 0 (any type). */
  windows: { meter: number; node: number; site: number; restatements: number };
  /** Alert transitions by state. */
  alerts: { pending: number; firing: number; resolved: number };
}

export interface RouterOptions {
  sinks: readonly Sink[];
  /** Alert rules evaluated on every batch of results; absent = no alerts. */
  alerts?: AlertEngine;
  /** The engine's watermarks per site, read when the alert rules are evaluated. */
  watermarksMs: () => Readonly<Record<string, number>>;
  /**
   * A sink's `write` threw (sinks never throw for I/O: a bug in the sink). Given: called and
   * the other sinks still get the batch. Absent: the error propagates.
   */
  onSinkError?: (sink: Sink, err: unknown) => void;
  /** After every batch written to the sinks; `observeDelay` is false for drained windows and alert transitions. */
  onWritten?: (records: readonly OutputRecord[], nowMs: number, observeDelay: boolean) => void;
  /** After every evaluation (or flush) of the alert rules, whether or not a transition came of it. */
  onAlertsEvaluated?: (alerts: AlertEngine) => void;
}

export class Router {
  readonly counts: RouteCounts = {
    records: 0,
    windows: { meter: 0, node: 0, site: 0, restatements: 0 },
    alerts: { pending: 0, firing: 0, resolved: 0 },
  };

  constructor(private readonly opts: RouterOptions) {}

  /** Window results to the sinks, then the alert transitions they cause. */
  route(results: readonly WindowResult[], nowMs: number, observeDelay = true, emittedAtMonoMs?: number): void {
    if (results.length === 0) return;
    const windows = this.counts.windows;
    for (const r of results) {
      windows[r.type]++;
      if (r.revision > 0) windows.restatements++;
    }
    this.write(results, nowMs, observeDelay, emittedAtMonoMs);
    const alerts = this.opts.alerts;
    if (alerts !== undefined) this.writeAlerts(alerts.evaluate(results, this.opts.watermarksMs()), nowMs, emittedAtMonoMs);
  }

  /** End of input or shutdown: the transitions the alert rules still hold, to the sinks. */
  flushAlerts(nowMs: number, emittedAtMonoMs?: number): void {
    const alerts = this.opts.alerts;
    if (alerts !== undefined) this.writeAlerts(alerts.flush(), nowMs, emittedAtMonoMs);
  }

  private writeAlerts(events: readonly AlertEvent[], nowMs: number, emittedAtMonoMs: number | undefined): void {
    if (events.length > 0) {
      for (const e of events) this.counts.alerts[e.state]++;
      this.write(events, nowMs, false, emittedAtMonoMs);
    }
    if (this.opts.alerts !== undefined) this.opts.onAlertsEvaluated?.(this.opts.alerts);
  }

  private write(records: readonly OutputRecord[], nowMs: number, observeDelay: boolean, emittedAtMonoMs: number | undefined): void {
    this.counts.records += records.length;
    const onSinkError = this.opts.onSinkError;
    for (const s of this.opts.sinks) {
      if (onSinkError === undefined) {
        s.write(records, emittedAtMonoMs);
        continue;
      }
      try {
        s.write(records, emittedAtMonoMs);
      } catch (err: unknown) {
        onSinkError(s, err);
      }
    }
    this.opts.onWritten?.(records, nowMs, observeDelay);
  }
}
