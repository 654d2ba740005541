/** Core NATS source against a real nats-server: single and batched delivery, site filter, pause, stop. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from 'nats';
import { pino } from 'pino';
import { NatsSource, type SourceMessage } from '../../src/sources/index.js';
import { retryUntil, type NatsServer } from '../helpers/servers.js';
import { startNatsWithClient, stopNatsWithClient } from '../helpers/nats.js';

const log = pino({ level: 'silent' });
const enc = new TextEncoder();
const dec = new TextDecoder();

let server: NatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  ({ server, nc } = await startNatsWithClient({ jetstream: false }));
});

afterAll(() => stopNatsWithClient(server, nc));

describe('NatsSource', () => {
  it('delivers a single message with its subject and payload', async () => {
    const source = new NatsSource({ nc }, { subjectPrefix: 'single', sites: undefined }, { log });
    const batches: SourceMessage[][] = [];
    await source.start((batch) => {
      batches.push(batch);
    });
    expect(source.subjects).toEqual(['single.>']);
    const reading = { meter: 'm1', ts: 1_700_000_000_000, watts: 1200 };
    nc.publish('single.ash1.gw-1', enc.encode(JSON.stringify(reading)));
    await retryUntil(async () => expect(batches.flat()).toHaveLength(1));
    const [msg] = batches.flat();
    expect(msg?.subject).toBe('single.ash1.gw-1');
    expect(JSON.parse(dec.decode(msg?.payload))).toEqual(reading);
    expect(msg?.position).toBeUndefined();
    expect(msg?.ack).toBeUndefined();
    expect(source.health().connected).toBe(true);
    await source.stop();
  });

  it('hands what arrived while the handler was busy over as one batch, in order', async () => {
    const source = new NatsSource({ nc }, { subjectPrefix: 'batched', sites: undefined }, { log, maxBatchMessages: 1000 });
    const batches: SourceMessage[][] = [];
    let release: () => void = () => undefined;
    const firstHandled = new Promise<void>((resolve) => {
      release = resolve;
    });
    await source.start(async (batch) => {
      batches.push(batch);
      if (batches.length === 1) await firstHandled;
    });
    nc.publish('batched.ash1.gw-1', enc.encode('0'));
    await retryUntil(async () => expect(batches).toHaveLength(1));
    for (let i = 1; i < 300; i++) nc.publish('batched.ash1.gw-1', enc.encode(String(i)));
    await nc.flush();
    await retryUntil(async () => expect(source.counters.received).toBe(300));
    release();
    await retryUntil(async () => expect(batches.flat()).toHaveLength(300));
    expect(batches).toHaveLength(2);
    expect(batches[1]).toHaveLength(299);
    expect(batches.flat().map((m) => Number(dec.decode(m.payload)))).toEqual(Array.from({ length: 300 }, (_, i) => i));
    await source.stop();
  });

  it('subscribes only to the configured sites', async () => {
    const source = new NatsSource({ nc }, { subjectPrefix: 'filtered', sites: ['ash1', 'dfw2'] }, { log });
    const got: string[] = [];
    await source.start((batch) => {
      for (const m of batch) got.push(m.subject);
    });
    expect(source.subjects).toEqual(['filtered.ash1.>', 'filtered.dfw2.>']);
    for (const site of ['ash1', 'dfw2', 'other']) nc.publish(`filtered.${site}.gw`, enc.encode('{}'));
    nc.publish('filtered.end.gw', enc.encode('{}'));
    await source.stop();
    expect(got.sort()).toEqual(['filtered.ash1.gw', 'filtered.dfw2.gw']);
  });

  it('drops and counts messages while paused; delivers again after resume', async () => {
    const source = new NatsSource({ nc }, { subjectPrefix: 'paused', sites: undefined }, { log });
    const got: string[] = [];
    await source.start((batch) => {
      for (const m of batch) got.push(dec.decode(m.payload));
    });
    source.pause();
    for (let i = 0; i < 10; i++) nc.publish('paused.ash1.gw', enc.encode(`p${i}`));
    await nc.flush();
    await retryUntil(async () => expect(source.counters.droppedWhilePaused).toBe(10));
    expect(source.health().detail).toContain('10 messages dropped while paused');
    source.resume();
    nc.publish('paused.ash1.gw', enc.encode('after'));
    await retryUntil(async () => expect(got).toEqual(['after']));
    await source.stop();
  });

  it('stop drains the subscription and hands every received message over', async () => {
    const source = new NatsSource({ nc }, { subjectPrefix: 'drain', sites: undefined }, { log, maxBatchMessages: 7 });
    let count = 0;
    await source.start(async (batch) => {
      count += batch.length;
      await new Promise((r) => setTimeout(r, 5));
    });
    for (let i = 0; i < 100; i++) nc.publish('drain.ash1.gw', enc.encode('{}'));
    await nc.flush();
    await retryUntil(async () => expect(source.counters.received).toBe(100));
    await source.stop();
    expect(count).toBe(100);
    expect(source.counters.delivered).toBe(100);
  });
});
