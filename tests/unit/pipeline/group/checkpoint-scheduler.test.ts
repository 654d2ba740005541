import { describe, expect, it } from 'vitest';
import { CheckpointScheduler, DEFAULT_CHECKPOINT_INTERVAL_MS } from '../../../../src/pipeline/group/checkpoint-scheduler.js';

describe('CheckpointScheduler', () => {
  it('is due an interval after the last checkpoint, only with new messages', () => {
    const s = new CheckpointScheduler();
    expect(s.intervalMs).toBe(DEFAULT_CHECKPOINT_INTERVAL_MS);
    s.add(0, 100, 1_000);
    s.add(1, 0, 1_000);
    expect(s.due(20_000)).toEqual([]); // nothing processed since
    s.processed(0, 150);
    s.processed(1, 7);
    expect(s.due(10_999)).toEqual([]);
    expect(s.due(11_000)).toEqual([0, 1]);
    expect(s.processedSeq(0)).toBe(150);
    s.taken(0, 150, 11_000);
    expect(s.due(11_000)).toEqual([1]);
    s.processed(0, 140); // an older sequence never moves it back
    expect(s.processedSeq(0)).toBe(150);
    s.processed(0, 151);
    expect(s.due(20_999)).toEqual([1]);
    expect(s.due(21_000)).toEqual([0, 1]);
    expect(s.ageMs(0, 21_000)).toBe(10_000);
  });

  it('on release a final checkpoint is needed only when messages came after the last one', () => {
    const s = new CheckpointScheduler({ intervalMs: 5_000 });
    s.add(3, 10, 0);
    expect(s.needsFinal(3)).toBe(false);
    s.processed(3, 11);
    expect(s.needsFinal(3)).toBe(true);
    s.taken(3, 11, 1_000);
    expect(s.needsFinal(3)).toBe(false);
    s.remove(3);
    expect(s.needsFinal(3)).toBe(false);
    expect(s.due(1e9)).toEqual([]);
    expect(() => new CheckpointScheduler({ intervalMs: 0 })).toThrow(RangeError);
  });
});
