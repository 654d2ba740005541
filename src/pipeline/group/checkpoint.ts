/**
 * A checkpoint of one partition of a worker group: the window state of the partition's sites,
 * the alert state, and the stream sequence up to which both include every message. A new
 * owner restores it and consumes the stream from `lastSeq + 1`; with idempotent outputs the
 * replayed stretch rewrites the same results.
 */
import { SnapshotError, WindowEngine, type EngineOptions } from '../../core/index.js';
import { AlertEngine, type AlertsConfig } from '../../core/alerts/index.js';
import type { EngineSettings, Topology } from '../../domain/index.js';

/** Version of the checkpoint encoding (checkpoint-codec.ts); a reader refuses others. */
export const CHECKPOINT_FORMAT_VERSION = 1;

/** Where a checkpoint belongs: a group's partition of one stream. */
export interface CheckpointScope {
  group: string;
  /** Partition number, 0 ≤ partition < partitionCount. */
  partition: number;
  /** The P of the stream's `partition(P, site)` mapping (a site's partition depends on it). */
  partitionCount: number;
  /** JetStream stream name the sequence numbers belong to. */
  stream: string;
}

export interface Checkpoint extends CheckpointScope {
  /** The encoding version it was read from (CHECKPOINT_FORMAT_VERSION when taken here). */
  formatVersion: number;
  /** Stream sequence up to which the state includes every message of the partition (0: none yet). */
  lastSeq: number;
  /** Site ids of the engine snapshot, in its order (the partition's sites of the topology). */
  sites: string[];
  /** WindowEngine.snapshot() of an engine over exactly `sites`. */
  engine: Uint8Array;
  /** AlertEngine.snapshot(), or null when the worker runs without alert rules. */
  alerts: Uint8Array | null;
  /** Wall-clock time the state was taken, ms since the epoch. */
  takenAtMs: number;
  /** Id of the worker that took it (for status and post-mortems). */
  workerId: string;
}

/** A checkpoint that cannot be read: torn, truncated, bit-flipped, or not a checkpoint at all. */
export class CheckpointCorruptError extends Error {
  override readonly name = 'CheckpointCorruptError';
}

/** A checkpoint written in a format version this build does not read. */
export class CheckpointVersionError extends Error {
  override readonly name = 'CheckpointVersionError';
}

/** A sound checkpoint that does not belong where it is restored (other group, partition, stream, sites or window settings). */
export class CheckpointMismatchError extends Error {
  override readonly name = 'CheckpointMismatchError';
}

export interface TakeCheckpointInput extends CheckpointScope {
  engine: WindowEngine;
  alerts: AlertEngine | null;
  lastSeq: number;
  takenAtMs: number;
  workerId: string;
}

/** Snapshots both engines (synchronously, so no message can slip in between) into a checkpoint. */
export function takeCheckpoint(input: TakeCheckpointInput): Checkpoint {
  if (!Number.isSafeInteger(input.lastSeq) || input.lastSeq < 0) throw new RangeError(`lastSeq must be a whole number ≥ 0, got ${input.lastSeq}`);
  return {
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    group: input.group,
    partition: input.partition,
    partitionCount: input.partitionCount,
    stream: input.stream,
    lastSeq: input.lastSeq,
    sites: input.engine.topology.sites.map((s) => s.id),
    engine: input.engine.snapshot(),
    alerts: input.alerts === null ? null : input.alerts.snapshot(),
    takenAtMs: input.takenAtMs,
    workerId: input.workerId,
  };
}

export interface RestoreTarget extends CheckpointScope {
  /** The partition's topology (partitionTopology()): the sites the checkpoint must hold. */
  topology: Topology;
  settings: EngineSettings;
  engineOptions?: EngineOptions;
  /** Alert rules, or null to run without alerts (an alert snapshot in the checkpoint is then ignored). */
  alerts: AlertsConfig | null;
}

export interface RestoredPartition {
  engine: WindowEngine;
  alerts: AlertEngine | null;
  /** First stream sequence to consume: lastSeq + 1. */
  nextSeq: number;
}

/**
 * Rebuilds the engines of a partition from its checkpoint. Throws CheckpointMismatchError
 * (with the engine's SnapshotError as cause where it applies) when the checkpoint belongs to
 * another scope or topology. With alert rules but no alert state in the checkpoint, the alert
 * engine starts fresh.
 */
export function restoreFromCheckpoint(checkpoint: Checkpoint, target: RestoreTarget): RestoredPartition {
  for (const key of ['group', 'partition', 'partitionCount', 'stream'] as const) {
    if (checkpoint[key] !== target[key]) {
      throw new CheckpointMismatchError(`checkpoint is for ${key} ${JSON.stringify(checkpoint[key])}, not ${JSON.stringify(target[key])}`);
    }
  }
  const sites = target.topology.sites.map((s) => s.id);
  if (sites.length !== checkpoint.sites.length || sites.some((id, i) => id !== checkpoint.sites[i])) {
    throw new CheckpointMismatchError(`checkpoint holds sites [${checkpoint.sites.join(', ')}], the partition has [${sites.join(', ')}]`);
  }
  let engine: WindowEngine;
  let alerts: AlertEngine | null = null;
  try {
    engine = WindowEngine.restore(target.topology, target.settings, checkpoint.engine, target.engineOptions);
    if (target.alerts !== null) {
      alerts = checkpoint.alerts === null ? new AlertEngine(target.topology, target.alerts) : AlertEngine.restore(target.topology, target.alerts, checkpoint.alerts);
    }
  } catch (err: unknown) {
    if (err instanceof SnapshotError) throw new CheckpointMismatchError(`checkpoint state does not fit this partition: ${err.message}`, { cause: err });
    throw err;
  }
  return { engine, alerts, nextSeq: checkpoint.lastSeq + 1 };
}
