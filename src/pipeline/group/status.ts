/**
 * What a group looks like from its KV bucket: workers (heartbeats), partitions, owners,
 * tokens and lease expiry, for `/status` and `headroom status`. Expiry is the holder's wall
 * clock (for people; the group itself judges expiry by each observer's monotonic clock).
 * Lag and last checkpoint come from `extras`, a hook the service fills in.
 */
import type { KV } from 'nats';
import { decodeLease, decodeMember } from './leases.js';
import { readGroup } from './membership.js';

export interface WorkerStatus {
  workerId: string;
  host: string;
  pid: number;
  startedAtMs: number;
  heartbeatAtMs: number;
  /** True while the last heartbeat is younger than the lease (by the wall clock of the reader). */
  live: boolean;
  /** Partitions whose lease names this worker. */
  partitions: number[];
}

export interface PartitionStatus {
  partition: number;
  owner: string | null;
  /** Fencing token of the holder (KV revision of its acquisition). */
  token: number | null;
  /** KV revision now (moves at each renewal). */
  revision: number | null;
  expiresAtMs: number | null;
  /** Messages not yet consumed (filled by the service). */
  lagMessages?: number;
  /** Time of the last checkpoint (filled by the service). */
  lastCheckpointAtMs?: number;
  /** Stream sequence the last checkpoint includes every message up to. */
  lastCheckpointSeq?: number;
  /** Stored size of the last checkpoint. */
  lastCheckpointBytes?: number;
}

export interface GroupStatus {
  group: string;
  bucket: string;
  partitionCount: number;
  readAtMs: number;
  workers: WorkerStatus[];
  partitions: PartitionStatus[];
}

export type PartitionExtras = (partition: number, owner: { token: number | null }) => Promise<Pick<PartitionStatus, 'lagMessages' | 'lastCheckpointAtMs' | 'lastCheckpointSeq' | 'lastCheckpointBytes'>>;

export interface GroupStatusOptions {
  group: string;
  bucket: string;
  partitionCount: number;
  /** The reader's wall clock (ms), read once the bucket has been read. */
  nowMs: () => number;
  extras?: PartitionExtras;
}

/** Reads the bucket once and describes the group. */
export async function groupStatus(kv: KV, opts: GroupStatusOptions): Promise<GroupStatus> {
  const read = await readGroup(kv, opts.partitionCount, () => 0);
  const nowMs = opts.nowMs();
  const partitions: PartitionStatus[] = [];
  for (let p = 0; p < opts.partitionCount; p++) {
    const entry = read.leases.get(p)?.entry;
    const value = entry === undefined ? undefined : decodeLease(entry);
    const owner = value?.owner ?? null;
    const status: PartitionStatus = {
      partition: p,
      owner,
      token: owner === null || entry === undefined ? null : (value?.token ?? entry.revision),
      revision: entry?.revision ?? null,
      expiresAtMs: owner === null ? null : (value?.expiresAtMs ?? null),
    };
    if (opts.extras !== undefined) Object.assign(status, await opts.extras(p, { token: status.token }));
    partitions.push(status);
  }
  const workers = [...read.members.values()]
    .map(({ entry }) => {
      const m = decodeMember(entry);
      return {
        workerId: m.workerId,
        host: m.host,
        pid: m.pid,
        startedAtMs: m.startedAtMs,
        heartbeatAtMs: m.heartbeatAtMs,
        live: nowMs - m.heartbeatAtMs < m.leaseMs,
        partitions: partitions.filter((p) => p.owner === m.workerId).map((p) => p.partition),
      };
    })
    .sort((a, b) => a.workerId.localeCompare(b.workerId));
  return { group: opts.group, bucket: opts.bucket, partitionCount: opts.partitionCount, readAtMs: nowMs, workers, partitions };
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

/** The `headroom status` text: a workers table and a partitions table. */
export function formatGroupStatus(s: GroupStatus): string {
  const owned = s.partitions.filter((p) => p.owner !== null).length;
  const head = `group ${s.group} (bucket ${s.bucket}): ${s.workers.length} worker(s), ${owned}/${s.partitionCount} partitions owned`;
  const workers = table([
    ['WORKER', 'HOST', 'PID', 'PARTITIONS', 'HEARTBEAT'],
    ...s.workers.map((w) => [w.workerId, w.host, String(w.pid), w.partitions.join(',') || '-', `${seconds(s.readAtMs - w.heartbeatAtMs)} ago${w.live ? '' : ' (stale)'}`]),
  ]);
  const parts = table([
    ['PARTITION', 'OWNER', 'TOKEN', 'LEASE EXPIRES', 'LAG', 'LAST CHECKPOINT'],
    ...s.partitions.map((p) => [
      String(p.partition),
      p.owner ?? '(free)',
      p.token === null ? '-' : String(p.token),
      p.expiresAtMs === null ? '-' : p.expiresAtMs >= s.readAtMs ? `in ${seconds(p.expiresAtMs - s.readAtMs)}` : `${seconds(s.readAtMs - p.expiresAtMs)} ago`,
      p.lagMessages === undefined ? '-' : String(p.lagMessages),
      p.lastCheckpointAtMs === undefined ? '-' : `${seconds(s.readAtMs - p.lastCheckpointAtMs)} ago${p.lastCheckpointSeq === undefined ? '' : ` (seq ${p.lastCheckpointSeq}${p.lastCheckpointBytes === undefined ? '' : `, ${p.lastCheckpointBytes} B`})`}`,
    ]),
  ]);
  return `${head}\n\n${workers}\n\n${parts}\n`;
}
