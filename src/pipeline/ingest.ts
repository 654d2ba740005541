import { windowStartMs, type WindowEngine } from '../core/index.js';
import { decodeLineProtocolMessage, decodeMessage, type LineProtocolMapping, type LineProtocolPrecision } from '../codec/index.js';
import { subjectMatches } from '../sources/index.js';
import {
  DECODE_FAILURE_REASONS,
  READING_NUMBER_FIELDS,
  RECORD_OUTCOMES,
  type DecodeFailureReason,
  type Reading,
  type RecordOutcome,
} from '../domain/index.js';

/** Why a message (or part of it) went to the dead-letter subject. */
export type RejectReason = DecodeFailureReason | 'unknown_site' | 'unknown_meter' | 'future' | 'late' | 'implausible';

/** Plain counters, updated per message and read by the metrics layer and summaries. */
export class IngestCounters {
  readonly outcomes = Object.fromEntries(RECORD_OUTCOMES.map((o) => [o, 0])) as Record<RecordOutcome, number>;
  readonly decodeFailures = Object.fromEntries(DECODE_FAILURE_REASONS.map((r) => [r, 0])) as Record<DecodeFailureReason, number>;
  messages = 0;
  readings = 0;

  /**
   * Readings by outcome, with decode failures as outcome `invalid_<reason>`. `implausible`
   * appears once non-zero, like the invalid ones (so summaries of clean data keep their shape).
   */
  byOutcome(): Record<string, number> {
    const { implausible, ...rest } = this.outcomes;
    const out: Record<string, number> = implausible > 0 ? { ...rest, implausible } : rest;
    for (const r of DECODE_FAILURE_REASONS) if (this.decodeFailures[r] > 0) out[`invalid_${r}`] = this.decodeFailures[r];
    return out;
  }
}

/** Subjects that carry InfluxDB line protocol, and how its points become readings. */
export interface LineProtocolInput {
  /** NATS subject pattern. */
  subjects: string;
  /** The pattern split into tokens, once. */
  subjectTokens?: readonly string[];
  precision: LineProtocolPrecision;
  mappings: readonly LineProtocolMapping[];
}

export interface IngestOptions {
  maxMessageBytes: number;
  /** Line-protocol subjects (first match wins); every other subject carries JSON readings. */
  lineProtocol?: readonly LineProtocolInput[];
}

export interface IngestReport {
  /** Readings that reached the engine's state (accepted or accepted late). */
  recorded: number;
  /** First reason the message (or an element of it) was rejected, for dead-lettering. */
  rejectReason: RejectReason | null;
  rejectDetail: string | null;
  rejected: number;
}

/**
 * Records one decoded reading on the processing clock `nowMs` and counts its outcome: the one
 * step by which readings enter the engine, live (`ingestPayload`) and in-process replay alike.
 */
export function recordReading(engine: WindowEngine, reading: Reading, nowMs: number, counters: IngestCounters): RecordOutcome {
  const outcome = engine.record(reading, nowMs);
  counters.outcomes[outcome]++;
  return outcome;
}

/**
 * Decodes one message and records its readings. Never throws for bad data: every
 * outcome is counted, and the report tells the caller whether to dead-letter it.
 */
export function ingestPayload(
  engine: WindowEngine,
  payload: Uint8Array | string,
  subjectSite: string | undefined,
  nowMs: number,
  opts: IngestOptions,
  counters: IngestCounters,
  subject?: string,
): IngestReport {
  counters.messages++;
  const decodeOpts = subjectSite === undefined ? { maxMessageBytes: opts.maxMessageBytes } : { subjectSite, maxMessageBytes: opts.maxMessageBytes };
  const lp = subject === undefined || opts.lineProtocol === undefined || opts.lineProtocol.length === 0
    ? undefined
    : opts.lineProtocol.find((input) => subjectMatches(input.subjectTokens ?? input.subjects.split('.'), subject.split('.')));
  const { readings, failures } =
    lp === undefined ? decodeMessage(payload, decodeOpts) : decodeLineProtocolMessage(payload, { ...decodeOpts, precision: lp.precision, mappings: lp.mappings, receivedMs: nowMs });
  const report: IngestReport = { recorded: 0, rejectReason: null, rejectDetail: null, rejected: failures.length };
  for (const f of failures) {
    counters.decodeFailures[f.reason]++;
    if (report.rejectReason === null) {
      report.rejectReason = f.reason;
      report.rejectDetail = f.index === undefined ? f.detail : `[${f.index}] ${f.detail}`;
    }
  }
  counters.readings += readings.length;
  for (let i = 0; i < readings.length; i++) {
    const r = readings[i]!;
    const outcome = recordReading(engine, r, nowMs, counters);
    if (outcome === 'accepted' || outcome === 'accepted_late') report.recorded++;
    else if (outcome === 'unknown_meter' || outcome === 'unknown_site' || outcome === 'future' || outcome === 'implausible') {
      report.rejected++;
      if (report.rejectReason === null) {
        report.rejectReason = outcome;
        report.rejectDetail = outcome === 'implausible' ? implausibleDetail(r) : `${outcome.replace('_', ' ')} '${outcome === 'unknown_site' ? r.site : r.meter}'`;
      }
    } else if (outcome === 'late') {
      report.rejected++;
      if (report.rejectReason === null) {
        report.rejectReason = 'late';
        report.rejectDetail = lateDetail(engine, r.site, r.meter, r.tsMs);
      }
    }
  }
  return report;
}

/** Where a late reading fell: its (shortest) window's end and the site's watermark, ISO times. */
function lateDetail(engine: WindowEngine, site: string, meter: string, tsMs: number): string {
  const windowMs = Math.min(...engine.settings.windowsMs);
  const endMs = windowStartMs(tsMs, windowMs) + windowMs;
  const watermarkMs = engine.siteWatermarkMs(site);
  const iso = (ms: number): string => (Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms));
  return `late '${meter}' at ${iso(tsMs)}: window end ${iso(endMs)}, watermark ${iso(watermarkMs)}, allowed lateness ${engine.settings.allowedLatenessMs} ms`;
}

/** `implausible reading from meter 'm' (watts 1e+308)`: the meter and its values, log-safe. */
function implausibleDetail(r: Reading): string {
  const values = READING_NUMBER_FIELDS.flatMap((f) => (r[f] === undefined ? [] : [`${f} ${r[f]}`]));
  return `implausible reading from meter '${r.meter}' (${values.join(', ')})`;
}
