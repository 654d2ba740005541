import { describe, expect, it } from 'vitest';
import { InvalidSubjectError, subjectMatches } from '../../../src/codec/index.js';
import { MemoryBus, MemoryDeadLetterPublisher, MemorySource } from '../../../src/sources/memory-bus.js';
import type { SourceMessage } from '../../../src/sources/types.js';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
/** Lets the source's delivery loop run (microtasks and one macrotask). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('subject matching', () => {
  const m = (pattern: string, subject: string): boolean => subjectMatches(pattern.split('.'), subject.split('.'));

  it.each([
    ['telemetry.ash1.gw1', 'telemetry.ash1.gw1', true],
    ['telemetry.ash1.gw1', 'telemetry.ash1.gw2', false],
    ['telemetry.*.gw1', 'telemetry.ash1.gw1', true],
    ['telemetry.*.gw1', 'telemetry.ash1.gw1.x', false],
    ['telemetry.*', 'telemetry.ash1.gw1', false],
    ['telemetry.>', 'telemetry.ash1', true],
    ['telemetry.>', 'telemetry.ash1.gw1.deep', true],
    ['telemetry.>', 'telemetry', false],
    ['telemetry.ash1.>', 'telemetry.dfw2.gw1', false],
    ['*.*.*', 'a.b.c', true],
    ['*.*.*', 'a.b', false],
    ['>', 'a', true],
  ])('%s against %s → %s', (pattern, subject, expected) => {
    expect(m(pattern, subject)).toBe(expected);
  });
});

describe('MemoryBus', () => {
  it('delivers to every matching subscription and counts unrouted messages', () => {
    const bus = new MemoryBus();
    const all = bus.subscribe('telemetry.>');
    const ash = bus.subscribe('telemetry.ash1.*');
    const other = bus.subscribe('headroom.deadletter.>');
    expect(bus.publish('telemetry.ash1.gw1', '{"a":1}')).toBe(2);
    expect(bus.publish('telemetry.dfw2.gw1', new Uint8Array([1]))).toBe(1);
    expect(bus.publish('nobody.listens', 'x')).toBe(0);
    expect(all.take(10).map((m) => m.subject)).toEqual(['telemetry.ash1.gw1', 'telemetry.dfw2.gw1']);
    expect(ash.take(10).map((m) => text(m.payload))).toEqual(['{"a":1}']);
    expect(other.pending).toBe(0);
    expect(bus.unrouted).toBe(1);
  });

  it('rejects malformed subjects and wildcards on publish', () => {
    const bus = new MemoryBus();
    expect(() => bus.publish('telemetry.*.gw1', 'x')).toThrow(InvalidSubjectError);
    expect(() => bus.publish('telemetry..gw1', 'x')).toThrow(InvalidSubjectError);
    expect(() => bus.subscribe('telemetry.>.gw1')).toThrow(InvalidSubjectError);
    expect(() => bus.subscribe('')).toThrow(InvalidSubjectError);
  });

  it('bounds each subscriber queue: overflow is dropped and counted, other subscribers unaffected', () => {
    const bus = new MemoryBus();
    const small = bus.subscribe('t.>', { maxQueuedMessages: 3 });
    const big = bus.subscribe('t.>', { maxQueuedMessages: 100 });
    for (let i = 0; i < 10; i++) bus.publish('t.x', String(i));
    expect(small.pending).toBe(3);
    expect(small.dropped).toBe(7);
    expect(small.received).toBe(10);
    expect(small.take(10).map((m) => text(m.payload))).toEqual(['0', '1', '2']);
    expect(big.pending).toBe(10);
    bus.publish('t.x', 'again');
    expect(small.take(10).map((m) => text(m.payload))).toEqual(['again']);
  });

  it('unsubscribe stops delivery and removes the subscription', () => {
    const bus = new MemoryBus();
    const sub = bus.subscribe('t.>');
    sub.unsubscribe();
    expect(bus.publish('t.x', 'x')).toBe(0);
    expect(bus.subscriptionCount).toBe(0);
  });
});

describe('MemorySource', () => {
  it('hands over batches in order from <prefix>.>', async () => {
    const bus = new MemoryBus();
    const source = new MemorySource(bus, { subjectPrefix: 'telemetry' }, { maxBatchMessages: 2 });
    const batches: SourceMessage[][] = [];
    await source.start((b) => {
      batches.push(b);
    });
    expect(source.patterns).toEqual(['telemetry.>']);
    for (let i = 0; i < 5; i++) bus.publish(`telemetry.ash1.gw${i}`, String(i));
    bus.publish('other.ash1.gw', 'ignored');
    await settle();
    expect(batches.map((b) => b.length)).toEqual([2, 2, 1]);
    expect(batches.flat().map((m) => text(m.payload))).toEqual(['0', '1', '2', '3', '4']);
    expect(source.health()).toMatchObject({ connected: true, pending: 0 });
    await source.stop();
    expect(source.health().connected).toBe(false);
  });

  it('subscribes per site when sites are configured', () => {
    const source = new MemorySource(new MemoryBus(), { subjectPrefix: 'telemetry', sites: ['ash1', 'fra3'] });
    expect(source.patterns).toEqual(['telemetry.ash1.>', 'telemetry.fra3.>']);
  });

  it('holds messages while paused (bounded, drops counted) and hands them over on resume', async () => {
    const bus = new MemoryBus();
    const source = new MemorySource(bus, { subjectPrefix: 't' }, { maxQueuedMessages: 4 });
    const got: string[] = [];
    await source.start((b) => {
      for (const m of b) got.push(text(m.payload));
    });
    source.pause();
    for (let i = 0; i < 6; i++) bus.publish('t.s.g', String(i));
    await settle();
    expect(got).toEqual([]);
    expect(source.dropped).toBe(2);
    expect(source.health()).toMatchObject({ pending: 4, detail: 'paused' });
    source.resume();
    await settle();
    expect(got).toEqual(['0', '1', '2', '3']);
    await source.stop();
  });

  it('stop hands over what is queued even when paused', async () => {
    const bus = new MemoryBus();
    const source = new MemorySource(bus, { subjectPrefix: 't' });
    const got: string[] = [];
    await source.start((b) => {
      for (const m of b) got.push(text(m.payload));
    });
    source.pause();
    bus.publish('t.s.g', 'a');
    bus.publish('t.s.g', 'b');
    await source.stop();
    expect(got).toEqual(['a', 'b']);
    bus.publish('t.s.g', 'after');
    await settle();
    expect(got).toEqual(['a', 'b']);
  });

  it('waits for an async handler before the next batch', async () => {
    const bus = new MemoryBus();
    const source = new MemorySource(bus, { subjectPrefix: 't' }, { maxBatchMessages: 1 });
    let inFlight = 0;
    let maxInFlight = 0;
    await source.start(async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await settle();
      inFlight--;
    });
    for (let i = 0; i < 3; i++) bus.publish('t.s.g', String(i));
    await source.stop();
    expect(maxInFlight).toBe(1);
    expect(source.delivered).toBe(3);
  });
});

describe('MemoryDeadLetterPublisher', () => {
  it('publishes the payload on <prefix>.<site> with reason and detail headers; _unknown for a bad site', () => {
    const bus = new MemoryBus();
    const sub = bus.subscribe('headroom.deadletter.>');
    const dl = new MemoryDeadLetterPublisher(bus, { enabled: true, subjectPrefix: 'headroom.deadletter' });
    dl.publish('ash1', 'schema', new TextEncoder().encode('{"bad":1}'), 'missing meter');
    dl.publish('', 'malformed_json', new TextEncoder().encode('{'));
    const [a, b] = sub.take(10);
    expect(a).toMatchObject({ subject: 'headroom.deadletter.ash1', headers: { 'Headroom-Reason': 'schema', 'Headroom-Detail': 'missing meter' } });
    expect(text(a!.payload)).toBe('{"bad":1}');
    expect(b).toMatchObject({ subject: 'headroom.deadletter._unknown', headers: { 'Headroom-Reason': 'malformed_json' } });
    expect(dl.published).toBe(2);
  });

  it('publishes nothing when disabled', () => {
    const bus = new MemoryBus();
    const sub = bus.subscribe('>');
    new MemoryDeadLetterPublisher(bus, { enabled: false, subjectPrefix: 'dl' }).publish('a', 'schema', new Uint8Array());
    expect(sub.pending).toBe(0);
  });
});
