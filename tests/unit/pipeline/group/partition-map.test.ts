import { describe, expect, it } from 'vitest';
import type { SiteSpec, Topology } from '../../../../src/domain/index.js';
import { fnv1a32, partitionOfSite, partitionTopology, sitesByPartition } from '../../../../src/pipeline/group/partition-map.js';

const utf8 = new TextEncoder();

function site(id: string): SiteSpec {
  return { id, nominalHertz: 50, billingPeriod: 'month', demandIntervalMs: 900_000, contractWatts: 1e6, gridMeters: [], nodes: [{ id: 'n', parent: null, level: 'l', ratingWatts: 1000, derate: 1, meters: ['m'] }] };
}

describe('partition map', () => {
  it('fnv1a32 matches the published FNV-1a 32-bit test vectors', () => {
    // Vectors from the FNV reference (draft-eastlake-fnv, section on test vectors).
    expect(fnv1a32(utf8.encode(''))).toBe(0x811c9dc5);
    expect(fnv1a32(utf8.encode('a'))).toBe(0xe40c292c);
    expect(fnv1a32(utf8.encode('foobar'))).toBe(0xbf9cf968);
  });

  it('partitionOfSite is the hash of the UTF-8 bytes modulo the count', () => {
    for (const id of ['ash1', 'fra-2', 'zürich', 'site-0']) {
      const hash = fnv1a32(utf8.encode(id));
      for (const n of [1, 2, 7, 64]) expect(partitionOfSite(id, n)).toBe(hash % n);
    }
    expect(() => partitionOfSite('x', 0)).toThrow(RangeError);
    expect(() => partitionOfSite('x', 1.5)).toThrow(RangeError);
  });

  it('every site lands on exactly one partition; partitionTopology keeps topology order', () => {
    const topology: Topology = { sites: Array.from({ length: 40 }, (_, i) => site(`site-${i}`)) };
    const byPartition = sitesByPartition(topology, 4);
    expect(byPartition.flat().sort()).toEqual(topology.sites.map((s) => s.id).sort());
    for (let p = 0; p < 4; p++) {
      const part = partitionTopology(topology, p, 4);
      expect(part.sites.map((s) => s.id)).toEqual(byPartition[p]);
      for (const s of part.sites) expect(partitionOfSite(s.id, 4)).toBe(p);
    }
    expect(() => partitionTopology(topology, 4, 4)).toThrow(RangeError);
  });
});
