/**
 * JetStream source against a real nats-server: stream and consumer set-up, sequences,
 * redelivery after ack_wait, pause (data stays in the stream), resume, per-site consumers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AckPolicy, nanos, StorageType, type JetStreamClient, type JetStreamManager, type NatsConnection } from 'nats';
import { pino } from 'pino';
import type { JetStreamSourceConfig } from '../../src/config/index.js';
import { JetStreamSetupError, JetStreamSource, type SourceMessage } from '../../src/sources/index.js';
import { retryUntil, type NatsServer } from '../helpers/servers.js';
import { startNatsWithClient, stopNatsWithClient } from '../helpers/nats.js';

const log = pino({ level: 'silent' });
const enc = new TextEncoder();
const dec = new TextDecoder();
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

type Overrides = { sites?: string[]; maxAckPending?: number; ackWaitMs?: number; batch?: number; expiresMs?: number };

function sourceConfig(prefix: string, overrides: Overrides = {}): Cfg {
  const { maxAckPending = 1000, batch = 100, expiresMs = 1000, ackWaitMs = 30_000 } = overrides;
  return {
    subjectPrefix: prefix,
    sites: overrides.sites,
    stream: { name: prefix.toUpperCase(), subjects: [`${prefix}.>`], maxAgeMs: 3_600_000, maxBytes: 64 * 1024 * 1024, replicas: 1, storage: 'file' },
    consumer: { durable: 'headroom', maxAckPending, batch, expiresMs, ackWaitMs },
  };
}

async function publish(subject: string, count: number, from = 0): Promise<void> {
  for (let i = from; i < from + count; i++) await js.publish(subject, enc.encode(JSON.stringify({ meter: 'm1', ts: 1_700_000_000_000 + i * 1000, watts: i })));
}

describe('JetStreamSource', () => {
  it('creates the stream and a durable pull consumer, delivers with sequences, and leaves acking to the handler', async () => {
    const cfg = sourceConfig('jsa');
    const source = new JetStreamSource({ nc }, cfg, { log });
    const got: SourceMessage[] = [];
    await source.start((batch) => {
      for (const m of batch) {
        got.push(m);
        m.ack?.();
      }
    });
    const si = await jsm.streams.info('JSA');
    expect(si.config.subjects).toEqual(['jsa.>']);
    expect(si.config.max_age).toBe(nanos(3_600_000));
    expect(si.config.max_bytes).toBe(64 * 1024 * 1024);
    expect(si.config.storage).toBe(StorageType.File);
    const ci = await jsm.consumers.info('JSA', 'headroom');
    expect(ci.config.ack_policy).toBe(AckPolicy.Explicit);
    expect(ci.config.max_ack_pending).toBe(1000);
    expect(ci.config.ack_wait).toBe(nanos(30_000));
    expect(ci.config.deliver_subject).toBeUndefined();

    await publish('jsa.ash1.gw-1', 25);
    await retryUntil(async () => expect(got).toHaveLength(25));
    expect(got.map((m) => m.position)).toEqual(Array.from({ length: 25 }, (_, i) => ({ stream: 'JSA', sequence: i + 1 })));
    expect(got[0]?.subject).toBe('jsa.ash1.gw-1');
    expect(JSON.parse(dec.decode(got[3]?.payload))).toMatchObject({ watts: 3 });
    await retryUntil(async () => {
      const info = await jsm.consumers.info('JSA', 'headroom');
      expect(info.ack_floor.stream_seq).toBe(25);
      expect(info.num_ack_pending).toBe(0);
    });
    expect(source.counters.delivered).toBe(25);
    await source.stop();

    // Second start: present and compatible → updated in place, position kept.
    const again = new JetStreamSource({ nc }, sourceConfig('jsa', { maxAckPending: 42 }), { log });
    const later: SourceMessage[] = [];
    await again.start((batch) => {
      for (const m of batch) {
        later.push(m);
        m.ack?.();
      }
    });
    expect((await jsm.consumers.info('JSA', 'headroom')).config.max_ack_pending).toBe(42);
    await publish('jsa.ash1.gw-1', 1, 25);
    await retryUntil(async () => expect(later.map((m) => m.position?.sequence)).toEqual([26]));
    await again.stop();
  });

  it('refuses a consumer with another filter (JetStreamSetupError)', async () => {
    await jsm.streams.add({ name: 'JSX', subjects: ['jsx.>'] });
    await jsm.consumers.add('JSX', { durable_name: 'headroom', ack_policy: AckPolicy.Explicit, filter_subject: 'jsx.elsewhere.>' });
    const source = new JetStreamSource({ nc }, sourceConfig('jsx'), { log });
    await expect(source.start(() => undefined)).rejects.toBeInstanceOf(JetStreamSetupError);
    await source.stop();
  });

  it('redelivers a message that was not acked, after ack_wait, with the same sequence', async () => {
    // One pull that outlives the test (expires 20 s). nats-server before 2.10.14 drops a
    // redelivery that finds only an expired pull request waiting (back one ack_wait later) and
    // steps the consumer back, so the last message comes again as a first delivery
    // (nats-io/nats-server#5305). With 1 s pulls and ack_wait a whole multiple of that, each
    // redelivery fell due within milliseconds of a pull's expiry: under load, a coin flip.
    const source = new JetStreamSource({ nc }, sourceConfig('jsr', { ackWaitMs: 1000, expiresMs: 20_000 }), { log });
    const deliveries: number[] = [];
    await source.start((batch) => {
      for (const m of batch) {
        const seq = m.position?.sequence ?? -1;
        // Every message is acked on its second delivery only.
        if (deliveries.includes(seq)) m.ack?.();
        deliveries.push(seq);
      }
    });
    await publish('jsr.ash1.gw', 3);
    await retryUntil(async () => expect(deliveries).toHaveLength(6), 20_000);
    expect([...deliveries].sort((a, b) => a - b)).toEqual([1, 1, 2, 2, 3, 3]);
    expect(source.counters.redelivered).toBe(3);
    await sleep(1500);
    expect(deliveries).toHaveLength(6);
    const ci = await jsm.consumers.info('JSR', 'headroom');
    expect(ci.num_ack_pending).toBe(0);
    expect(ci.num_redelivered).toBe(0);
    await source.stop();
  });

  it('pause stops pulling while the data stays in the stream; resume delivers it', async () => {
    const source = new JetStreamSource({ nc }, sourceConfig('jsp'), { log, pendingRefreshMs: 200 });
    const got: number[] = [];
    await source.start((batch) => {
      for (const m of batch) {
        got.push(m.position?.sequence ?? -1);
        m.ack?.();
      }
    });
    await publish('jsp.ash1.gw', 5);
    await retryUntil(async () => expect(got).toHaveLength(5));
    source.pause();
    expect(source.health().detail).toBe('paused');
    // Paused: nothing more is handed over; what JetStream delivers meanwhile is held (unacked).
    await sleep(1500);
    await publish('jsp.ash1.gw', 40, 5);
    await sleep(2000);
    expect(got).toHaveLength(5);
    const si = await jsm.streams.info('JSP');
    expect(si.state.messages).toBe(45);
    expect(si.state.last_seq).toBe(45);
    await retryUntil(async () => expect(source.health().pending).toBe(40));
    source.resume();
    await retryUntil(async () => expect(got).toEqual(Array.from({ length: 45 }, (_, i) => i + 1)));
    await retryUntil(async () => expect(source.health().pending).toBe(0));
    await source.stop();
  });

  it('stop naks what a paused source holds: the next source on the durable gets each message at once, and once', async () => {
    // ack_wait 60 s: a message that came back only after ack_wait would run the wait below out.
    const cfg = sourceConfig('jsn', { ackWaitMs: 60_000 });
    const first = new JetStreamSource({ nc }, cfg, { log });
    await first.start((batch) => {
      for (const m of batch) m.ack?.();
    });
    first.pause();
    await publish('jsn.ash1.gw', 3);
    // All three delivered to the paused source (the only one pulling), held there unacked.
    await retryUntil(async () => {
      const ci = await jsm.consumers.info('JSN', 'headroom');
      expect(ci.num_ack_pending).toBe(3);
      expect(ci.num_pending).toBe(0);
    });
    await first.stop();

    const second = new JetStreamSource({ nc }, cfg, { log });
    const got: number[] = [];
    await second.start((batch) => {
      for (const m of batch) {
        got.push(m.position?.sequence ?? -1);
        m.ack?.();
      }
    });
    await retryUntil(async () => expect([...got].sort((a, b) => a - b)).toEqual([1, 2, 3]), 20_000);
    await retryUntil(async () => expect((await jsm.consumers.info('JSN', 'headroom')).num_ack_pending).toBe(0));
    expect(got).toHaveLength(3);
    expect(second.counters.redelivered).toBe(3);
    await second.stop();
  });

  it('with several sites, uses one durable consumer per site and skips other sites', async () => {
    const cfg = sourceConfig('jss', { sites: ['ash1', 'dfw2'] });
    const source = new JetStreamSource({ nc }, cfg, { log });
    const got: string[] = [];
    await source.start((batch) => {
      for (const m of batch) {
        got.push(m.subject);
        m.ack?.();
      }
    });
    expect(source.consumers).toEqual([
      { durable: 'headroom-ash1', filterSubject: 'jss.ash1.>' },
      { durable: 'headroom-dfw2', filterSubject: 'jss.dfw2.>' },
    ]);
    await publish('jss.ash1.gw', 3);
    await publish('jss.other.gw', 4);
    await publish('jss.dfw2.gw', 2);
    await retryUntil(async () => expect(got).toHaveLength(5));
    await sleep(500);
    expect(got.filter((s) => s.startsWith('jss.ash1.'))).toHaveLength(3);
    expect(got.filter((s) => s.startsWith('jss.dfw2.'))).toHaveLength(2);
    expect((await jsm.streams.info('JSS')).state.messages).toBe(9);
    await source.stop();
  });

  it('re-creates a consumer deleted under it and keeps delivering', async () => {
    const source = new JetStreamSource({ nc }, sourceConfig('jsd'), { log, maxRetryWaitMs: 500 });
    const got = new Set<number>();
    await source.start((batch) => {
      for (const m of batch) {
        got.add(m.position?.sequence ?? -1);
        m.ack?.();
      }
    });
    await publish('jsd.ash1.gw', 3);
    await retryUntil(async () => expect(got.size).toBe(3));
    await jsm.consumers.delete('JSD', 'headroom');
    await publish('jsd.ash1.gw', 3, 3);
    await retryUntil(async () => expect([...got].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]), 30_000);
    expect((await jsm.consumers.info('JSD', 'headroom')).config.durable_name).toBe('headroom');
    await source.stop();
  });

  it('stop resolves promptly while a pull is waiting for messages', async () => {
    const source = new JetStreamSource({ nc }, { ...sourceConfig('jst'), consumer: { ...sourceConfig('jst').consumer, expiresMs: 20_000 } }, { log });
    await source.start(() => undefined);
    await sleep(200);
    const t0 = performance.now();
    await source.stop();
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
