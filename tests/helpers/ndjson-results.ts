/**
 * The results reader for tests: every line of a results NDJSON file, parsed. A torn last line
 * (no line break, not JSON: a write cut short by a crash) is skipped and counted, as the
 * replay reader does; any other line that does not parse is an error.
 */
import { readFile } from 'node:fs/promises';

export interface NdjsonResults<T> {
  records: T[];
  /** 1 when the file ended in a torn line, else 0. */
  tornLines: number;
}

export function parseNdjsonResults<T = unknown>(text: string): NdjsonResults<T> {
  const lines = text.split('\n');
  const last = lines.pop() ?? '';
  const records = lines.filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as T);
  if (last.trim() === '') return { records, tornLines: 0 };
  try {
    records.push(JSON.parse(last) as T);
    return { records, tornLines: 0 };
  } catch (err: unknown) {
    if (!(err instanceof SyntaxError)) throw err;
    return { records, tornLines: 1 };
  }
}

export async function readNdjsonResults<T = unknown>(path: string): Promise<NdjsonResults<T>> {
  return parseNdjsonResults<T>(await readFile(path, 'utf8'));
}
