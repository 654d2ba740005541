/**
 * Bad input through a live worker on a real nats-server: malformed JSON, schema failures,
 * unknown meters and oversized messages are counted by reason and re-published to
 * `headroom.deadletter.<site>` with the reason in a header; the worker keeps going.
 */
import { StringCodec, type Msg, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WindowEngine } from '../../src/core/index.js';
import { Pipeline } from '../../src/pipeline/index.js';
import { DEAD_LETTER_REASON_HEADER, NatsDeadLetterPublisher, NatsSource } from '../../src/sources/index.js';
import { createLogger } from '../../src/telemetry/index.js';
import { retryUntil, type NatsServer } from '../helpers/servers.js';
import { CollectingSink } from '../helpers/collecting-sink.js';
import { configFromText } from '../helpers/config.js';
import { startNatsWithClient, stopNatsWithClient } from '../helpers/nats.js';

const CONFIG = `
pipeline: { windows: [10s] }
sites:
  - id: dl1
    nodes:
      - { id: intake, level: grid, role: facility, rating: 1MW, meters: [main] }
source: { kind: nats, maxMessageBytes: 2048 }
deadLetter: { enabled: true }
`;
const T0 = Date.UTC(2026, 2, 1);


let server: NatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  ({ server, nc } = await startNatsWithClient({ jetstream: false }));
});

afterAll(() => stopNatsWithClient(server, nc));

describe('dead letters through a live worker', () => {
  it('counts and dead-letters every kind of bad message and keeps recording good ones', async () => {
    const config = configFromText(CONFIG, 'dl.yaml');
    const log = createLogger({ level: 'silent' });
    const sink = new CollectingSink();
    const pipeline = new Pipeline({
      config: { subjectPrefix: 'telemetry', maxMessageBytes: config.source.maxMessageBytes },
      engine: new WindowEngine(config.topology, config.engine),
      source: new NatsSource({ nc }, { subjectPrefix: 'telemetry', sites: undefined }, { log }),
      sinks: [sink],
      deadLetter: new NatsDeadLetterPublisher(nc, config.deadLetter, log),
      clock: () => T0 + 60_000,
      logger: log,
      tickMs: 50,
    });
    const received: Msg[] = [];
    const sub = nc.subscribe('headroom.deadletter.>', { callback: (_err, msg) => received.push(msg) });
    await pipeline.start();
    const sc = StringCodec();
    const good = (s: number): string => JSON.stringify({ meter: 'main', ts: T0 + s * 1000, watts: 500_000 });
    const bad: [string, string][] = [
      ['malformed_json', '{"meter": "main", "ts": '],
      ['schema', JSON.stringify({ meter: 'main', ts: T0, watts: 'lots' })],
      ['unknown_meter', JSON.stringify({ meter: 'ghost', ts: T0, watts: 1 })],
      ['too_large', JSON.stringify({ meter: 'main', ts: T0, watts: 1, note: 'x'.repeat(4096) })],
    ];
    for (let s = 0; s < 20; s++) {
      nc.publish('telemetry.dl1.gw', sc.encode(good(s)));
      const b = bad[s % bad.length]!;
      if (s < bad.length) nc.publish('telemetry.dl1.gw', sc.encode(b[1]));
    }
    await nc.flush();
    await retryUntil(async () => {
      if (received.length < bad.length || pipeline.counters.outcomes.accepted < 20) throw new Error(`${received.length} dead letters, ${pipeline.counters.outcomes.accepted} accepted`);
    }, 20_000, 50);
    await pipeline.stop();
    sub.unsubscribe();

    expect(received.map((m) => m.subject)).toEqual(bad.map(() => 'headroom.deadletter.dl1'));
    expect(received.map((m) => m.headers?.get(DEAD_LETTER_REASON_HEADER)).sort()).toEqual(bad.map(([reason]) => reason).sort());
    // The payload is republished unchanged.
    expect(received.map((m) => sc.decode(m.data)).sort()).toEqual(bad.map(([, payload]) => payload).sort());
    expect(pipeline.deadLetters).toMatchObject({ malformed_json: 1, schema: 1, unknown_meter: 1, too_large: 1 });
    // The worker kept going: every good reading was recorded and windows came out.
    expect(pipeline.counters.outcomes.accepted).toBe(20);
    expect(sink.records.some((r) => r.type === 'node' && r.node === 'intake')).toBe(true);
  });
});
