/**
 * The NATS tap of `headroom record` (docs/design.md section 9): raw payloads, as received, from core
 * NATS subjects or a JetStream stream, handed to a writer in arrival order. Stopping (the
 * signal) drains the subscriptions, so messages already received reach the writer: no tail
 * is lost. The writer (the NDJSON recorder) is the sink side.
 */
import { DeliverPolicy, type ConsumerMessages, type NatsConnection, type Subscription } from 'nats';
import { dropAfterStop, STOPPED, unlessStopped } from './stoppable.js';

/** Where to read from. */
export type RecordFrom =
  /** Core NATS subscriptions (at most once, from now on). */
  | { kind: 'core'; subjects: string[] }
  /**
   * A JetStream stream through an ordered consumer, from a sequence, a time, the start or
   * only new messages. `stopAtEnd`: finish once caught up with the stream's last message.
   */
  | { kind: 'jetstream'; stream: string; subjects?: string[]; startSeq?: number; startTimeMs?: number; newOnly?: boolean; stopAtEnd?: boolean };

/** Where the tap writes: `write` returns false when the caller should wait for `drained()`; it may throw (the tap stops with that error). */
export interface TapWriter {
  write(payload: Uint8Array): boolean;
  drained(): Promise<void>;
}

/**
 * Hands every message to `writer` until `signal` aborts (or, for JetStream with `stopAtEnd`,
 * until caught up). Every wait (subscribing, creating the consumer, idle, writing) ends
 * promptly when `signal` aborts. Resolves false when stopped before the JetStream consumer
 * was ready (nothing could be received), true otherwise.
 */
export async function tapNats(nc: NatsConnection, from: RecordFrom, writer: TapWriter, signal: AbortSignal): Promise<boolean> {
  if (from.kind === 'core') {
    await tapCore(nc, from.subjects, writer, signal);
    return true;
  }
  return tapJetStream(nc, from, writer, signal);
}

async function tapCore(nc: NatsConnection, subjects: string[], writer: TapWriter, signal: AbortSignal): Promise<void> {
  let failure: unknown = null;
  const subs: Subscription[] = subjects.map((subject) =>
    nc.subscribe(subject, {
      // Callbacks run in arrival order across subscriptions: one file order for all.
      callback: (err, msg) => {
        if (err !== null) failure ??= err;
        else {
          try {
            writer.write(msg.data);
          } catch (e: unknown) {
            failure ??= e;
          }
        }
      },
    }),
  );
  // The server has the subscriptions before we report "recording" (unless stopped first).
  if ((await unlessStopped(nc.flush(), signal)) !== STOPPED) {
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }
  // Drain: messages the client already holds go through the callbacks first.
  await Promise.all(subs.map((s) => s.drain()));
  if (failure !== null) throw failure instanceof Error ? failure : new Error(String(failure));
}

/** The ordered consumer's start: a sequence, a time, only new messages, or the whole stream. */
function deliverOptions(from: Extract<RecordFrom, { kind: 'jetstream' }>): { deliver_policy?: DeliverPolicy; opt_start_seq?: number; opt_start_time?: string } {
  if (from.startSeq !== undefined) return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from.startSeq };
  if (from.startTimeMs !== undefined) return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(from.startTimeMs).toISOString() };
  if (from.newOnly === true) return { deliver_policy: DeliverPolicy.New };
  // The whole stream: no policy, so the ordered consumer starts at sequence 1. Asking for
  // DeliverPolicy.All makes nats.js 2.29 send it together with opt_start_seq 1, which the
  // server rejects, and the client then retries for ever: `record --stream X` hung.
  return {};
}

/** Returns false when stopped before the consumer was ready. */
async function tapJetStream(nc: NatsConnection, from: Extract<RecordFrom, { kind: 'jetstream' }>, writer: TapWriter, signal: AbortSignal): Promise<boolean> {
  const js = nc.jetstream();
  const consumer = await unlessStopped(js.consumers.get(from.stream, { ...deliverOptions(from), ...(from.subjects !== undefined ? { filterSubjects: from.subjects } : {}) }), signal);
  if (consumer === STOPPED) return false;
  if (from.stopAtEnd === true) {
    const info = await unlessStopped(consumer.info(true), signal);
    if (info === STOPPED) return false;
    if (info.num_pending === 0) return true;
  }
  const messages = await unlessStopped(consumer.consume(), signal, (late) => void closeMessages(late));
  if (messages === STOPPED) return false;
  const stop = (): void => {
    void closeMessages(messages);
  };
  signal.addEventListener('abort', stop, { once: true });
  try {
    if (!signal.aborted) {
      for await (const m of messages) {
        if (!writer.write(m.data)) await unlessStopped(writer.drained(), signal);
        if (from.stopAtEnd === true && m.info.pending === 0) break;
        if (signal.aborted) break;
      }
    }
  } finally {
    signal.removeEventListener('abort', stop);
    await closeMessages(messages);
  }
  return true;
}

/** Stops the pull; never rejects (it runs from signal handlers and after a stop). */
async function closeMessages(messages: ConsumerMessages): Promise<void> {
  await messages.close().then(undefined, dropAfterStop);
}
