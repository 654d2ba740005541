/** Reading a group's bucket in one pass (members and leases), and worker ids. */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { KV, KvEntry } from 'nats';
import { leaseKey, MEMBER_PREFIX } from './leases.js';

/** A KV entry with the local monotonic time at which its reply had arrived. */
export interface SeenEntry {
  entry: KvEntry;
  seenAtMonoMs: number;
}

export interface GroupRead {
  /** Member heartbeats by worker id (deleted members left out). */
  members: Map<string, SeenEntry>;
  /** Lease entries by partition; a partition never leased is absent. */
  leases: Map<number, SeenEntry>;
}

/** Reads every member key and the lease of each partition 0..P-1. */
export async function readGroup(kv: KV, partitionCount: number, nowMonoMs: () => number): Promise<GroupRead> {
  const keys: string[] = [];
  const iter = await kv.keys(`${MEMBER_PREFIX}.>`);
  for await (const k of iter) keys.push(k);
  const members = new Map<string, SeenEntry>();
  const memberEntries = await Promise.all(keys.map(async (k) => ({ k, e: await kv.get(k) })));
  const leaseEntries = await Promise.all(Array.from({ length: partitionCount }, async (_, p) => ({ p, e: await kv.get(leaseKey(p)) })));
  const at = nowMonoMs();
  for (const { k, e } of memberEntries) {
    if (e !== null && e.operation === 'PUT') members.set(k.slice(MEMBER_PREFIX.length + 1), { entry: e, seenAtMonoMs: at });
  }
  const leases = new Map<number, SeenEntry>();
  for (const { p, e } of leaseEntries) if (e !== null) leases.set(p, { entry: e, seenAtMonoMs: at });
  return { members, leases };
}

/** `<host>-<pid>-<random>`: unique per process, usable as a KV key token. */
export function defaultWorkerId(): string {
  const host = hostname().replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40);
  return `${host}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** Worker ids are one KV key token: [A-Za-z0-9_-]. */
export function isValidWorkerId(id: string): boolean {
  return /^[A-Za-z0-9_-]{1,100}$/.test(id);
}
