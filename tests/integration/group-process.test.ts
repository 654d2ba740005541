/**
 * Worker-group members as separate processes on a real 3-node cluster: a frozen worker
 * (SIGSTOP past its lease, then SIGCONT) writes nothing once another worker took its
 * partitions over; a SIGKILLed worker's partitions are taken over after the lease time; a
 * SIGTERMed worker hands over at once. The child is tests/helpers/group-worker.mjs on dist/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { connect, type NatsConnection, type Subscription } from 'nats';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startNatsCluster, type NatsCluster } from '../helpers/servers.js';
import { coversOnce, GroupProbe, waitUntil, type ProbeTiming } from '../helpers/group-probe.js';

const P = 6;
// Long enough that a renewal delayed by a loaded machine does not lose a lease (3 s with 500 ms heartbeats missed 30 s bounds).
const TIMING: ProbeTiming = { leaseMs: 6_000, heartbeatMs: 1_000, safetyMarginMs: 2_000 };

interface ChildEvent {
  event: string;
  partition?: number;
  token?: number;
  atMs: number;
}

interface Write {
  workerId: string;
  partition: number;
  token: number;
  fencedAtMs: number;
}

class WorkerProcess {
  readonly events: ChildEvent[] = [];
  readonly exited: Promise<void>;
  private constructor(readonly child: ChildProcess) {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => this.events.push(JSON.parse(line) as ChildEvent));
    this.exited = new Promise((r) => child.once('exit', () => r()));
  }

  static spawn(servers: string[], bucket: string, workerId: string): WorkerProcess {
    const env = { ...process.env, GROUP_WORKER: JSON.stringify({ servers, bucket, workerId, partitionCount: P, ...TIMING }) };
    return new WorkerProcess(spawn(process.execPath, ['tests/helpers/group-worker.mjs'], { env, stdio: ['ignore', 'pipe', 'inherit'] }));
  }

  held(): number[] {
    const held = new Set<number>();
    for (const e of this.events) {
      if (e.partition === undefined) continue;
      if (e.event === 'acquire') held.add(e.partition);
      else held.delete(e.partition);
    }
    return [...held].sort((a, b) => a - b);
  }

  has(event: string): boolean {
    return this.events.some((e) => e.event === event);
  }
}

let cluster: NatsCluster;
let nc: NatsConnection;
let bucketSeq = 0;
const children: WorkerProcess[] = [];
const probes: GroupProbe[] = [];

beforeAll(async () => {
  cluster = await startNatsCluster();
  nc = await connect({ servers: cluster.urls });
  // A fresh cluster can answer 503 while the first leaders are elected.
  await waitUntilAsync(async () => (await nc.jetstream().views.kv('warmup', { replicas: 3 })) !== undefined);
});

afterEach(async () => {
  for (const w of children.splice(0)) {
    w.child.kill('SIGCONT');
    w.child.kill('SIGKILL');
    await w.exited;
  }
  await Promise.all(probes.splice(0).map((p) => p.close()));
});

afterAll(async () => {
  await nc?.close();
  await cluster?.stop();
});

async function waitUntilAsync(cond: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      if (await cond()) return;
    } catch (err: unknown) {
      if (performance.now() > deadline) throw err;
    }
    if (performance.now() > deadline) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A child worker `w` and an in-process member `a` sharing 6 partitions 3/3. */
async function pair(): Promise<{ w: WorkerProcess; a: GroupProbe; bucket: string; writes: Write[]; sub: Subscription }> {
  const bucket = `group-proc-${++bucketSeq}`;
  const writes: Write[] = [];
  const sub = nc.subscribe(`writes.${bucket}`, { callback: (_err, msg) => writes.push(msg.json<Write>()) });
  const w = WorkerProcess.spawn(cluster.urls, bucket, 'w');
  children.push(w);
  await waitUntil('w ready with 6 partitions', () => w.held().length === P);
  const a = await GroupProbe.start(cluster.urls, bucket, 'a', P, TIMING);
  probes.push(a);
  await waitUntil('3/3', () => w.held().length === 3 && a.owned().length === 3);
  return { w, a, bucket, writes, sub };
}

