/**
 * Worker group leases on a real 3-node NATS cluster (KV bucket with 3 replicas): fair
 * split, graceful hand-over, takeover after a crash, fencing tokens, a lost cluster node.
 * Timings are shortened (lease 3 s, heartbeat 0.5 s, margin 1 s) so the tests run quickly.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GROUP_LEASE_TAKEOVERS_TOTAL, GROUP_PARTITIONS_OWNED } from '../../src/telemetry/index.js';
import { leaseKey } from '../../src/pipeline/group/index.js';
import { startNatsCluster, type NatsCluster } from '../helpers/servers.js';
import { coversOnce, GroupProbe, waitUntil, type ProbeTiming } from '../helpers/group-probe.js';

const P = 6;
// Short enough for a quick test, long enough that a renewal delayed by a loaded machine (the whole suite
// runs beside it) does not lose a lease: with 3 s and 500 ms heartbeats, takeovers missed 30 s bounds.
const FAST: ProbeTiming = { leaseMs: 6_000, heartbeatMs: 1_000, safetyMarginMs: 2_000 };

let cluster: NatsCluster;
let probes: GroupProbe[] = [];
let bucketSeq = 0;

beforeAll(async () => {
  cluster = await startNatsCluster();
});

afterEach(async () => {
  await Promise.all(probes.map((p) => p.close()));
  probes = [];
});

afterAll(async () => {
  await cluster?.stop();
});

async function join(workerId: string, bucket: string, timing: ProbeTiming = FAST): Promise<GroupProbe> {
  // The first KV calls on a fresh cluster can answer 503 while leaders are elected: retry.
  for (let attempt = 0; ; attempt++) {
    try {
      const probe = await GroupProbe.start(cluster.urls, bucket, workerId, P, timing);
      probes.push(probe);
      return probe;
    } catch (err: unknown) {
      if (attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** The KV revision of every partition's lease, as `probe` reads it. */
async function leaseRevisions(probe: GroupProbe): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (let p = 0; p < P; p++) {
    const e = await probe.kv.get(leaseKey(p));
    if (e !== null) out.set(p, e.revision);
  }
  return out;
}

