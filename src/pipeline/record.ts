/**
 * `headroom record` (docs/design.md section 9): NATS messages → NDJSON files for replay later. The
 * NATS tap (sources) reads core subjects or a JetStream stream; the NDJSON recorder (sinks)
 * writes one message a line, with gzip and rotation. Here the two are put together: stopping
 * drains the tap, then the file is closed, and the summary says what was written.
 */
import type { NdjsonRecorder } from '../sinks/index.js';
import { tapNats, type NatsConnection, type RecordFrom } from '../sources/index.js';

export interface RecordSummary {
  type: 'record-summary';
  messages: number;
  bytes: number;
  rewritten: number;
  skipped: number;
  files: string[];
  /** Set when the stop came before any message could be received (JetStream: the consumer was not ready yet). */
  stoppedWhile?: 'waiting-for-consumer';
}

/**
 * Records until `signal` aborts (or, for JetStream with `stopAtEnd`, until caught up), then
 * drains and closes the file. Resolves with what was written. Every wait (subscribing,
 * creating the consumer, idle, writing) ends promptly when `signal` aborts.
 */
export async function recordNats(nc: NatsConnection, from: RecordFrom, recorder: NdjsonRecorder, signal: AbortSignal): Promise<RecordSummary> {
  let consumed = true;
  try {
    consumed = await tapNats(nc, from, recorder, signal);
  } finally {
    await recorder.close();
  }
  const s = recorder.stats;
  return {
    type: 'record-summary',
    messages: s.messages,
    bytes: s.bytes,
    rewritten: s.rewritten,
    skipped: s.skipped,
    files: [...s.files],
    ...(consumed ? {} : { stoppedWhile: 'waiting-for-consumer' as const }),
  };
}
