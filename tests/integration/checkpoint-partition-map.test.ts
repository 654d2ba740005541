/**
 * partitionOfSite against the real thing: nats-server's `partition(n, wildcard)` subject
 * mapping. Many site names are published through the mapping; each must arrive on the
 * partition the local function predicts.
 */
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionOfSite } from '../../src/pipeline/group/partition-map.js';
import { retryUntil, startNats, type NatsServer } from '../helpers/servers.js';

const COUNTS = [1, 3, 8, 64];

let server: NatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  // One mapping per partition count, each from its own prefix (as `source.partitions` configures it).
  const mappings = COUNTS.map((n) => `"in${n}.*.*": "out${n}.{{partition(${n},1)}}.{{wildcard(1)}}.{{wildcard(2)}}"`).join('\n');
  server = await startNats({ jetstream: false, extraConfig: `mappings {\n${mappings}\n}` });
  nc = await connect({ servers: server.url });
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

/** Site ids as operators write them: short codes, dashes, digits, underscores, non-ASCII, long ones. */
function siteNames(): string[] {
  const names: string[] = [];
  for (let i = 0; i < 400; i++) names.push(`site-${i}`);
  for (let i = 0; i < 100; i++) names.push(`${['ash', 'fra', 'sin', 'dub'][i % 4]}${i}_hall-${(i * 7) % 13}`);
  names.push('a', 'Z', 'zürich-1', 'münchen', '東京-dc', 'x'.repeat(64), 'dc-01-room-b-row-17');
  return names;
}

describe('partitionOfSite equals the nats-server partition mapping', () => {
  it('every site arrives on the predicted partition, for several partition counts', async () => {
    const names = siteNames();
    for (const n of COUNTS) {
      const arrived = new Map<string, number>();
      const sub = nc.subscribe(`out${n}.*.*.*`, {
        callback: (err, msg) => {
          if (err !== null) return;
          const [, partition, site] = msg.subject.split('.');
          arrived.set(site!, Number(partition));
        },
      });
      await nc.flush();
      for (const site of names) nc.publish(`in${n}.${site}.gw-1`, new Uint8Array(0));
      await retryUntil(async () => {
        await nc.flush();
        if (arrived.size < names.length) throw new Error(`${arrived.size}/${names.length} arrived`);
      }, 30_000, 50);
      sub.unsubscribe();
      const wrong = names.filter((site) => arrived.get(site) !== partitionOfSite(site, n));
      expect(wrong, `partition count ${n}`).toEqual([]);
      // With more than one partition, the names spread (the test is not trivially passing on partition 0).
      if (n > 1) expect(new Set(arrived.values()).size).toBe(n);
    }
  }, 120_000);
});
