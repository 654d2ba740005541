/** Dead letters on a real nats-server: subject per site, original payload, reason and detail headers, never throws. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Msg, type NatsConnection } from 'nats';
import { pino } from 'pino';
import { DEAD_LETTER_DETAIL_HEADER, DEAD_LETTER_REASON_HEADER, NatsDeadLetterPublisher } from '../../src/sources/index.js';
import { retryUntil, type NatsServer } from '../helpers/servers.js';
import { startNatsWithClient, stopNatsWithClient } from '../helpers/nats.js';

const log = pino({ level: 'silent' });
const enc = new TextEncoder();

let server: NatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  ({ server, nc } = await startNatsWithClient({ jetstream: false }));
});

afterAll(() => stopNatsWithClient(server, nc));

async function subscribeAll(subject: string): Promise<Msg[]> {
  const got: Msg[] = [];
  nc.subscribe(subject, { callback: (_err, msg) => got.push(msg) });
  await nc.flush();
  return got;
}

describe('NatsDeadLetterPublisher', () => {
  it('publishes the original payload to <prefix>.<site> with reason and detail headers', async () => {
    const got = await subscribeAll('headroom.deadletter.>');
    const publisher = new NatsDeadLetterPublisher(nc, { enabled: true, subjectPrefix: 'headroom.deadletter' }, log);
    const payload = enc.encode('{"meter":"m1","ts":"yesterday","watts":5}');
    publisher.publish('ash1', 'bad_timestamp', payload, "[0] ts 'yesterday'\nis not a time");
    publisher.publish('', 'malformed_json', enc.encode('{'));
    publisher.publish('evil.site.>', 'schema', enc.encode('[]'), 'x');
    await nc.flush();
    await retryUntil(async () => expect(got).toHaveLength(3));
    const [first, second, third] = got;
    expect(first?.subject).toBe('headroom.deadletter.ash1');
    expect(Array.from(first?.data ?? [])).toEqual(Array.from(payload));
    expect(first?.headers?.get(DEAD_LETTER_REASON_HEADER)).toBe('bad_timestamp');
    expect(first?.headers?.get(DEAD_LETTER_DETAIL_HEADER)).toBe("[0] ts 'yesterday' is not a time");
    expect(second?.subject).toBe('headroom.deadletter._unknown');
    expect(second?.headers?.get(DEAD_LETTER_REASON_HEADER)).toBe('malformed_json');
    expect(second?.headers?.has(DEAD_LETTER_DETAIL_HEADER)).toBe(false);
    expect(third?.subject).toBe('headroom.deadletter._unknown');
    expect(publisher.counters).toEqual({ published: 3, errors: 0 });
  });

  it('uses the configured prefix, and publishes nothing when disabled', async () => {
    const got = await subscribeAll('dl.>');
    new NatsDeadLetterPublisher(nc, { enabled: true, subjectPrefix: 'dl.custom' }, log).publish('dfw2', 'unknown_meter', enc.encode('{}'), "unknown meter 'x'");
    const disabled = new NatsDeadLetterPublisher(nc, { enabled: false, subjectPrefix: 'dl.custom' }, log);
    disabled.publish('dfw2', 'schema', enc.encode('{}'));
    await nc.flush();
    await retryUntil(async () => expect(got).toHaveLength(1));
    expect(got[0]?.subject).toBe('dl.custom.dfw2');
    expect(got[0]?.headers?.get(DEAD_LETTER_REASON_HEADER)).toBe('unknown_meter');
    expect(disabled.counters.published).toBe(0);
  });

  it('never throws on a closed connection; counts the failures', async () => {
    const closed = await connect({ servers: server.url });
    await closed.close();
    const publisher = new NatsDeadLetterPublisher(closed, { enabled: true, subjectPrefix: 'headroom.deadletter' }, log);
    expect(() => publisher.publish('ash1', 'schema', enc.encode('{}'), 'detail')).not.toThrow();
    publisher.publish('ash1', 'schema', enc.encode('{}'));
    expect(publisher.counters).toEqual({ published: 0, errors: 2 });
  });
});
