/**
 * A group worker's pipeline health as one pipeline's: its partitions' pipelines summed, plus
 * what the partitions that left this worker had counted, so the exported counters never go
 * back when a partition moves away (and the metrics look the same as a single worker's).
 */
import type { PipelineHealthSample } from '../../telemetry/index.js';
import { NO_COUNTS, type PipelineCounts } from '../pipeline-types.js';

/** Totals `headroom run` prints at the end: a pipeline's, summed over a worker's partitions. */
export type WorkerCounts = PipelineCounts;

type Counts = Record<string, number>;

function addInto(into: Counts, from: Readonly<Counts>): void {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
}

export class GroupHealth {
  private readonly outcomes: Counts = {};
  private readonly dropped: Record<string, Counts> = {};
  private readonly deadLetters: Counts = {};
  /** Late readings are counted by the engine, whose state moves with the partition: the largest seen per site. */
  private readonly lateMax: Counts = {};
  private readonly counts: WorkerCounts = { ...NO_COUNTS };

  /** A partition's pipeline stopped on this worker: keep what it counted. */
  retire(sample: PipelineHealthSample, counts: WorkerCounts): void {
    addInto(this.outcomes, sample.readingsByOutcome);
    for (const [site, reasons] of Object.entries(sample.droppedBySiteReason ?? {})) addInto((this.dropped[site] ??= {}), reasons);
    addInto(this.deadLetters, sample.deadLettersByReason);
    for (const [site, n] of Object.entries(sample.lateBySite)) this.lateMax[site] = Math.max(this.lateMax[site] ?? 0, n);
    this.counts.readings += counts.readings;
    this.counts.recordsOut += counts.recordsOut;
    this.counts.deadLetters += counts.deadLetters;
  }

  /** Totals since the worker started: retired partitions plus `live` ones. */
  totals(live: readonly WorkerCounts[]): WorkerCounts {
    const out = { ...this.counts };
    for (const c of live) {
      out.readings += c.readings;
      out.recordsOut += c.recordsOut;
      out.deadLetters += c.deadLetters;
    }
    return out;
  }

  /** One sample for the worker: the live partitions' and the retired ones', with the worker's own sinks and connection. */
  merge(live: readonly PipelineHealthSample[], own: Pick<PipelineHealthSample, 'sinks' | 'nats'>): PipelineHealthSample {
    const outcomes: Counts = { ...this.outcomes };
    const deadLetters: Counts = { ...this.deadLetters };
    const late: Counts = { ...this.lateMax };
    const dropped: Record<string, Counts> = {};
    for (const [site, reasons] of Object.entries(this.dropped)) dropped[site] = { ...reasons };
    const lag: Record<string, number | null> = {};
    let pending: number | undefined;
    let paused = false;
    for (const s of live) {
      addInto(outcomes, s.readingsByOutcome);
      addInto(deadLetters, s.deadLettersByReason);
      for (const [site, reasons] of Object.entries(s.droppedBySiteReason ?? {})) addInto((dropped[site] ??= {}), reasons);
      for (const [site, n] of Object.entries(s.lateBySite)) late[site] = Math.max(late[site] ?? 0, n);
      Object.assign(lag, s.watermarkLagSecondsBySite);
      if (s.sourcePendingMessages !== undefined) pending = (pending ?? 0) + s.sourcePendingMessages;
      paused ||= s.sourcePaused;
    }
    return {
      readingsByOutcome: outcomes,
      droppedBySiteReason: dropped,
      deadLettersByReason: deadLetters,
      lateBySite: late,
      watermarkLagSecondsBySite: lag,
      sinks: own.sinks,
      ...(own.nats === undefined ? {} : { nats: own.nats }),
      ...(pending === undefined ? {} : { sourcePendingMessages: pending }),
      sourcePaused: paused,
    };
  }
}
