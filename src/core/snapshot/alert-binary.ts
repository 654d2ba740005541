/**
 * Version 2 of the alert engine's snapshot: binary (binary.ts layout, magic "HRSA"), in this order:
 *
 *   lastEvaluatedEndMs, maxEndMs: count u32, then per entry its key (string) and end (f64)
 *   pending ticks: count u32; per tick site (string), windowMs, start, end, revision (f64),
 *     site window present (u8) and its row, then its node windows (window-records.ts)
 *   targets: count u32; per target rule name, site, node id (strings; NO_STRING for a site
 *     rule), memory (lastDataEndMs, prevCompleteness, stableWindows: f64), instance count (u8),
 *     per instance severity (string), flags (u8: 1 active, 2 value null, 4 threshold null),
 *     raw and announced state (u8: 0 inactive, 1 pending, 2 firing), activeSinceMs,
 *     firingSinceMs, clearSinceMs, value, thresholdValue (f64; NaN kept as NaN)
 *
 * A target is named by its rule, site and node rather than its key, so each id is stored once.
 */
import type { Tick } from '../alerts/observe.js';
import type { RawState, Target } from '../alerts/targets.js';
import type { AlertSeverityLevel } from '../alerts/types.js';
import { NO_STRING, binaryVersion } from './binary.js';
import { ByteReader } from './byte-reader.js';
import { ByteWriter, newStringCache } from './byte-writer.js';
import { SnapshotError } from './error.js';
import { readNodeWindows, readSiteWindow, writeNodeWindows, writeSiteWindow } from './window-records.js';

export const ALERT_MAGIC = 'HRSA';
const WHAT = 'alert';
const RAW_STATES: readonly RawState[] = ['inactive', 'pending', 'firing'];
const RAW_CODE: Readonly<Record<RawState, number>> = { inactive: 0, pending: 1, firing: 2 };
const INSTANCE_BYTES = 4 + 3 + 5 * 8;
const TARGET_BYTES = 12 + 3 * 8 + 1;

/** The alert engine's state, as the engine holds it. */
export interface AlertEngineParts {
  lastEvaluatedEndMs: Map<string, number>;
  maxEndMs: Map<string, number>;
  /** site → `${windowMs}|${end}` → tick. */
  pending: Map<string, Map<string, Tick>>;
  targetsByKey: Map<string, Target>;
}

/** A target's state as read back: named by rule, site and node. */
export interface DecodedTarget {
  rule: string;
  site: string;
  node: string | null;
  memory: [number, number, number];
  instances: {
    severity: AlertSeverityLevel;
    active: boolean;
    activeSinceMs: number;
    firingSinceMs: number;
    clearSinceMs: number;
    raw: RawState;
    announced: RawState;
    value: number | null;
    thresholdValue: number | null;
  }[];
}

export interface DecodedAlertState {
  lastEvaluatedEndMs: [string, number][];
  maxEndMs: [string, number][];
  pending: Tick[];
  targets: DecodedTarget[];
}

export function writeAlertState(parts: AlertEngineParts, version: number): Uint8Array {
  let estimateBytes = 1 << 12;
  for (const buffer of parts.pending.values()) for (const tick of buffer.values()) estimateBytes += 200 * tick.nodes.size;
  estimateBytes += parts.targetsByKey.size * (TARGET_BYTES + 2 * INSTANCE_BYTES);
  const w = new ByteWriter(ALERT_MAGIC, version, estimateBytes);
  for (const map of [parts.lastEvaluatedEndMs, parts.maxEndMs]) {
    w.u32(map.size);
    for (const [key, endMs] of map) {
      w.str(key);
      w.f64(endMs);
    }
  }
  let ticks = 0;
  for (const buffer of parts.pending.values()) ticks += buffer.size;
  w.u32(ticks);
  for (const buffer of parts.pending.values()) {
    for (const tick of buffer.values()) {
      w.str(tick.site);
      for (const x of [tick.windowMs, tick.start, tick.end, tick.revision]) w.f64(x);
      w.bool(tick.siteWindow !== null);
      if (tick.siteWindow !== null) writeSiteWindow(w, tick.siteWindow);
      writeNodeWindows(w, [...tick.nodes.values()]);
    }
  }
  w.u32(parts.targetsByKey.size);
  const [rule, site, severity] = [newStringCache(), newStringCache(), newStringCache()];
  for (const target of parts.targetsByKey.values()) {
    w.reserve(TARGET_BYTES + target.instances.length * INSTANCE_BYTES);
    w.u32Unchecked(w.strIndexCached(target.rule.name, rule!));
    w.u32Unchecked(w.strIndexCached(target.site, site!));
    w.u32Unchecked(target.node === null ? NO_STRING : w.strIndex(target.node.id));
    w.f64Unchecked(target.memory.lastDataEndMs);
    w.f64Unchecked(target.memory.prevCompleteness);
    w.f64Unchecked(target.memory.stableWindows);
    w.u8Unchecked(target.instances.length);
    for (const inst of target.instances) {
      w.u32Unchecked(w.strIndexCached(inst.severity, severity!));
      w.u8Unchecked((inst.active ? 1 : 0) | (inst.value === null ? 2 : 0) | (inst.thresholdValue === null ? 4 : 0));
      w.u8Unchecked(RAW_CODE[inst.raw]);
      w.u8Unchecked(RAW_CODE[inst.announced]);
      w.f64Unchecked(inst.activeSinceMs);
      w.f64Unchecked(inst.firingSinceMs);
      w.f64Unchecked(inst.clearSinceMs);
      w.f64Unchecked(inst.value ?? 0);
      w.f64Unchecked(inst.thresholdValue ?? 0);
    }
  }
  return w.finish();
}

