/**
 * A group worker renews its leases on a NATS connection of its own. On the data connection a
 * renewal waits behind whatever is queued there: with one connection, a worker catching up
 * 20,000 meters lost every lease while its checkpoint uploads went out (bench:scaling, 10 s
 * lease: 12 leases lost in one run, none with the second connection). Here the data connection
 * goes through a proxy that holds its traffic for three lease lengths: the leases must stay
 * held and renewed the whole time, and the worker must go on once the traffic moves again.
 */
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfigText, type HeadroomConfig, type JetStreamSourceConfig } from '../../src/config/index.js';
import { CheckpointStore } from '../../src/pipeline/group/checkpoint-store.js';
import { GroupWorker } from '../../src/pipeline/group/group-worker.js';
import { leaseKey, openGroupBucket } from '../../src/pipeline/group/index.js';
import { createLogger } from '../../src/telemetry/index.js';
import { CollectingSink } from '../helpers/collecting-sink.js';
import { PausableProxy } from '../helpers/pausable-proxy.js';
import { startNats, type NatsServer } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';

const PARTITIONS = 2;
const LEASE_MS = 3_000;
const log = createLogger({ level: 'silent' });

let server: NatsServer;
let proxy: PausableProxy;
let direct: NatsConnection;
let proxied: NatsConnection;

beforeAll(async () => {
  server = await startNats({ extraConfig: `mappings { "telemetry.*.*": "tp.{{partition(${PARTITIONS},1)}}.{{wildcard(1)}}.{{wildcard(2)}}" }` });
  proxy = await PausableProxy.start(server.port);
  direct = await connect({ servers: server.url });
  proxied = await connect({ servers: proxy.url });
}, 60_000);

afterAll(async () => {
  proxy?.resume();
  await proxied?.close();
  await direct?.close();
  await proxy?.stop();
  await server?.stop();
});

function groupConfig(): HeadroomConfig & { source: JetStreamSourceConfig } {
  const loaded = loadConfigFile('config/demo-fleet.yaml');
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  const parsed = parseConfigText(
    [
      'source: { kind: jetstream, stream: { name: GMC }, consumer: { durable: gmc, expires: 1s },',
      `  partitions: { count: ${PARTITIONS} }, group: { name: gmc, lease: ${LEASE_MS}ms, heartbeat: 500ms, safetyMargin: 500ms, checkpointEvery: 1h } }`,
      'sites: [{ id: x, nodes: [{ id: n, level: l, rating: 1kW }] }]',
    ].join('\n'),
    'group.yaml',
  );
  if (!parsed.ok || parsed.config.source.kind !== 'jetstream') throw new Error(JSON.stringify(parsed.ok ? 'not jetstream' : parsed.issues));
  return { ...loaded.config, source: parsed.config.source };
}

describe('group membership connection', () => {
  it('keeps its leases renewed while the data connection is held for three lease lengths', async () => {
    const config = groupConfig();
    const store = await CheckpointStore.open(proxied, 'gmc', { replicas: 1 });
    const worker = new GroupWorker({ config, nc: proxied, membershipNc: direct, sinks: [new CollectingSink()], store, workerId: 'w1', clock: Date.now, logger: log, tickMs: 100, checkpointEveryMs: 3_600_000 });
    try {
      await worker.start();
      await waitFor('both partitions owned', 30_000, () => (worker.status().partitions.length === PARTITIONS ? true : null));
      const kv = await openGroupBucket(direct.jetstream(), { bucket: 'headroom-group-gmc', replicas: 1 });
      const revisions = async (): Promise<number[]> => Promise.all([...Array(PARTITIONS).keys()].map(async (p) => (await kv.get(leaseKey(p)))?.revision ?? 0));
      const before = await revisions();

      proxy.pause();
      const heldUntilMs = Date.now() + 3 * LEASE_MS;
      let fewestOwned = PARTITIONS;
      while (Date.now() < heldUntilMs) {
        fewestOwned = Math.min(fewestOwned, worker.status().partitions.length);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const during = await revisions();
      proxy.resume();

      expect(fewestOwned).toBe(PARTITIONS);
      // Renewed during the hold: each lease was written again (a heartbeat is 500 ms).
      for (let p = 0; p < PARTITIONS; p++) expect(during[p]!, `partition ${p}`).toBeGreaterThan(before[p]!);
      // The data connection moves again and the worker still owns both.
      await waitFor('data connection answers again', 30_000, async () => ((await proxied.rtt().catch(() => null)) === null ? null : true));
      expect(worker.status().partitions.map((p) => p.partition).sort()).toEqual([0, 1]);
    } finally {
      proxy.resume();
      await worker.stop();
    }
  }, 90_000);
});
