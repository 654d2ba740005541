/**
 * Resilience: 2,000 readings in JetStream, nats-server restarted (same port and store dir)
 * mid-consumption. The source reconnects and every sequence is delivered and acked at least
 * once, none missing; the consumer ends with nothing pending.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from 'nats';
import { pino } from 'pino';
import { connectNats, JetStreamSource, type NatsHandle } from '../../src/sources/index.js';
import { retryUntil, startNats, type NatsServer } from '../helpers/servers.js';

const log = pino({ level: 'silent' });
const enc = new TextEncoder();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const TOTAL = 2000;

let server: NatsServer;

beforeAll(async () => {
  server = await startNats({ jetstream: true });
});

afterAll(async () => {
  await server?.stop();
});

describe('JetStreamSource across a nats-server restart', () => {
  it('delivers and acks every sequence at least once, none missing', async () => {
    const handle: NatsHandle = await connectNats({ servers: [server.url], name: 'resilience' }, { env: {}, readFile: () => '', log });
    const source = new JetStreamSource(
      handle,
      {
        subjectPrefix: 'telemetry',
        sites: undefined,
        stream: { name: 'TELEMETRY', subjects: ['telemetry.>'], maxAgeMs: 0, maxBytes: undefined, replicas: 1, storage: 'file' },
        consumer: { durable: 'headroom', maxAckPending: 500, batch: 50, expiresMs: 1000, ackWaitMs: 2000 },
      },
      { log, status: handle.status, maxRetryWaitMs: 1000 },
    );
    const deliveries = new Map<number, number>();
    // Once 300 sequences are in, the handler holds its batch until the connection to the
    // restarting server is down: the restart lands mid-stream whatever the machine's speed
    // (the held batch's acks go to a dead connection and come back as redeliveries).
    let releaseHold: () => void = () => undefined;
    const hold = new Promise<void>((resolve) => (releaseHold = resolve));
    await source.start(async (batch) => {
      await sleep(10);
      if (deliveries.size >= 300) await hold;
      for (const m of batch) {
        const seq = m.position?.sequence ?? -1;
        deliveries.set(seq, (deliveries.get(seq) ?? 0) + 1);
        m.ack?.();
      }
    });

    const publisher: NatsConnection = await connect({ servers: server.url });
    const js = publisher.jetstream();
    for (let i = 0; i < TOTAL; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, k) =>
          js.publish(`telemetry.ash1.gw-${(i + k) % 7}`, enc.encode(JSON.stringify({ meter: `m${(i + k) % 7}`, ts: 1_700_000_000_000 + i + k, watts: 1000 + k }))),
        ),
      );
    }
    await publisher.close();

    await retryUntil(async () => expect(deliveries.size).toBeGreaterThanOrEqual(300), 30_000, 20);
    expect(deliveries.size).toBeLessThan(TOTAL);
    const restarted = server.restart();
    await retryUntil(async () => expect(handle.status.state).not.toBe('connected'), 30_000, 5);
    releaseHold();
    await restarted;
    const deliveredBeforeReconnect = deliveries.size;
    await retryUntil(async () => expect(handle.status.reconnects).toBe(1), 30_000);

    // The restart really landed mid-stream: most sequences came after it.
    expect(deliveredBeforeReconnect).toBeLessThan(TOTAL);
    await retryUntil(async () => expect(deliveries.size).toBe(TOTAL), 60_000);
    // Every extra delivery is a redelivery the server flagged (unacked when the server went away).
    const extraDeliveries = [...deliveries.values()].reduce((a, b) => a + b, 0) - TOTAL;
    expect(extraDeliveries).toBeLessThanOrEqual(source.counters.redelivered);
    const missing = Array.from({ length: TOTAL }, (_, i) => i + 1).filter((seq) => !deliveries.has(seq));
    expect(missing).toEqual([]);
    expect(Math.min(...deliveries.values())).toBeGreaterThanOrEqual(1);

    const jsm = await handle.nc.jetstreamManager();
    await retryUntil(async () => {
      const ci = await jsm.consumers.info('TELEMETRY', 'headroom');
      expect(ci.num_pending).toBe(0);
      expect(ci.num_ack_pending).toBe(0);
      expect(ci.ack_floor.stream_seq).toBe(TOTAL);
    }, 30_000);
    expect(source.health()).toMatchObject({ connected: true, pending: 0 });
    await source.stop();
    await handle.nc.close();
  }, 120_000);
});
