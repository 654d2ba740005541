/**
 * A backlog is not lateness (1/2): NATS is down for 45 s while the gateway stores and
 * forwards. The live worker's sites must not advance on the wall clock while its source is
 * disconnected (idleTimeout is 30 s, shorter than the outage), so when NATS is back and the
 * gateway publishes what it kept, every reading is accepted and the final windows equal a
 * replay of the same readings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WindowEngine } from '../../src/core/index.js';
import { Pipeline } from '../../src/pipeline/index.js';
import { connectNats } from '../../src/sources/index.js';
import { createLogger } from '../../src/telemetry/index.js';
import { backlogConfig, backlogSource, expectEveryReadingRecorded, expectSameFinals, nodeFinals, replayFinals } from '../helpers/backlog.js';
import { CollectingSink } from '../helpers/collecting-sink.js';
import { retryUntil, startNats, type NatsServer } from '../helpers/servers.js';
import { StoreAndForwardGateway } from '../helpers/store-and-forward.js';

const OUTAGE_MS = 45_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let server: NatsServer;

beforeAll(async () => {
  server = await startNats({ jetstream: true });
});

afterAll(async () => {
  await server?.stop();
});

describe('NATS down 45 s, gateways store and forward', () => {
  it('after recovery every reading is in the final windows, equal to a replay', async () => {
    const config = backlogConfig();
    expect(config.engine.idleTimeoutMs).toBeLessThan(OUTAGE_MS);
    const log = createLogger({ level: 'silent' });
    const handle = await connectNats({ servers: [server.url], name: 'backlog-worker' }, { env: {}, readFile: () => '', log }, { policy: { initialWaitMs: 250, maxWaitMs: 1000, jitterMs: 100 } });
    const source = backlogSource(handle, log, 'OUTAGE');
    const sink = new CollectingSink();
    const pipeline = new Pipeline({
      config: { subjectPrefix: 'telemetry', maxMessageBytes: 1 << 20 },
      engine: new WindowEngine(config.topology, config.engine),
      source,
      sinks: [sink],
      clock: Date.now,
      logger: log,
      natsStatus: handle.status,
      tickMs: 100,
    });
    await pipeline.start();
    const gateway = new StoreAndForwardGateway(server.url, config.topology, 45);
    gateway.start();
    try {
      // 10 s of normal operation.
      await sleep(10_000);
      // Between two publishes, with everything consumed, NATS goes away for 45 s.
      gateway.hold = true;
      await retryUntil(async () => {
        if (gateway.publishedReadings === 0 || pipeline.counters.readings !== gateway.publishedReadings) throw new Error(`${pipeline.counters.readings}/${gateway.publishedReadings}`);
      }, 30_000, 20);
      const outage = server.restart(OUTAGE_MS);
      await retryUntil(async () => {
        if (handle.status.state === 'connected') throw new Error('still connected');
      }, 30_000, 20);
      gateway.hold = false;
      await outage;
      await retryUntil(async () => {
        if (handle.status.state !== 'connected') throw new Error(handle.status.state);
      }, 30_000, 100);
      // The gateway forwards what it kept; 10 s more of normal operation.
      await sleep(10_000);
      expect(gateway.failures).toBeGreaterThan(0);
    } finally {
      await gateway.stop();
    }
    await expectEveryReadingRecorded(pipeline, gateway, handle);
    expect(handle.status.reconnects).toBeGreaterThanOrEqual(1);
    expect(pipeline.deadLetters).toEqual({});
    expectSameFinals(nodeFinals(sink.records), await replayFinals(config, gateway.generated));
  }, 240_000);
});