describe('worker group members as processes (3-node cluster)', () => {
  it('a worker frozen past its lease (SIGSTOP) reports the loss on SIGCONT and never writes with its old tokens after the takeover', async () => {
    const { w, a, writes, sub } = await pair();
    const frozen = w.held();
    const oldTokens = new Map(w.events.filter((e) => e.event === 'acquire' && frozen.includes(e.partition ?? -1)).map((e) => [e.partition ?? -1, e.token ?? -1]));
    await waitUntil('w writes for its partitions', () => frozen.every((p) => writes.some((x) => x.partition === p && x.workerId === 'w')));
    w.child.kill('SIGSTOP');
    // Normally about a lease (6 s) after the freeze; a full CI run once took over 30 s (the cause
    // is not known: run with GROUP_PROBE_LOG=debug to see the probe's log). What this test checks
    // is the fencing below, not how fast the takeover is (npm run bench:failover measures that).
    await waitUntil('a takes over all 6', () => a.owned().length === P, 60_000);
    const takenAtWallMs = new Map(a.events.filter((e) => e.kind === 'acquire' && frozen.includes(e.partition)).map((e) => [e.partition, Date.now() - (performance.now() - e.atMs)]));
    const resumedAtMs = Date.now();
    w.child.kill('SIGCONT');
    await waitUntil('w reports all 3 lost', () => frozen.every((p) => w.events.some((e) => e.event === 'lose' && e.partition === p && e.token === oldTokens.get(p))));
    // Back as a live member, w gets its share again, with new tokens.
    await waitUntil('3/3 again', () => w.held().length === 3 && a.owned().length === 3, 30_000);
    await new Promise((r) => setTimeout(r, 500));
    sub.unsubscribe();
    const stale = writes.filter((x) => x.workerId === 'w' && oldTokens.get(x.partition) === x.token);
    expect(stale.length).toBeGreaterThan(0);
    // Every write the fence let through with an old token was checked before the new owner acquired the partition...
    expect(stale.filter((x) => x.fencedAtMs >= (takenAtWallMs.get(x.partition) ?? Infinity))).toEqual([]);
    // ...and none at all after the resume.
    expect(stale.filter((x) => x.fencedAtMs >= resumedAtMs)).toEqual([]);
    // The loss was reported as soon as the process ran again, and every token since is new.
    const lossAtMs = Math.max(...w.events.filter((e) => e.event === 'lose').map((e) => e.atMs));
    expect(lossAtMs).toBeGreaterThanOrEqual(resumedAtMs);
    const newTokens = w.events.filter((e) => e.event === 'acquire' && e.atMs > resumedAtMs).map((e) => e.token ?? 0);
    expect(Math.min(...newTokens)).toBeGreaterThan(Math.max(...oldTokens.values()));
  }, 150_000);

  it('a SIGKILLed worker: its partitions are taken over after the lease time, with new tokens', async () => {
    const { w, a } = await pair();
    const killed = w.events.filter((e) => e.event === 'acquire' && w.held().includes(e.partition ?? -1));
    const killedAt = performance.now();
    w.child.kill('SIGKILL');
    await w.exited;
    await waitUntil('a holds all 6', () => a.owned().length === P, 30_000);
    const first = Math.min(...a.events.filter((e) => e.kind === 'acquire' && e.atMs > killedAt).map((e) => e.atMs));
    expect(first - killedAt).toBeGreaterThanOrEqual(TIMING.leaseMs - TIMING.heartbeatMs);
    for (const e of killed) {
      const token = a.member.owned().find((o) => o.partition === e.partition)?.token ?? 0;
      expect(token).toBeGreaterThan(e.token ?? Infinity);
    }
  });

  it('a SIGTERMed worker releases at once: taken over well before the lease could expire', async () => {
    const { w, a } = await pair();
    const termAt = performance.now();
    const termAtWallMs = Date.now();
    w.child.kill('SIGTERM');
    await w.exited;
    await waitUntil('a holds all 6', () => coversOnce([a], P), 30_000);
    const last = Math.max(...a.events.filter((e) => e.kind === 'acquire' && e.atMs > termAt).map((e) => e.atMs));
    expect(last - termAt).toBeLessThan(2_000);
    expect(w.events.filter((e) => e.event === 'release' && e.atMs >= termAtWallMs)).toHaveLength(3);
    expect(w.has('stopped')).toBe(true);
  });
});