export function readAlertState(bytes: Uint8Array, version: number, readable: readonly number[]): DecodedAlertState {
  const found = binaryVersion(bytes);
  if (found !== version) throw new SnapshotError(`${WHAT} snapshot has format version ${String(found ?? 'none')}; this build reads version ${readable.join(', ')}`);
  const r = new ByteReader(bytes, WHAT);
  const [lastEvaluatedEndMs, maxEndMs] = [0, 1].map(() => Array.from({ length: r.u32() }, (): [string, number] => [r.str(), r.f64()]));
  const pending = Array.from({ length: r.u32() }, (): Tick => {
    const site = r.str();
    const [windowMs, start, end, revision] = [r.f64(), r.f64(), r.f64(), r.f64()];
    const siteWindow = r.bool() ? readSiteWindow(r) : null;
    const nodes = new Map(readNodeWindows(r).map((node) => [node.node, node]));
    return { site, windowMs: windowMs!, start: start!, end: end!, revision: revision!, nodes, siteWindow };
  });
  const targetCount = r.u32();
  const targets = new Array<DecodedTarget>(targetCount);
  for (let t = 0; t < targetCount; t++) {
    r.need(TARGET_BYTES);
    const rule = r.string(r.u32Unchecked());
    const site = r.string(r.u32Unchecked());
    const nodeIndex = r.u32Unchecked();
    const node = nodeIndex === NO_STRING ? null : r.string(nodeIndex);
    const memory: [number, number, number] = [r.f64Unchecked(), r.f64Unchecked(), r.f64Unchecked()];
    const instanceCount = r.u8Unchecked();
    r.need(instanceCount * INSTANCE_BYTES);
    const instances: DecodedTarget['instances'] = [];
    for (let i = 0; i < instanceCount; i++) {
      const severity = r.string(r.u32Unchecked());
      if (severity !== 'warning' && severity !== 'critical') throw new SnapshotError(`${WHAT} snapshot is corrupt: severity '${severity}'`);
      const flags = r.u8Unchecked();
      const raw = rawState(r.u8Unchecked());
      const announced = rawState(r.u8Unchecked());
      const activeSinceMs = r.f64Unchecked();
      const firingSinceMs = r.f64Unchecked();
      const clearSinceMs = r.f64Unchecked();
      const value = r.f64Unchecked();
      const thresholdValue = r.f64Unchecked();
      instances.push({
        severity,
        active: (flags & 1) !== 0,
        activeSinceMs,
        firingSinceMs,
        clearSinceMs,
        raw,
        announced,
        value: (flags & 2) !== 0 ? null : value,
        thresholdValue: (flags & 4) !== 0 ? null : thresholdValue,
      });
    }
    targets[t] = { rule, site, node, memory, instances };
  }
  r.done();
  return { lastEvaluatedEndMs: lastEvaluatedEndMs!, maxEndMs: maxEndMs!, pending, targets };
}

function rawState(code: number): RawState {
  const state = RAW_STATES[code];
  if (state === undefined) throw new SnapshotError(`${WHAT} snapshot is corrupt: alert state ${code}`);
  return state;
}