const freshBucket = (): string => `group-test-${++bucketSeq}`;
const quiet = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('worker group leases (3-node cluster, R3 KV)', () => {
  it('members that join one by one split 6 partitions 6 → 3/3 → 2/2/2, each partition moving once per join', async () => {
    const bucket = freshBucket();
    const a = await join('a', bucket);
    await waitUntil('a holds all 6', () => a.owned().length === P);
    const b = await join('b', bucket);
    await waitUntil('a and b hold 3 each', () => a.owned().length === 3 && b.owned().length === 3 && coversOnce([a, b], P));
    const c = await join('c', bucket);
    await waitUntil('2/2/2', () => [a, b, c].every((x) => x.owned().length === 2) && coversOnce([a, b, c], P));
    // Stable: several heartbeats later nothing moved again (no thrash).
    const before = [a, b, c].map((x) => x.events.length);
    await quiet(6 * FAST.heartbeatMs);
    expect([a, b, c].map((x) => x.events.length)).toEqual(before);
    // 6 first acquisitions, 3 handed to b, 2 to c; a gave back 3 + 1, b gave back 1; nothing lost.
    expect([a, b, c].map((x) => x.count('acquire'))).toEqual([6, 3, 2]);
    expect([a, b, c].map((x) => x.count('release'))).toEqual([4, 1, 0]);
    expect([a, b, c].map((x) => x.count('lose'))).toEqual([0, 0, 0]);
    expect(await a.metric(GROUP_PARTITIONS_OWNED)).toBe(2);
  });

  it('a graceful stop releases at once: the others take over in well under the lease time', async () => {
    const slow: ProbeTiming = { leaseMs: 8_000, heartbeatMs: 1_000, safetyMarginMs: 2_000 };
    const bucket = freshBucket();
    const a = await join('a', bucket, slow);
    const b = await join('b', bucket, slow);
    const c = await join('c', bucket, slow);
    await waitUntil('2/2/2', () => [a, b, c].every((x) => x.owned().length === 2) && coversOnce([a, b, c], P));
    const leaving = b.owned();
    const stoppedAt = performance.now();
    await b.member.stop();
    await waitUntil('a and c hold all 6', () => coversOnce([a, c], P));
    const tookMs = Math.max(...[a, c].flatMap((x) => x.events.filter((e) => e.kind === 'acquire' && leaving.includes(e.partition)).map((e) => e.atMs))) - stoppedAt;
    // Released, not expired: an expiry takeover could not happen before the lease time (8 s).
    expect(tookMs).toBeLessThan(2_000);
    expect(b.events.filter((e) => e.kind === 'release' && e.atMs >= stoppedAt).map((e) => e.partition).sort()).toEqual([...leaving].sort());
    expect(b.count('lose')).toBe(0);
    expect(await a.metric(GROUP_LEASE_TAKEOVERS_TOTAL)).toBe(0);
    expect(await c.metric(GROUP_LEASE_TAKEOVERS_TOTAL)).toBe(0);
  });

  it('a member that dies (timers stopped, nothing released) loses its partitions after the lease time; tokens change', async () => {
    const bucket = freshBucket();
    const a = await join('a', bucket);
    const b = await join('b', bucket);
    await waitUntil('3/3', () => a.owned().length === 3 && b.owned().length === 3);
    const dead = b.member.owned();
    const diedAt = performance.now();
    b.member.abandon();
    await waitUntil('a holds all 6', () => a.owned().length === P);
    const takeovers = a.events.filter((e) => e.kind === 'acquire' && e.atMs > diedAt);
    // b's last renewal was at most one heartbeat before it died; a waits a full lease after seeing it.
    expect(Math.min(...takeovers.map((e) => e.atMs)) - diedAt).toBeGreaterThanOrEqual(FAST.leaseMs - FAST.heartbeatMs);
    expect(await a.metric(GROUP_LEASE_TAKEOVERS_TOTAL)).toBe(3);
    for (const { partition, token } of dead) {
      const now = a.member.owned().find((o) => o.partition === partition);
      expect(now?.token).toBeGreaterThan(token);
      expect(b.member.fence(partition, token)).toBe(false);
      const entry = await a.kv.get(leaseKey(partition));
      expect(entry?.revision).toBeGreaterThan(token);
    }
  });

  it('one cluster node killed mid-way: leases are still renewed and handed over', async () => {
    // A lease long enough to outlast the KV leader election a killed node may cause, however
    // slow a loaded machine makes it: renewals must go on without any lease running out.
    const timing: ProbeTiming = { leaseMs: 30_000, heartbeatMs: 1_000, safetyMarginMs: 2_000 };
    const bucket = freshBucket();
    const a = await join('a', bucket, timing);
    const b = await join('b', bucket, timing);
    const c = await join('c', bucket, timing);
    await waitUntil('2/2/2', () => [a, b, c].every((x) => x.owned().length === 2) && coversOnce([a, b, c], P));
    const revisionsBefore = await leaseRevisions(a);
    const victim = cluster.servers[0];
    if (victim === undefined) throw new Error('no cluster member');
    await victim.stop();
    // Renewals go on against the two remaining nodes: every lease revision moves past its value before the kill,
    // and the same members still hold them (the fencing tokens stay: nothing was lost or taken over).
    const deadline = performance.now() + 40_000;
    for (;;) {
      const now = await leaseRevisions(a).catch(() => new Map<number, number>());
      if (revisionsBefore.size === P && [...revisionsBefore].every(([p, r]) => (now.get(p) ?? 0) > r)) break;
      if (performance.now() > deadline) throw new Error('leases not renewed after a cluster node was killed');
      await quiet(250);
    }
    expect(coversOnce([a, b, c], P)).toBe(true);
    expect([a, b, c].map((x) => x.count('lose'))).toEqual([0, 0, 0]);
    // And a graceful hand-over still works on the degraded cluster.
    await c.member.stop();
    await waitUntil('a and b hold all 6', () => coversOnce([a, b], P), 40_000);
    expect([a, b].map((x) => x.owned().length)).toEqual([3, 3]);
  });
});
