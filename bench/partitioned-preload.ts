/**
 * A partitioned stream preloaded as gateways would fill it (bench/scaling.bench.ts): readings
 * published on `telemetry.<site>.bench` in batches of one site's meters, which nats-server's
 * `partition(P,1)` mapping turns into `tp.<p>.<site>.bench`. Per partition the bench keeps
 * the stream sequence of each of its messages and the readings up to it, so a worker's
 * `/status` position (a stream sequence) converts into readings consumed.
 */
import { DiscardPolicy, RetentionPolicy, StorageType, StringCodec, type NatsConnection } from 'nats';
import { partitionOfSite } from '../src/pipeline/group/partition-map.js';
import type { FleetSite } from './fleet.js';

/** Event time of the first tick (a fixed past day, as in bench:e2e). */
const T0_MS = Date.UTC(2026, 0, 5);
const IN_FLIGHT = 1_000;
const MAX_AGE_NANOS = 7 * 24 * 3600 * 1e9;

/** One partition's messages in stream order. */
export interface PartitionLog {
  partition: number;
  sites: string[];
  /** Stream sequences of the partition's messages, ascending. */
  seqs: number[];
  /** readingsThrough[i]: readings in the partition's messages up to and including seqs[i]. */
  readingsThrough: number[];
}

export interface Preloaded {
  messages: number;
  readings: number;
  partitions: PartitionLog[];
}

/**
 * `perPartition` site ids on each of `partitionCount` partitions, so every partition holds the
 * same number of sites: `site-<n>` for n = 0, 1, … taken while its partition still needs sites.
 */
export function balancedSiteIds(partitionCount: number, perPartition: number): string[] {
  const taken: string[][] = Array.from({ length: partitionCount }, () => []);
  const ids: string[] = [];
  for (let n = 0; ids.length < partitionCount * perPartition; n++) {
    const id = `site-${n}`;
    const slot = taken[partitionOfSite(id, partitionCount)]!;
    if (slot.length < perPartition) {
      slot.push(id);
      ids.push(id);
    }
  }
  return ids;
}

/** Last sequence of the partition (0 when it has no messages). */
export function lastSeq(log: PartitionLog): number {
  return log.seqs.at(-1) ?? 0;
}

/** Readings of the partition in messages with a stream sequence ≤ `position`. */
export function readingsThrough(log: PartitionLog, position: number): number {
  let lo = 0;
  let hi = log.seqs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (log.seqs[mid]! <= position) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? 0 : log.readingsThrough[lo - 1]!;
}

interface Message {
  site: string;
  payload: string;
  readings: number;
}

/** Every meter once a second for `seconds` ticks, in batches of `perMessage` meters of one site. */
function* messages(sites: readonly FleetSite[], seconds: number, perMessage: number): Generator<Message> {
  for (let tick = 0; tick < seconds; tick++) {
    for (const site of sites) {
      for (let i = 0; i < site.meters.length; i += perMessage) {
        const readings = site.meters.slice(i, i + perMessage).map((meter, k) => ({ site: site.id, meter, ts: T0_MS + tick * 1000, watts: 1000 + ((tick * 31 + k * 17) % 500) }));
        yield { site: site.id, payload: JSON.stringify(readings), readings: readings.length };
      }
    }
  }
}

/**
 * Creates `stream` over `tp.>` (as a group worker would: file store, limits, 7 d) and
 * publishes the readings through the server's mapping, `IN_FLIGHT` at a time. Then checks
 * the stream's per-subject counts against the partitions `partitionOfSite` predicted.
 */
export async function preloadPartitioned(nc: NatsConnection, stream: string, sites: readonly FleetSite[], partitionCount: number, seconds: number, perMessage: number): Promise<Preloaded> {
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: stream, subjects: ['tp.>'], storage: StorageType.File, retention: RetentionPolicy.Limits, discard: DiscardPolicy.Old, max_age: MAX_AGE_NANOS, max_bytes: -1, num_replicas: 1 });
  const js = nc.jetstream();
  const sc = StringCodec();
  const partitions: PartitionLog[] = Array.from({ length: partitionCount }, (_, partition) => ({ partition, sites: sites.filter((s) => partitionOfSite(s.id, partitionCount) === partition).map((s) => s.id), seqs: [], readingsThrough: [] }));
  const sent: { partition: number; seq: number; readings: number }[] = [];
  let chunk: Message[] = [];
  const flush = async (): Promise<void> => {
    const acks = await Promise.all(chunk.map((m) => js.publish(`telemetry.${m.site}.bench`, sc.encode(m.payload))));
    chunk.forEach((m, i) => sent.push({ partition: partitionOfSite(m.site, partitionCount), seq: acks[i]!.seq, readings: m.readings }));
    chunk = [];
  };
  for (const m of messages(sites, seconds, perMessage)) {
    chunk.push(m);
    if (chunk.length === IN_FLIGHT) await flush();
  }
  if (chunk.length > 0) await flush();
  sent.sort((a, b) => a.seq - b.seq);
  let readings = 0;
  for (const m of sent) {
    const log = partitions[m.partition]!;
    log.seqs.push(m.seq);
    log.readingsThrough.push((log.readingsThrough.at(-1) ?? 0) + m.readings);
    readings += m.readings;
  }
  await checkMapping(nc, stream, partitions);
  return { messages: sent.length, readings, partitions };
}

/** The server put each site's messages on the partition the bench expects, all of them. */
async function checkMapping(nc: NatsConnection, stream: string, partitions: readonly PartitionLog[]): Promise<void> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(stream, { subjects_filter: 'tp.>' });
  const counts = new Map<number, number>();
  for (const [subject, n] of Object.entries(info.state.subjects ?? {})) {
    const [, p, site] = subject.split('.');
    const expected = partitions.find((log) => log.sites.includes(site ?? ''));
    if (expected === undefined || String(expected.partition) !== p) throw new Error(`stream ${stream}: subject ${subject} is not on the partition the bench expects (${expected?.partition ?? 'none'})`);
    counts.set(expected.partition, (counts.get(expected.partition) ?? 0) + n);
  }
  for (const log of partitions) {
    if ((counts.get(log.partition) ?? 0) !== log.seqs.length) throw new Error(`stream ${stream}: partition ${log.partition} holds ${counts.get(log.partition) ?? 0} messages, the bench published ${log.seqs.length}`);
  }
}

/**
 * Reads the whole stream once (an ordered consumer), so every timed run reads it from a warm
 * page cache, the first as much as the last; returns the messages read.
 */
export async function readAll(nc: NatsConnection, stream: string, lastSequence: number): Promise<number> {
  const consumer = await nc.jetstream().consumers.get(stream);
  const messages = await consumer.consume();
  let read = 0;
  for await (const m of messages) {
    read++;
    if (m.seq >= lastSequence) break;
  }
  await messages.close();
  return read;
}
