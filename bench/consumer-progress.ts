/**
 * How far a group has consumed a partitioned stream, as nats-server sees it: per partition the
 * ack floor of the group's consumers (`<durable>-p<P>-t<token>`, the newest token being the
 * current owner's), its pending and unacknowledged messages. The server answers at once, while
 * a worker's `/status` waits for the worker's event loop, which a window close over thousands
 * of meters holds for seconds: the bench times with this and reads `/status` for ownership.
 */
import type { JetStreamManager } from 'nats';
import { claimDurablePrefix } from '../src/sources/jetstream/claims.js';

export interface PartitionProgress {
  /** Highest ack floor (stream sequence) over the partition's consumers of this group. */
  ackFloor: number;
  /** The current owner's consumer (highest token): messages not yet delivered and delivered but not acknowledged. */
  pending: number;
  ackPending: number;
}

/** Progress of every partition 0..P-1 that has a consumer of `durable` now. */
export async function consumerProgress(jsm: JetStreamManager, stream: string, durable: string, partitionCount: number): Promise<Map<number, PartitionProgress>> {
  const prefixes = Array.from({ length: partitionCount }, (_, p) => claimDurablePrefix(durable, p));
  const newest = new Map<number, { token: number; progress: PartitionProgress }>();
  for await (const info of jsm.consumers.list(stream)) {
    const p = prefixes.findIndex((prefix) => info.name.startsWith(prefix) && /^\d+$/.test(info.name.slice(prefix.length)));
    if (p === -1) continue;
    const token = Number(info.name.slice(prefixes[p]!.length));
    const floor = info.ack_floor.stream_seq;
    const prev = newest.get(p);
    const ackFloor = Math.max(floor, prev?.progress.ackFloor ?? 0);
    if (prev === undefined || token > prev.token) newest.set(p, { token, progress: { ackFloor, pending: info.num_pending, ackPending: info.num_ack_pending } });
    else prev.progress.ackFloor = ackFloor;
  }
  return new Map([...newest].map(([p, n]) => [p, n.progress]));
}
