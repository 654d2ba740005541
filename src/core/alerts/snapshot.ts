/** The alert engine's snapshot format: alert states, target memory and windows waiting to become final. */
import type { NodeWindow } from '../../domain/index.js';
import type { Tick } from './observe.js';
import type { RawState } from './targets.js';
import type { AlertSeverityLevel } from './types.js';

export const SNAPSHOT_VERSION = 1;

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

export function isSnapshot(x: unknown): x is EngineSnapshot {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as Record<string, unknown>;
  return (
    o['version'] === SNAPSHOT_VERSION &&
    Array.isArray(o['lastEvaluatedEndMs']) &&
    Array.isArray(o['maxEndMs']) &&
    Array.isArray(o['pending']) &&
    Array.isArray(o['targets'])
  );
}

export const nanToNull = (x: number): number | null => (Number.isNaN(x) ? null : x);
export const nullToNan = (x: number | null): number => (x === null ? NaN : x);
