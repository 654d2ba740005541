/**
 * Fair share (pure): shares add up to P and differ by at most one; a simulated group that
 * applies every member's plan reaches the fair split and then stays put (no thrash), and a
 * join moves no partition twice.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fairShares, planRebalance, type PartitionView } from '../../../../src/pipeline/group/index.js';

/** Rounds of plans over one shared view until nothing changes; returns owners and partition moves. */
function settle(members: string[], owners: (string | null)[], maxRounds = 50): { owners: (string | null)[]; moves: number; rounds: number } {
  let moves = 0;
  for (let round = 0; round < maxRounds; round++) {
    let changed = false;
    for (const self of members) {
      const view: PartitionView[] = owners.map((owner, partition) => ({ partition, owner, expired: owner !== null && !members.includes(owner) }));
      const held = owners.flatMap((o, p) => (o === self ? [p] : []));
      const plan = planRebalance({ self, members, partitionCount: owners.length, held, view });
      for (const p of plan.release) {
        owners[p] = null;
        changed = true;
      }
      for (const p of plan.acquire) {
        owners[p] = self;
        moves++;
        changed = true;
      }
    }
    if (!changed) return { owners, moves, rounds: round };
  }
  throw new Error('did not settle');
}

describe('fair share', () => {
  it('shares: floor or ceil of P/N by sorted id, adding up to P', () => {
    expect([...fairShares(['c', 'a', 'b'], 6)]).toEqual([['a', 2], ['b', 2], ['c', 2]]);
    expect([...fairShares(['a', 'b', 'c', 'd'], 6)]).toEqual([['a', 2], ['b', 2], ['c', 1], ['d', 1]]);
    expect([...fairShares(['a', 'b'], 1)]).toEqual([['a', 1], ['b', 0]]);
  });

  it('a newcomer is under its share: the over-share holder releases its least preferred extras; nobody under, nothing moves', () => {
    const view: PartitionView[] = [0, 1, 2, 3].map((partition) => ({ partition, owner: 'a', expired: false }));
    const plan = planRebalance({ self: 'a', members: ['a', 'b'], partitionCount: 4, held: [0, 1, 2, 3], view });
    expect(plan.target).toBe(2);
    expect(plan.release).toHaveLength(2);
    expect(plan.acquire).toEqual([]);
    // Same holder, but b already holds its 2 (of 6): a keeps its 4 until someone is short.
    const full: PartitionView[] = [0, 1, 2, 3, 4, 5].map((partition) => ({ partition, owner: partition < 4 ? 'a' : 'b', expired: false }));
    expect(planRebalance({ self: 'a', members: ['a', 'b', 'c'], partitionCount: 6, held: [0, 1, 2, 3], view: full }).release).toHaveLength(2);
    expect(planRebalance({ self: 'a', members: ['a', 'b'], partitionCount: 6, held: [0, 1, 2, 3], view: full }).release).toHaveLength(1);
  });

  it('only free or expired partitions are acquired, up to the share', () => {
    const view: PartitionView[] = [
      { partition: 0, owner: 'b', expired: false },
      { partition: 1, owner: 'b', expired: true },
      { partition: 2, owner: null, expired: false },
      { partition: 3, owner: 'b', expired: false },
    ];
    const plan = planRebalance({ self: 'a', members: ['a', 'b'], partitionCount: 4, held: [], view });
    expect(plan.acquire.sort()).toEqual([1, 2]);
  });

  it('any group settles at the fair split, each partition owned once, and stays put; a join moves exactly the newcomer share', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 24 }), fc.uniqueArray(fc.stringMatching(/^[a-z]{1,4}$/), { minLength: 1, maxLength: 6 }), (partitionCount, members) => {
        const first = settle(members, Array<string | null>(partitionCount).fill(null));
        const shares = fairShares(members, partitionCount);
        for (const m of members) expect(first.owners.filter((o) => o === m)).toHaveLength(shares.get(m) ?? -1);
        expect(first.moves).toBe(partitionCount);
        // Settled: another pass changes nothing.
        expect(settle(members, [...first.owners]).moves).toBe(0);
        // A newcomer joins: only its share moves, once each.
        const joined = [...members, 'zzzzz'];
        const after = settle(joined, [...first.owners]);
        expect(after.moves).toBe(fairShares(joined, partitionCount).get('zzzzz'));
      }),
      { numRuns: 200 },
    );
  });
});
