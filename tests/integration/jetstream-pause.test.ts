/**
 * A paused JetStream source never strands delivered messages: what JetStream already sent is
 * held (unacked, its ack deadline extended) and handed over on resume, so ack_wait is never the
 * way back. And the source says when it is caught up (nothing pending, nothing held).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JetStreamClient, JetStreamManager, NatsConnection } from 'nats';
import { pino } from 'pino';
import type { JetStreamSourceConfig } from '../../src/config/index.js';
import { JetStreamSource, ensureConsumer, ensureStream, type SourceMessage } from '../../src/sources/index.js';
import { retryUntil, type NatsServer } from '../helpers/servers.js';
import { startNatsWithClient, stopNatsWithClient } from '../helpers/nats.js';

const log = pino({ level: 'silent' });
const enc = new TextEncoder();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let server: NatsServer;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;

beforeAll(async () => {
  ({ server, nc } = await startNatsWithClient({ jetstream: true }));
  js = nc.jetstream();
  jsm = await nc.jetstreamManager();
});

afterAll(() => stopNatsWithClient(server, nc));

type Cfg = Pick<JetStreamSourceConfig, 'subjectPrefix' | 'sites' | 'stream' | 'consumer'>;

function sourceConfig(prefix: string, ackWaitMs: number): Cfg {
  return {
    subjectPrefix: prefix,
    sites: undefined,
    stream: { name: prefix.toUpperCase(), subjects: [`${prefix}.>`], maxAgeMs: 3_600_000, maxBytes: 64 * 1024 * 1024, replicas: 1, storage: 'file' },
    consumer: { durable: 'headroom', maxAckPending: 1000, batch: 100, expiresMs: 1000, ackWaitMs },
  };
}

/** 4 KiB payloads: a pull's answer spans many socket reads, so a pause lands with messages on the wire. */
const PADDING = 'x'.repeat(4096);

async function publish(prefix: string, count: number): Promise<void> {
  const cfg = sourceConfig(prefix, 30_000);
  await ensureStream(jsm, cfg.stream, cfg.stream.subjects ?? [], log);
  const acks: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) acks.push(js.publish(`${prefix}.ash1.gw`, enc.encode(JSON.stringify({ meter: 'm1', ts: 1_700_000_000_000 + i * 1000, watts: i, note: PADDING }))));
  await Promise.all(acks);
}

/**
 * Starts a source whose handler acks everything and pauses the source once `pauseAfter`
 * messages were handed over (as the pipeline does on a full sink), mid-stream.
 */
async function startPausingSource(prefix: string, ackWaitMs: number, pauseAfter: number): Promise<{ source: JetStreamSource; got: number[] }> {
  const source = new JetStreamSource({ nc }, sourceConfig(prefix, ackWaitMs), { log, pendingRefreshMs: 200 });
  const got: number[] = [];
  let paused = false;
  await source.start((batch: SourceMessage[]) => {
    for (const m of batch) {
      got.push(m.position?.sequence ?? -1);
      m.ack?.();
    }
    if (!paused && got.length >= pauseAfter) {
      paused = true;
      source.pause();
    }
  });
  return { source, got };
}

describe('a paused JetStream source', () => {
  it('hands over every delivered message on resume at once, none stranded until ack_wait', async () => {
    // ack_wait 60 s: a stranded message would come back long after the 15 s this test waits.
    await publish('jpa', 1000);
    const { source, got } = await startPausingSource('jpa', 60_000, 250);
    await retryUntil(async () => expect(got.length).toBeGreaterThanOrEqual(250), 10_000, 10);
    await sleep(1000);
    const whilePaused = got.length;
    expect(whilePaused).toBeLessThan(1000);
    expect(source.health().detail).toBe('paused');
    source.resume();
    await retryUntil(async () => expect(got.length).toBeGreaterThanOrEqual(1000), 15_000, 20);
    expect(got).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(source.counters.redelivered).toBe(0);
    await retryUntil(async () => {
      const ci = await jsm.consumers.info('JPA', 'headroom');
      expect(ci.num_ack_pending).toBe(0);
      expect(ci.num_pending).toBe(0);
    }, 10_000);
    await source.stop();
  });

  it('paused longer than ack_wait, the held messages are not redelivered (their ack deadline is extended)', async () => {
    await publish('jpw', 300);
    const { source, got } = await startPausingSource('jpw', 1000, 120);
    await retryUntil(async () => expect(got.length).toBeGreaterThanOrEqual(120), 10_000, 10);
    // Five ack_waits while paused.
    await sleep(5000);
    source.resume();
    await retryUntil(async () => expect(got.length).toBeGreaterThanOrEqual(300), 15_000, 20);
    await sleep(500);
    expect(got).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(source.counters.redelivered).toBe(0);
    const ci = await jsm.consumers.info('JPW', 'headroom');
    expect(ci.num_redelivered).toBe(0);
    await source.stop();
  });

  it('is caught up only with nothing pending upstream and nothing held', async () => {
    const source = new JetStreamSource({ nc }, sourceConfig('jpc', 30_000), { log, pendingRefreshMs: 200 });
    const got: number[] = [];
    await source.start((batch) => {
      for (const m of batch) {
        got.push(m.position?.sequence ?? -1);
        m.ack?.();
      }
    });
    await retryUntil(async () => expect(source.health().caughtUp).toBe(true), 10_000, 20);
    source.pause();
    expect(source.health().caughtUp).toBe(false);
    await publish('jpc', 50);
    // Held or pending upstream: 50 messages not handed over yet.
    await retryUntil(async () => expect(source.health().pending).toBe(50), 10_000, 20);
    expect(source.health().caughtUp).toBe(false);
    source.resume();
    await retryUntil(async () => expect(got).toHaveLength(50), 10_000, 20);
    await retryUntil(async () => expect(source.health()).toMatchObject({ pending: 0, caughtUp: true }), 10_000, 20);
    await source.stop();
  });

  it('is not caught up while a delivered message is unacked elsewhere, until ack_wait brings it back', async () => {
    const cfg = sourceConfig('jpl', 3000);
    await publish('jpl', 1);
    await ensureConsumer(jsm, 'JPL', { durable: 'headroom' }, cfg.consumer, log);
    // Another client takes the message and never acks it (a delivery lost on the way).
    const taken = await (await js.consumers.get('JPL', 'headroom')).next({ expires: 2000 });
    expect(taken?.seq).toBe(1);
    const source = new JetStreamSource({ nc }, cfg, { log, pendingRefreshMs: 200 });
    const got: number[] = [];
    await source.start((batch) => {
      for (const m of batch) {
        got.push(m.position?.sequence ?? -1);
        m.ack?.();
      }
    });
    // Two quiet refreshes in: the unacked message counts as pending.
    await retryUntil(async () => expect(source.health()).toMatchObject({ pending: 1, caughtUp: false }), 2_500, 20);
    expect(got).toEqual([]);
    // ack_wait (3 s) brings it back; once recorded, the source is caught up.
    await retryUntil(async () => expect(got).toEqual([1]), 10_000, 20);
    await retryUntil(async () => expect(source.health()).toMatchObject({ pending: 0, caughtUp: true }), 10_000, 20);
    await source.stop();
  });
});
