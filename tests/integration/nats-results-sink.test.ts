/**
 * NATS results sink against a real nats-server: window results on
 * `headroom.results.<site>`, alert transitions on `headroom.alerts.<site>`, the record as
 * JSON; while the connection is down a bounded buffer (oldest dropped, counted), published
 * in order after the reconnect.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Msg, type NatsConnection } from 'nats';
import { pino } from 'pino';
import { NatsResultsSink } from '../../src/sinks/nats-results-sink.js';
import type { AlertEvent, NodeWindow, OutputRecord } from '../../src/domain/index.js';
import type { NatsResultsSinkConfig } from '../../src/config/index.js';
import { retryUntil, startNats, type NatsServer } from '../helpers/servers.js';

const T0 = Date.UTC(2026, 2, 1);
const log = pino({ level: 'silent' });
const cfg: NatsResultsSinkConfig = { enabled: true, resultsPrefix: 'headroom.results', alertsPrefix: 'headroom.alerts' };

function nodeWindow(site: string, i: number): NodeWindow {
  return {
    type: 'node',
    site,
    node: 'pdu-1',
    level: 'pdu',
    windowMs: 10_000,
    start: T0 + i * 10_000,
    end: T0 + (i + 1) * 10_000,
    revision: 0,
    loadWatts: 1000 + i,
    peakWatts: 1100 + i,
    minWatts: 900 + i,
    energyWh: 2.8,
    ratingWatts: 20_000,
    usableWatts: 16_000,
    headroomWatts: 15_000 - i,
    utilization: 0.05,
    failoverHeadroomWatts: null,
    completeness: 1,
    headroomCertain: true,
    childrenLoadWatts: null,
    unmeteredWatts: null,
    rampWattsPerSecond: null,
    timeToBreachSeconds: null,
    swingWatts: null,
    swingPeriodSeconds: null,
    swingPeriodShare: null,
  };
}

const alert: AlertEvent = {
  type: 'alert',
  site: 'ash1',
  node: 'pdu-1',
  rule: 'headroom_low',
  severity: 'warning',
  state: 'firing',
  atMs: T0 + 60_000,
  windowMs: 60_000,
  value: 900,
  threshold: 1600,
  labels: { team: 'dc-ops' },
  annotations: { summary: 'headroom below 10%' },
};

interface Received {
  subject: string;
  record: OutputRecord;
}

describe('NATS results sink', () => {
  let server: NatsServer;
  let pub: NatsConnection;
  let sub: NatsConnection;
  const received: Received[] = [];

  beforeAll(async () => {
    server = await startNats({ jetstream: false });
    // Core NATS is at most once: the subscriber must be back before the publisher drains
    // its buffer, so it reconnects sooner.
    pub = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 2_000 });
    sub = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 50 });
    const onMsg = (err: Error | null, msg: Msg): void => {
      if (err === null) received.push({ subject: msg.subject, record: msg.json<OutputRecord>() });
    };
    sub.subscribe('headroom.results.>', { callback: onMsg });
    sub.subscribe('headroom.alerts.>', { callback: onMsg });
    await sub.flush();
  });

  afterAll(async () => {
    await pub?.close();
    await sub?.close();
    await server?.stop();
  });

  it('publishes window results and alert transitions as JSON on per-site subjects', async () => {
    received.length = 0;
    const sink = new NatsResultsSink(cfg, { nc: pub, log });
    const records: OutputRecord[] = [nodeWindow('ash1', 0), nodeWindow('dfw2', 0), alert, nodeWindow('ash1', 1)];
    sink.write(records);
    await sink.flush();
    await retryUntil(async () => {
      if (received.length < records.length) throw new Error(`${received.length} received`);
    }, 5_000, 20);
    expect(received.map((r) => r.subject)).toEqual(['headroom.results.ash1', 'headroom.results.dfw2', 'headroom.alerts.ash1', 'headroom.results.ash1']);
    expect(received.map((r) => r.record)).toEqual(records);
    expect(sink.stats()).toMatchObject({ published: 4, buffered: 0, connected: true });
    await sink.close();
  });

  it('buffers while disconnected (bounded, oldest dropped and counted) and publishes after the reconnect', async () => {
    received.length = 0;
    const sink = new NatsResultsSink(cfg, { nc: pub, log, maxBuffered: 5 });
    const restarting = server.restart();
    await retryUntil(async () => {
      if (sink.stats().connected) throw new Error('still connected');
    }, 10_000, 10);
    const during = Array.from({ length: 8 }, (_, i) => nodeWindow('ash1', 100 + i));
    const t = performance.now();
    sink.write(during);
    expect(performance.now() - t).toBeLessThan(20);
    expect(sink.health()).toMatchObject({ buffered: 5, capacity: Number.POSITIVE_INFINITY, failed: false });
    expect(sink.stats().droppedByReason.buffer_full).toBe(3);
    await restarting;
    await sink.flush();
    await retryUntil(async () => {
      if (received.length < 5) throw new Error(`${received.length} received`);
    }, 15_000, 50);
    // The newest five, in order.
    expect(received.map((r) => r.record)).toEqual(during.slice(3));
    expect(sink.stats()).toMatchObject({ published: 5, buffered: 0, connected: true });
    await sink.close();
  }, 30_000);
});

describe('NATS results sink into a JetStream stream', () => {
  let server: NatsServer;
  let nc: NatsConnection;

  beforeAll(async () => {
    server = await startNats({ jetstream: true });
    nc = await connect({ servers: server.url });
  });

  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  it('a record re-sent by another sink (a take-over) is stored once; a later revision is kept', async () => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'RESULTS', subjects: ['headroom.results.>', 'headroom.alerts.>'], duplicate_window: 60 * 1e9 });
    const first = [nodeWindow('ash1', 0), nodeWindow('ash1', 1), alert];
    const before = new NatsResultsSink(cfg, { nc, log });
    before.write(first);
    await before.close();
    // The next owner re-emits the same records after restoring, then restates window 1.
    const restated = { ...nodeWindow('ash1', 1), revision: 1, loadWatts: 1234 };
    const after = new NatsResultsSink(cfg, { nc, log });
    after.write([...first, restated, nodeWindow('ash1', 2)]);
    await after.close();
    expect(after.stats().published).toBe(5);

    const stored = await retryUntil(async () => {
      const info = await jsm.streams.info('RESULTS');
      if (info.state.messages < 5) throw new Error(`${info.state.messages} stored`);
      return info.state.messages;
    }, 5_000, 50);
    expect(stored).toBe(5);
    const records: OutputRecord[] = [];
    for (let seq = 1; seq <= stored; seq++) records.push((await jsm.streams.getMessage('RESULTS', { seq })).json<OutputRecord>());
    expect(records).toEqual([...first, restated, nodeWindow('ash1', 2)]);
  });
});
