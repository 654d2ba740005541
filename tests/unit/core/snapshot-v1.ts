/**
 * Version 1 (JSON) window snapshots for the tests that edit a snapshot's fields: the current
 * binary snapshot decoded and written out as version 1 was (typed arrays as number arrays, NaN
 * and ±Infinity as '#NaN', '#Infinity', '#-Infinity').
 */
import type { WindowEngine } from '../../../src/core/index.js';
import { readWindowState } from '../../../src/core/snapshot/window-binary.js';

export function windowSnapshotV1Json(engine: WindowEngine): string {
  const sites = readWindowState(engine.snapshot(), [2]);
  return JSON.stringify({ version: 1, sites }, (_key, value: unknown) => {
    if (value instanceof Float64Array) return Array.from(value);
    if (typeof value === 'number' && !Number.isFinite(value)) return `#${String(value)}`;
    return value;
  });
}
