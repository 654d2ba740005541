/**
 * A worker-group member under test: a GroupMember on its own NATS connection whose callbacks
 * record every acquire, loss and release (with the local monotonic time), for the group tests.
 */
import { connect, type KV, type NatsConnection } from 'nats';
import { Registry } from 'prom-client';
import { GroupMember, GroupMetrics, openGroupBucket } from '../../src/pipeline/group/index.js';
import { createLogger } from '../../src/telemetry/index.js';

export interface GroupEvent {
  kind: 'acquire' | 'lose' | 'release';
  partition: number;
  token: number;
  atMs: number;
}

export interface ProbeTiming {
  leaseMs: number;
  heartbeatMs: number;
  safetyMarginMs: number;
}

export class GroupProbe {
  readonly events: GroupEvent[] = [];
  readonly registry = new Registry();
  member!: GroupMember;
  kv!: KV;
  private constructor(
    readonly workerId: string,
    readonly nc: NatsConnection,
  ) {}

  static async start(servers: string[], bucket: string, workerId: string, partitionCount: number, timing: ProbeTiming, replicas = 3): Promise<GroupProbe> {
    const nc = await connect({ servers, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    const probe = new GroupProbe(workerId, nc);
    probe.kv = await openGroupBucket(nc.jetstream(), { bucket, replicas });
    const record = (kind: GroupEvent['kind']) => (partition: number, token: number) => {
      probe.events.push({ kind, partition, token, atMs: performance.now() });
    };
    probe.member = new GroupMember({
      kv: probe.kv,
      workerId,
      partitionCount,
      ...timing,
      log: createLogger({ level: (process.env['GROUP_PROBE_LOG'] as 'silent' | 'debug' | 'info' | undefined) ?? 'silent' }),
      metrics: new GroupMetrics(probe.registry, 'test'),
      onAcquire: record('acquire'),
      onLose: record('lose'),
      onRelease: async (p, token) => {
        record('release')(p, token);
        await Promise.resolve();
      },
    });
    await probe.member.start();
    return probe;
  }

  owned(): number[] {
    return this.member.owned().map((o) => o.partition);
  }

  count(kind: GroupEvent['kind']): number {
    return this.events.filter((e) => e.kind === kind).length;
  }

  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const m = await this.registry.getSingleMetric(name)?.get();
    const match = m?.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
    return match?.value ?? 0;
  }

  async close(): Promise<void> {
    this.member.abandon();
    await this.nc.close();
  }
}

/** Polls `cond` every 50 ms until true or `timeoutMs` passes (then throws, naming `what`). */
export async function waitUntil(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** True when the probes hold every partition 0..P-1 exactly once. */
export function coversOnce(probes: readonly GroupProbe[], partitionCount: number): boolean {
  const all = probes.flatMap((p) => p.owned()).sort((a, b) => a - b);
  return all.length === partitionCount && all.every((p, i) => p === i);
}
