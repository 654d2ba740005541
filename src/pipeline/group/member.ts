/**
 * One worker's membership in a group: heartbeat, partition leases in the group's KV bucket,
 * fair-share rebalancing, and the fence the output path checks (docs/worker-groups.md).
 *
 * Every `heartbeatMs`: heartbeat, renew each held lease (compare-and-set on its revision),
 * read the bucket, then acquire or release per `planRebalance`. A KV watch runs the read and
 * rebalance at once when a lease is freed or a member joins or leaves (graceful hand-over
 * in well under a heartbeat). A lease whose renewal conflicts is lost at once; one that could
 * not be renewed is lost at its local deadline (a timer), and `fence()` is false from that
 * instant whatever the timers do (a frozen process resumes with fence() already false).
 */
import type { KV, KvEntry, QueuedIterator } from 'nats';
import type { Logger } from '../../telemetry/index.js';
import { errorText } from '../../telemetry/index.js';
import { planRebalance, type PartitionView } from './balancer.js';
import { decodeLease, decodeMember, encodeValue, HeldLease, isRevisionConflict, leaseKey, memberKey, Observations, systemClock, type GroupClock, type LeaseValue } from './leases.js';
import { readGroup, type GroupRead } from './membership.js';
import type { GroupMetrics, LossReason } from './metrics.js';
import { watchGroup } from './watch.js';
import { hostname } from 'node:os';

export interface GroupMemberOptions {
  /** The group's bucket (openGroupBucket). */
  kv: KV;
  workerId: string;
  /** P: the group shares partitions 0..P-1. */
  partitionCount: number;
  leaseMs: number;
  heartbeatMs: number;
  safetyMarginMs: number;
  log: Logger;
  clock?: GroupClock;
  metrics?: GroupMetrics;
  /** A lease was acquired: restore and start consuming `partition`; write only while fence(partition, token). */
  onAcquire(partition: number, token: number): void | Promise<void>;
  /** A lease was lost (conflict or deadline): stop writing for `partition` now. fence() is already false. */
  onLose(partition: number, token: number): void;
  /**
   * Before a voluntary release (rebalance or stop): stop consuming and write the final
   * checkpoint. The lease stays renewed until this resolves; then it is freed.
   */
  onRelease?(partition: number, token: number): Promise<void>;
}

type State = 'idle' | 'running' | 'stopping' | 'stopped';

export class GroupMember {
  private readonly held = new Map<number, HeldLease>();
  private readonly releasing = new Set<number>();
  private readonly obs = new Observations();
  private readonly clock: GroupClock;
  private readonly log: Logger;
  private readonly startedAtMs: number;
  private knownMembers = new Set<string>();
  private liveCount = 1;
  private state: State = 'idle';
  private chain: Promise<void> = Promise.resolve();
  private interval: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private watcher: QueuedIterator<KvEntry> | undefined;
  private kickQueued = false;
  private fullQueued = false;

  constructor(private readonly opts: GroupMemberOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log.child({ component: 'group', worker: opts.workerId });
    this.startedAtMs = this.clock.wallMs();
  }

  get workerId(): string {
    return this.opts.workerId;
  }

  /** Joins: first heartbeat, first rebalance, then the timers and the watch. */
  async start(): Promise<void> {
    if (this.state !== 'idle') throw new Error(`group member ${this.opts.workerId} already started`);
    this.state = 'running';
    await this.enqueue(true);
    this.interval = setInterval(() => this.onInterval(), this.opts.heartbeatMs);
    await this.startWatch();
  }

  /** Partitions held now (valid leases), with their tokens. */
  owned(): { partition: number; token: number }[] {
    return [...this.held.values()].filter((l) => l.valid(this.clock)).map((l) => ({ partition: l.partition, token: l.token })).sort((a, b) => a.partition - b.partition);
  }

  /** Synchronous: does this worker still own `partition` with `token`? False once the local deadline passed. */
  fence(partition: number, token: number): boolean {
    const lease = this.held.get(partition);
    if (lease === undefined || lease.token !== token) return false;
    if (lease.valid(this.clock)) return true;
    queueMicrotask(() => this.expireDue());
    return false;
  }

