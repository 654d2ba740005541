/**
 * A JetStream source whose server stops answering is not caught up. When the leader of a
 * consumer dies, its pulls go unanswered until a new leader is elected, while messages may
 * already wait in the stream: `pending` (last seen 0) cannot tell. Were the source to say
 * "caught up" meanwhile, the pipeline would count the stall as silence and turn the sites idle
 * after `idleTimeout`, and every reading delivered after the election would be late (issue 12:
 * a worker group lost windows when a NATS node died). A hung server (SIGSTOP) makes the same
 * silence on one node: the consumer's idle heartbeats stop while the connection stays open.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from 'nats';
import { pino } from 'pino';
import type { JetStreamSourceConfig } from '../../src/config/index.js';
import { JetStreamSource, type SourceMessage } from '../../src/sources/index.js';
import { waitFor } from '../helpers/wait.js';
import { startNatsWithClient, stopNatsWithClient } from '../helpers/nats.js';
import type { NatsServer } from '../helpers/servers.js';

const log = pino({ level: 'silent' });

let server: NatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  ({ server, nc } = await startNatsWithClient({ jetstream: true }));
});

afterAll(async () => {
  server?.resume();
  await stopNatsWithClient(server, nc);
});

const config: Pick<JetStreamSourceConfig, 'subjectPrefix' | 'sites' | 'stream' | 'consumer'> = {
  subjectPrefix: 'jun',
  sites: undefined,
  stream: { name: 'JUN', subjects: ['jun.>'], maxAgeMs: 3_600_000, maxBytes: 64 * 1024 * 1024, replicas: 1, storage: 'file' },
  // expires 1 s: idle heartbeats every 500 ms, missed after about a second.
  consumer: { durable: 'headroom', maxAckPending: 1000, batch: 100, expiresMs: 1000, ackWaitMs: 30_000 },
};

describe('a JetStream source whose server stops answering', () => {
  it('is not caught up while its pulls go unanswered, and is again once the server answers', async () => {
    const source = new JetStreamSource({ nc }, config, { log, pendingRefreshMs: 200 });
    await source.start((batch: SourceMessage[]) => {
      for (const m of batch) m.ack?.();
    });
    try {
      await waitFor('caught up at the start', 10_000, () => (source.health().caughtUp === true ? true : null), 50);

      server.pause();
      const stalled = await waitFor('the source to notice the silence', 15_000, () => {
        const h = source.health();
        return h.caughtUp === false ? h : null;
      }, 50);
      // Nothing is pending as far as anyone can tell, and the connection is still open: only the
      // unanswered pulls say that the source cannot know what waits upstream.
      expect(stalled).toMatchObject({ connected: true, pending: 0, caughtUp: false, detail: 'consumer not answering' });

      server.resume();
      const answered = await waitFor('caught up again once the server answers', 30_000, () => {
        const h = source.health();
        return h.caughtUp === true ? h : null;
      }, 50);
      expect(answered.detail).toBeUndefined();
    } finally {
      server.resume();
      await source.stop();
    }
  }, 90_000);

  it('is not caught up from a disconnect until a pull is answered after the reconnect', async () => {
    // No connection-status tracker is given, as in-process workers run: `connected` stays true
    // while the client reconnects, and the client's heartbeat monitor is off meanwhile.
    const source = new JetStreamSource({ nc }, { ...config, consumer: { ...config.consumer, durable: 'reconnecting' } }, { log, pendingRefreshMs: 200 });
    await source.start((batch: SourceMessage[]) => {
      for (const m of batch) m.ack?.();
    });
    try {
      await waitFor('caught up at the start', 10_000, () => (source.health().caughtUp === true ? true : null), 50);
      const restarting = server.restart(3_000);
      const stalled = await waitFor('the source to notice the disconnect', 15_000, () => {
        const h = source.health();
        return h.caughtUp === false ? h : null;
      }, 20);
      expect(stalled).toMatchObject({ connected: true, caughtUp: false, detail: 'consumer not answering' });
      await restarting;
      await waitFor('caught up again after the reconnect', 40_000, () => (source.health().caughtUp === true ? true : null), 50);
    } finally {
      await source.stop();
    }
  }, 90_000);
});
