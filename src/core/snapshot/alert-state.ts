/**
 * The alert engine's snapshot format: alert states, target memory and windows waiting to become
 * final. Written in version 2 (binary: alert-binary.ts); version 1 (JSON, the types below) is read.
 */
import type { NodeWindow } from '../../domain/index.js';
import type { Tick } from '../alerts/observe.js';
import type { RawState } from '../alerts/targets.js';
import type { AlertSeverityLevel } from '../alerts/types.js';

/** The alert engine's snapshot format version written (restore refuses versions it does not read with SnapshotError). */
export const ALERT_SNAPSHOT_VERSION = 2;
/** Versions restore reads. */
export const ALERT_SNAPSHOT_VERSIONS_READ: readonly number[] = [1, 2];

export interface SnapshotInstance {
  severity: AlertSeverityLevel;
  active: boolean;
  activeSinceMs: number | null;
  firingSinceMs: number | null;
  /** Absent in snapshots from before pending hysteresis. */
  clearSinceMs?: number | null;
  raw: RawState;
  announced: RawState;
  value: number | null;
  thresholdValue: number | null;
}

export interface SnapshotTarget {
  key: string;
  memory: [number | null, number | null, number];
  instances: SnapshotInstance[];
}

export type SnapshotTick = Omit<Tick, 'nodes'> & { nodes: NodeWindow[] };

export interface EngineSnapshot {
  version: number;
  lastEvaluatedEndMs: [string, number][];
  maxEndMs: [string, number][];
  pending: SnapshotTick[];
  targets: SnapshotTarget[];
}

/** Shape check of a version 1 alert snapshot whose version decodeSnapshot has accepted. */
export function isAlertSnapshot(o: Record<string, unknown>): o is Record<string, unknown> & EngineSnapshot {
  return (
    o['version'] === 1 &&
    Array.isArray(o['lastEvaluatedEndMs']) &&
    Array.isArray(o['maxEndMs']) &&
    Array.isArray(o['pending']) &&
    Array.isArray(o['targets'])
  );
}

export const nanToNull = (x: number): number | null => (Number.isNaN(x) ? null : x);
export const nullToNan = (x: number | null): number => (x === null ? NaN : x);
