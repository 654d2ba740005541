/**
 * The JSON text of a batch of output records, made once per batch and shared by the sinks that
 * write JSON (NDJSON, NATS results): the router hands every sink the same array, so the second
 * sink finds the text the first one made. Held weakly: it goes with the batch.
 */
import type { OutputRecord } from '../domain/index.js';

const texts = new WeakMap<readonly OutputRecord[], readonly string[]>();

/** `JSON.stringify` of every record of `records`, in order. */
export function recordsJson(records: readonly OutputRecord[]): readonly string[] {
  let json = texts.get(records);
  if (json === undefined) {
    json = records.map((record) => JSON.stringify(record));
    texts.set(records, json);
  }
  return json;
}
