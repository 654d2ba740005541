/**
 * The KV layout of a worker group and the two clocks of a lease (docs/worker-groups.md).
 *
 * Bucket keys: `members.<workerId>` (heartbeat) and `leases.<p>` (one per partition). A
 * lease's KV revision is its fencing token: every write is a compare-and-set on it.
 *
 * Holder side (`HeldLease`): a lease written by a request sent at local time t is valid until
 * t + leaseMs - safetyMarginMs, judged on the monotonic clock and, as a second opinion, on the
 * wall clock (whichever says "passed" first wins: a suspended machine's monotonic clock stops,
 * its wall clock jumps).
 * Observer side (`Observations`): a lease or heartbeat whose revision this member has seen
 * unchanged for leaseMs of its own monotonic clock is expired. The write happened before the
 * observer saw it, so the observer's leaseMs start no earlier than the holder's t.
 */
import type { KV, KvEntry, JetStreamClient } from 'nats';

export const MEMBER_PREFIX = 'members';
export const LEASE_PREFIX = 'leases';

export const memberKey = (workerId: string): string => `${MEMBER_PREFIX}.${workerId}`;
export const leaseKey = (partition: number): string => `${LEASE_PREFIX}.${partition}`;

/** Local clocks, injected: monotonic for durations, wall for display and as a second opinion. */
export interface GroupClock {
  monotonicMs(): number;
  wallMs(): number;
}

export const systemClock: GroupClock = { monotonicMs: () => performance.now(), wallMs: () => Date.now() };

/** Value of `leases.<p>`. Times are the holder's wall clock: for people, not for safety. */
export interface LeaseValue {
  /** Holder, or null once released. */
  owner: string | null;
  /** The holder's fencing token (acquisition revision); absent in the acquiring write itself (its own revision). */
  token?: number;
  leaseMs: number;
  renewedAtMs: number;
  expiresAtMs: number;
}

/** Value of `members.<workerId>`. */
export interface MemberValue {
  workerId: string;
  host: string;
  pid: number;
  startedAtMs: number;
  heartbeatAtMs: number;
  leaseMs: number;
  /** Partitions held at the heartbeat. */
  owned: number[];
}

export class GroupValueError extends Error {
  override readonly name = 'GroupValueError';
}

const encoder = new TextEncoder();

export function encodeValue(value: LeaseValue | MemberValue): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

function parseJson(entry: KvEntry): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = entry.json<unknown>();
  } catch (err: unknown) {
    throw new GroupValueError(`${entry.key}: not JSON`, { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null) throw new GroupValueError(`${entry.key}: not an object`);
  return parsed as Record<string, unknown>;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** A lease entry's value; a deleted or purged key is a free lease. */
export function decodeLease(entry: KvEntry): LeaseValue {
  if (entry.operation !== 'PUT') return { owner: null, leaseMs: 0, renewedAtMs: 0, expiresAtMs: 0 };
  const o = parseJson(entry);
  const lease: LeaseValue = { owner: typeof o.owner === 'string' ? o.owner : null, leaseMs: num(o.leaseMs), renewedAtMs: num(o.renewedAtMs), expiresAtMs: num(o.expiresAtMs) };
  if (typeof o.token === 'number') lease.token = o.token;
  return lease;
}

export function decodeMember(entry: KvEntry): MemberValue {
  const o = parseJson(entry);
  const owned = Array.isArray(o.owned) ? o.owned.filter((p): p is number => typeof p === 'number') : [];
  return {
    workerId: typeof o.workerId === 'string' ? o.workerId : entry.key.slice(MEMBER_PREFIX.length + 1),
    host: typeof o.host === 'string' ? o.host : '',
    pid: num(o.pid),
    startedAtMs: num(o.startedAtMs),
    heartbeatAtMs: num(o.heartbeatAtMs),
    leaseMs: num(o.leaseMs),
    owned,
  };
}

/** True for a KV write refused because the revision moved (JetStream error 10071). */
export function isRevisionConflict(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const api = (err as { api_error?: { err_code?: unknown } }).api_error;
  if (api?.err_code === 10071) return true;
  return err instanceof Error && /wrong last sequence/i.test(err.message);
}

export interface GroupBucketOptions {
  bucket: string;
  /** KV replicas (3 on a 3-node cluster). */
  replicas: number;
  /** Only bind to an existing bucket (status readers); default false (create if missing). */
  bindOnly?: boolean;
  /** KV request timeout. Default 2000 ms. */
  timeoutMs?: number;
}

/** Opens the group's KV bucket, creating it (history 1, file storage) unless bindOnly. */
export async function openGroupBucket(js: JetStreamClient, opts: GroupBucketOptions): Promise<KV> {
  return js.views.kv(opts.bucket, { replicas: opts.replicas, history: 1, bindOnly: opts.bindOnly ?? false, timeout: opts.timeoutMs ?? 2_000 });
}

/**
 * A lease this member holds and when it stops being safe to use. `token` is the KV revision
 * of the acquisition (the fencing token the output path holds, constant while this member
 * keeps the lease); `revision` is the latest revision written (the compare-and-set value).
 */
export class HeldLease {
  private constructor(
    readonly partition: number,
    readonly token: number,
    readonly revision: number,
    private readonly deadlineMonoMs: number,
    private readonly deadlineWallMs: number,
  ) {}

  /** The lease acquired at `revision` by a request sent at `sent` (both clocks read just before sending). */
  static acquired(partition: number, revision: number, sent: { monoMs: number; wallMs: number }, validMs: number): HeldLease {
    return new HeldLease(partition, revision, revision, sent.monoMs + validMs, sent.wallMs + validMs);
  }

  /** The same lease renewed at `revision` by a request sent at `sent`. */
  renewed(revision: number, sent: { monoMs: number; wallMs: number }, validMs: number): HeldLease {
    return new HeldLease(this.partition, this.token, revision, sent.monoMs + validMs, sent.wallMs + validMs);
  }

  /** False once either clock passed the deadline. */
  valid(clock: GroupClock): boolean {
    return clock.monotonicMs() < this.deadlineMonoMs && clock.wallMs() < this.deadlineWallMs;
  }

  /** Monotonic ms until the deadline (negative when passed). */
  remainingMs(clock: GroupClock): number {
    return Math.min(this.deadlineMonoMs - clock.monotonicMs(), this.deadlineWallMs - clock.wallMs());
  }
}

/** When this member first saw each key at its current revision (observer side of expiry). */
export class Observations {
  private readonly seen = new Map<string, { revision: number; firstSeenMonoMs: number }>();

  /** Records a read; `atMonoMs` must be read after the reply arrived. */
  observe(key: string, revision: number, atMonoMs: number): void {
    const prev = this.seen.get(key);
    if (prev === undefined || prev.revision !== revision) this.seen.set(key, { revision, firstSeenMonoMs: atMonoMs });
  }

  forget(key: string): void {
    this.seen.delete(key);
  }

  /** True when the key has stood at `revision` for at least `leaseMs` of this member's clock. */
  expired(key: string, revision: number, leaseMs: number, nowMonoMs: number): boolean {
    const s = this.seen.get(key);
    return s !== undefined && s.revision === revision && nowMonoMs - s.firstSeenMonoMs >= leaseMs;
  }
}
