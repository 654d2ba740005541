import { describe, expect, it } from 'vitest';
import type { OutputRecord } from '../../../src/domain/index.js';
import { recordsJson } from '../../../src/sinks/record-json.js';

const site = (start: number): OutputRecord =>
  ({ type: 'site', site: 's1', windowMs: 10_000, start, end: start + 10_000, revision: 0, loadWatts: 1.5 }) as unknown as OutputRecord;

describe('recordsJson', () => {
  it('is JSON.stringify of each record, made once per batch', () => {
    const batch = [site(0), site(10_000)];
    const first = recordsJson(batch);
    expect(first).toEqual(batch.map((r) => JSON.stringify(r)));
    expect(recordsJson(batch)).toBe(first);
  });

  it('keeps batches apart, even with equal content', () => {
    const a = [site(0)];
    const b = [site(0)];
    expect(recordsJson(b)).not.toBe(recordsJson(a));
    expect(recordsJson(b)).toEqual(recordsJson(a));
  });
});