  /** Leaves: onRelease for every held partition (in parallel), frees them, deletes the heartbeat. */
  async stop(): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    this.watcher?.stop();
    await this.chain;
    await Promise.all([...this.held.keys()].map((p) => this.release(p)));
    clearInterval(this.interval);
    clearTimeout(this.deadlineTimer);
    await this.chain;
    await this.opts.kv.delete(memberKey(this.opts.workerId)).catch((err: unknown) => this.log.warn({ err: errorText(err) }, 'could not delete the heartbeat; it expires'));
    this.state = 'stopped';
    this.opts.metrics?.setOwned(0);
  }

  /** Stops the timers and the watch without releasing anything (tests: a worker that dies). */
  abandon(): void {
    this.state = 'stopped';
    this.watcher?.stop();
    clearInterval(this.interval);
    clearTimeout(this.deadlineTimer);
  }

  private enqueue(full: boolean): Promise<void> {
    this.chain = this.chain.then(() => this.tick(full)).catch((err: unknown) => this.log.warn({ err: errorText(err) }, 'group tick failed; next heartbeat retries'));
    return this.chain;
  }

  /** One full tick per heartbeat; none piles up behind a slow one (NATS unreachable). */
  private onInterval(): void {
    if (this.fullQueued) return;
    this.fullQueued = true;
    void this.enqueue(true).finally(() => (this.fullQueued = false));
  }

  /** A watched change worth acting on now: one rebalance after the current tick. */
  private kick(): void {
    if (this.kickQueued || this.state !== 'running') return;
    this.kickQueued = true;
    void this.enqueue(false).finally(() => (this.kickQueued = false));
  }

  private async tick(full: boolean): Promise<void> {
    if (this.state === 'stopped' || this.state === 'idle') return;
    this.expireDue();
    if (full) {
      await Promise.all([this.heartbeat(), ...[...this.held.values()].map((l) => this.renew(l))]);
      this.scheduleDeadline();
    }
    if (this.state !== 'running') return;
    const read = await readGroup(this.opts.kv, this.opts.partitionCount, () => this.clock.monotonicMs());
    await this.rebalance(read);
  }

  private now(): { monoMs: number; wallMs: number } {
    return { monoMs: this.clock.monotonicMs(), wallMs: this.clock.wallMs() };
  }

  private get validMs(): number {
    return this.opts.leaseMs - this.opts.safetyMarginMs;
  }

  private leaseValue(owner: string | null, wallMs: number, token?: number): Uint8Array {
    const value: LeaseValue = { owner, ...(token === undefined ? {} : { token }), leaseMs: this.opts.leaseMs, renewedAtMs: wallMs, expiresAtMs: owner === null ? wallMs : wallMs + this.opts.leaseMs };
    return encodeValue(value);
  }

  private async heartbeat(): Promise<void> {
    const wallMs = this.clock.wallMs();
    const owned = [...this.held.keys()].sort((a, b) => a - b);
    const value = { workerId: this.opts.workerId, host: hostname(), pid: process.pid, startedAtMs: this.startedAtMs, heartbeatAtMs: wallMs, leaseMs: this.opts.leaseMs, owned };
    await this.opts.kv.put(memberKey(this.opts.workerId), encodeValue(value)).catch((err: unknown) => this.log.warn({ err: errorText(err) }, 'heartbeat failed'));
  }

  private async renew(lease: HeldLease): Promise<void> {
    const p = lease.partition;
    const sent = this.now();
    try {
      const revision = await this.opts.kv.update(leaseKey(p), this.leaseValue(this.opts.workerId, sent.wallMs, lease.token), lease.revision);
      const next = lease.renewed(revision, sent, this.validMs);
      if (this.held.get(p) !== lease) {
        // Lost or released meanwhile, yet this write landed on our own revision: nobody else holds it. Give it back.
        await this.free(p, revision);
      } else if (!next.valid(this.clock)) {
        this.lose(lease, 'expired');
        await this.free(p, revision);
      } else {
        this.held.set(p, next);
      }
    } catch (err: unknown) {
      if (isRevisionConflict(err)) {
        this.opts.metrics?.renewFailed('conflict');
        if (this.held.get(p) === lease) this.lose(lease, 'conflict');
      } else {
        this.opts.metrics?.renewFailed('unreachable');
        this.log.warn({ partition: p, err: errorText(err), remainingMs: Math.round(lease.remainingMs(this.clock)) }, 'lease renewal failed; retrying until the local deadline');
      }
    }
  }

  /** Frees a lease this worker wrote at `revision` (best effort: otherwise it expires). */
  private async free(p: number, revision: number): Promise<void> {
    await this.opts.kv.update(leaseKey(p), this.leaseValue(null, this.clock.wallMs()), revision).catch((err: unknown) => {
      this.log.debug({ partition: p, err: errorText(err) }, 'lease not freed (moved on); it expires');
    });
  }

  private lose(lease: HeldLease, reason: LossReason): void {
    if (this.held.get(lease.partition) !== lease) return;
    this.held.delete(lease.partition);
    this.opts.metrics?.leaseLost(reason);
    this.opts.metrics?.setOwned(this.held.size);
    this.log.warn({ partition: lease.partition, token: lease.token, reason }, 'lease lost; stopped writing for the partition');
    try {
      this.opts.onLose(lease.partition, lease.token);
    } catch (err: unknown) {
      this.log.error({ partition: lease.partition, err: errorText(err) }, 'onLose failed');
    }
  }

  private expireDue(): void {
    for (const lease of [...this.held.values()]) if (!lease.valid(this.clock)) this.lose(lease, 'expired');
  }

  private scheduleDeadline(): void {
    clearTimeout(this.deadlineTimer);
    if (this.held.size === 0 || this.state === 'stopped') return;
    const remainingMs = Math.min(...[...this.held.values()].map((l) => l.remainingMs(this.clock)));
    this.deadlineTimer = setTimeout(() => {
      this.expireDue();
      this.scheduleDeadline();
    }, Math.max(0, Math.ceil(remainingMs)));
  }

  private async rebalance(read: GroupRead): Promise<void> {
    const nowMono = this.clock.monotonicMs();
    const self = this.opts.workerId;
    const live = [self];
    for (const [id, seen] of read.members) {
      const key = memberKey(id);
      this.obs.observe(key, seen.entry.revision, seen.seenAtMonoMs);
      if (id === self) continue;
      const leaseMs = Math.max(this.opts.leaseMs, decodeMember(seen.entry).leaseMs);
      if (!this.obs.expired(key, seen.entry.revision, leaseMs, nowMono)) live.push(id);
      else await this.opts.kv.delete(key, { previousSeq: seen.entry.revision }).then(() => this.log.info({ member: id }, 'member gone (no heartbeat for a lease); removed'), (err: unknown) => this.log.debug({ member: id, err: errorText(err) }, 'stale member not removed'));
    }
    this.knownMembers = new Set(read.members.keys());
    this.liveCount = live.length;
    this.opts.metrics?.setMembers(live.length);
    const view: PartitionView[] = [];
    const takeover = new Set<number>();
    for (let p = 0; p < this.opts.partitionCount; p++) {
      const seen = read.leases.get(p);
      if (seen === undefined) {
        view.push({ partition: p, owner: null, expired: false });
        continue;
      }
      this.obs.observe(leaseKey(p), seen.entry.revision, seen.seenAtMonoMs);
      const value = decodeLease(seen.entry);
      const mine = this.held.get(p)?.revision === seen.entry.revision;
      const expired = !mine && value.owner !== null && this.obs.expired(leaseKey(p), seen.entry.revision, Math.max(this.opts.leaseMs, value.leaseMs), nowMono);
      if (expired) takeover.add(p);
      view.push({ partition: p, owner: value.owner, expired });
    }
    const held = [...this.held.keys()].filter((p) => !this.releasing.has(p));
    const plan = planRebalance({ self, members: live, partitionCount: this.opts.partitionCount, held, view });
    for (const p of plan.release) void this.release(p);
    await Promise.all(plan.acquire.map((p) => this.acquire(p, read.leases.get(p)?.entry.revision, takeover.has(p))));
  }

  private async acquire(p: number, revision: number | undefined, takeover: boolean): Promise<void> {
    const sent = this.now();
    const value = this.leaseValue(this.opts.workerId, sent.wallMs);
    try {
      const token = revision === undefined ? await this.opts.kv.create(leaseKey(p), value) : await this.opts.kv.update(leaseKey(p), value, revision);
      const lease = HeldLease.acquired(p, token, sent, this.validMs);
      if (this.state !== 'running' || !lease.valid(this.clock)) {
        await this.free(p, token);
        return;
      }
      this.held.set(p, lease);
      this.opts.metrics?.acquired(takeover);
      this.opts.metrics?.setOwned(this.held.size);
      this.scheduleDeadline();
      this.log.info({ partition: p, token, takeover }, 'lease acquired');
      void Promise.resolve()
        .then(() => this.opts.onAcquire(p, token))
        .catch((err: unknown) => this.log.error({ partition: p, err: errorText(err) }, 'onAcquire failed'));
    } catch (err: unknown) {
      if (isRevisionConflict(err)) this.log.debug({ partition: p }, 'lease taken by another member first');
      else this.log.warn({ partition: p, err: errorText(err) }, 'lease acquisition failed');
    }
  }

  /** Voluntary release: the caller's onRelease (checkpoint) while still renewing, then free. */
  private async release(p: number): Promise<void> {
    if (this.releasing.has(p)) return;
    const first = this.held.get(p);
    if (first === undefined) return;
    this.releasing.add(p);
    try {
      await this.opts.onRelease?.(p, first.token);
    } catch (err: unknown) {
      this.log.error({ partition: p, err: errorText(err) }, 'onRelease failed; releasing anyway (the next owner restores an older checkpoint)');
    }
    const lease = this.held.get(p);
    this.releasing.delete(p);
    if (lease === undefined) return;
    this.held.delete(p);
    this.opts.metrics?.setOwned(this.held.size);
    await this.free(p, lease.revision);
    this.log.info({ partition: p, token: lease.token }, 'lease released');
  }

  private async startWatch(): Promise<void> {
    this.watcher = await watchGroup(this.opts.kv, { self: this.opts.workerId, known: () => this.knownMembers, kick: () => this.kick(), log: this.log });
  }

  /** Live members at the last read (self included). */
  get members(): number {
    return this.liveCount;
  }
}
