/**
 * Partition map: which sites land on which partition of a partitioned JetStream stream.
 *
 * Readings are published on `telemetry.<site>.<source>`; a server-side subject mapping
 * `tp.{{partition(P,1)}}.{{wildcard(1)}}.{{wildcard(2)}}` puts each site on one of P partitions.
 * nats-server's `partition(n, tokens...)` hashes the UTF-8 bytes of the named wildcard tokens,
 * concatenated without a separator, with 32-bit FNV-1a, and takes the hash modulo n
 * (server/subject_transform.go, `getHashPartition`; the same since nats-server 2.8). Here the
 * one token is the site id, so a worker owning partition p can build an engine over exactly
 * the sites the server routes to p, and never emits windows for another worker's sites.
 */
import type { SiteSpec, Topology } from '../../domain/index.js';

const FNV32_OFFSET_BASIS = 0x811c9dc5;
const FNV32_PRIME = 0x01000193;
const utf8 = new TextEncoder();

/** 32-bit FNV-1a of `bytes`, as an unsigned integer. */
export function fnv1a32(bytes: Uint8Array): number {
  let hash = FNV32_OFFSET_BASIS;
  for (const byte of bytes) {
    hash ^= byte;
    hash = Math.imul(hash, FNV32_PRIME);
  }
  return hash >>> 0;
}

/** The partition nats-server's `partition(partitionCount, <site token>)` maps `site` to. */
export function partitionOfSite(site: string, partitionCount: number): number {
  if (!Number.isInteger(partitionCount) || partitionCount < 1) throw new RangeError(`partitionCount must be a whole number ≥ 1, got ${partitionCount}`);
  return fnv1a32(utf8.encode(site)) % partitionCount;
}

/** Site ids of `topology` on each partition (index = partition), in topology order. */
export function sitesByPartition(topology: Topology, partitionCount: number): string[][] {
  const out: string[][] = Array.from({ length: partitionCount }, () => []);
  for (const site of topology.sites) out[partitionOfSite(site.id, partitionCount)]!.push(site.id);
  return out;
}

/**
 * The part of `topology` on one partition: its sites, in topology order (an engine built on it
 * snapshots and restores only these sites). Empty when no site hashes to the partition.
 */
export function partitionTopology(topology: Topology, partition: number, partitionCount: number): Topology {
  if (!Number.isInteger(partition) || partition < 0 || partition >= partitionCount) {
    throw new RangeError(`partition must be a whole number in [0, ${partitionCount - 1}], got ${partition}`);
  }
  const sites: SiteSpec[] = topology.sites.filter((s) => partitionOfSite(s.id, partitionCount) === partition);
  return { ...topology, sites };
}
