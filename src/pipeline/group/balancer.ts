/**
 * Fair share of a group's partitions: pure, deterministic decisions from one member's view
 * (no I/O, no clock). Every member computes the same targets from the same view:
 * live members sorted by id, P partitions, member i gets floor(P/N) + (i < P mod N ? 1 : 0),
 * so no one holds more than ceil(P/N) and the targets add up to P.
 *
 * No thrash: a member releases only what it holds above its target, and only while another
 * live member is below its own (the newcomer that will take it); it acquires only free or
 * expired partitions, and only up to its target. With one view, each partition moves at most
 * once per membership change. Which partitions move is decided by rendezvous hashing (the
 * highest score of hash(member, partition) is preferred), so members that race for free
 * partitions mostly want different ones, and the same member tends to get the same ones.
 */

/** One partition as a member sees it. */
export interface PartitionView {
  partition: number;
  /** Holder, or null when the lease is free (never taken, released, or deleted). */
  owner: string | null;
  /** True when the holder let the lease run out (judged by the observer's own clock). */
  expired: boolean;
}

export interface RebalanceInput {
  self: string;
  /** Live members (self included or not: it is added). */
  members: readonly string[];
  partitionCount: number;
  /** What this member holds now. */
  held: readonly number[];
  /** Every partition 0..P-1 as seen in the KV bucket. */
  view: readonly PartitionView[];
}

export interface RebalancePlan {
  /** This member's share. */
  target: number;
  /** Free or expired partitions to acquire, preferred first. */
  acquire: number[];
  /** Held partitions to give back (over the share while someone is under theirs). */
  release: number[];
}

/** Each live member's share of P partitions (members sorted by id; shares differ by at most 1). */
export function fairShares(members: readonly string[], partitionCount: number): Map<string, number> {
  const sorted = [...new Set(members)].sort();
  const n = sorted.length;
  const shares = new Map<string, number>();
  if (n === 0) return shares;
  const base = Math.floor(partitionCount / n);
  const extra = partitionCount % n;
  sorted.forEach((m, i) => shares.set(m, base + (i < extra ? 1 : 0)));
  return shares;
}

/** Rendezvous score of (member, partition): FNV-1a over `member#partition`, 32 bits. */
export function rendezvousScore(member: string, partition: number): number {
  let h = 0x811c9dc5;
  const text = `${member}#${partition}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function byPreference(member: string): (a: number, b: number) => number {
  return (a, b) => rendezvousScore(member, b) - rendezvousScore(member, a) || a - b;
}

/** What this member should acquire and release now. */
export function planRebalance(input: RebalanceInput): RebalancePlan {
  const members = [...new Set([...input.members, input.self])];
  const shares = fairShares(members, input.partitionCount);
  const target = shares.get(input.self) ?? 0;
  const held = [...new Set(input.held)];
  if (held.length > target) {
    const counts = new Map<string, number>();
    for (const p of input.view) {
      if (p.owner !== null && !p.expired) counts.set(p.owner, (counts.get(p.owner) ?? 0) + 1);
    }
    const someoneUnder = members.some((m) => m !== input.self && (counts.get(m) ?? 0) < (shares.get(m) ?? 0));
    if (!someoneUnder) return { target, acquire: [], release: [] };
    // Keep the most preferred; give back the least preferred.
    const release = held.sort(byPreference(input.self)).slice(target);
    return { target, acquire: [], release };
  }
  const heldSet = new Set(held);
  const free = input.view
    .filter((p) => !heldSet.has(p.partition) && (p.owner === null || p.expired) && p.partition < input.partitionCount)
    .map((p) => p.partition)
    .sort(byPreference(input.self));
  return { target, acquire: free.slice(0, target - held.length), release: [] };
}
