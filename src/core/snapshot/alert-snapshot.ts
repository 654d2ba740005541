/**
 * The alert engine's snapshot bytes: written in version 2 (binary, alert-binary.ts), read in
 * version 2 or 1 (JSON, alert-state.ts), told apart by their first bytes. Restoring applies a
 * snapshot to a fresh engine's state: rules may have changed in between, so states of targets
 * that still exist are restored (severities by name) and the others dropped.
 */
import type { Tick } from '../alerts/observe.js';
import type { Instance, Target } from '../alerts/targets.js';
import { ALERT_MAGIC, readAlertState, writeAlertState, type AlertEngineParts, type DecodedTarget } from './alert-binary.js';
import { ALERT_SNAPSHOT_VERSION, ALERT_SNAPSHOT_VERSIONS_READ, isAlertSnapshot, nullToNan, type EngineSnapshot } from './alert-state.js';
import { hasMagic } from './binary.js';
import { decodeSnapshot } from './envelope.js';
import { SnapshotError } from './error.js';

export type { AlertEngineParts } from './alert-binary.js';

export function encodeAlertSnapshot(parts: AlertEngineParts): Uint8Array {
  return writeAlertState(parts, ALERT_SNAPSHOT_VERSION);
}

/** Applies snapshot bytes to a fresh engine's state. Corrupt bytes and unknown format versions throw SnapshotError. */
export function restoreAlertSnapshot(parts: AlertEngineParts, bytes: Uint8Array): void {
  if (hasMagic(bytes, ALERT_MAGIC)) {
    const state = readAlertState(bytes, ALERT_SNAPSHOT_VERSION, ALERT_SNAPSHOT_VERSIONS_READ);
    applyCommon(parts, state.lastEvaluatedEndMs, state.maxEndMs, state.pending);
    applyTargets(parts, state.targets);
    return;
  }
  const parsed = decodeSnapshot(bytes, 'alert', [1], undefined, ALERT_SNAPSHOT_VERSIONS_READ);
  if (!isAlertSnapshot(parsed)) throw new SnapshotError('not an alert engine snapshot');
  applyVersion1(parts, parsed);
}

function applyCommon(parts: AlertEngineParts, lastEvaluatedEndMs: [string, number][], maxEndMs: [string, number][], pending: Tick[]): void {
  for (const [key, endMs] of lastEvaluatedEndMs) parts.lastEvaluatedEndMs.set(key, endMs);
  for (const [site, endMs] of maxEndMs) parts.maxEndMs.set(site, endMs);
  for (const tick of pending) parts.pending.get(tick.site)?.set(`${tick.windowMs}|${tick.end}`, tick);
}

function applyVersion1(parts: AlertEngineParts, state: EngineSnapshot): void {
  const pending = state.pending.map((tick): Tick => ({ ...tick, nodes: new Map(tick.nodes.map((node) => [node.node, node])) }));
  applyCommon(parts, state.lastEvaluatedEndMs, state.maxEndMs, pending);
  for (const saved of state.targets) {
    const target = parts.targetsByKey.get(saved.key);
    if (target === undefined) continue;
    target.memory.lastDataEndMs = nullToNan(saved.memory[0]);
    target.memory.prevCompleteness = nullToNan(saved.memory[1]);
    target.memory.stableWindows = saved.memory[2];
    for (const si of saved.instances) {
      const inst = target.instances.find((instance) => instance.severity === si.severity);
      if (inst === undefined) continue;
      setInstance(inst, { ...si, activeSinceMs: nullToNan(si.activeSinceMs), firingSinceMs: nullToNan(si.firingSinceMs), clearSinceMs: nullToNan(si.clearSinceMs ?? null) });
    }
  }
}

function applyTargets(parts: AlertEngineParts, saved: readonly DecodedTarget[]): void {
  // Same rules and topology: the targets come in the engine's own order; otherwise look them up.
  const inOrder = [...parts.targetsByKey.values()];
  let byName: Map<string, Target> | undefined;
  const nameOf = (rule: string, site: string, node: string | null): string => JSON.stringify([rule, site, node]);
  for (let i = 0; i < saved.length; i++) {
    const s = saved[i]!;
    let target: Target | undefined = inOrder[i];
    if (target === undefined || target.rule.name !== s.rule || target.site !== s.site || (target.node?.id ?? null) !== s.node) {
      byName ??= new Map(inOrder.map((t) => [nameOf(t.rule.name, t.site, t.node?.id ?? null), t]));
      target = byName.get(nameOf(s.rule, s.site, s.node));
    }
    if (target === undefined) continue;
    target.memory.lastDataEndMs = s.memory[0];
    target.memory.prevCompleteness = s.memory[1];
    target.memory.stableWindows = s.memory[2];
    for (const si of s.instances) {
      for (const inst of target.instances) if (inst.severity === si.severity) setInstance(inst, si);
    }
  }
}

function setInstance(inst: Instance, s: Pick<Instance, 'active' | 'activeSinceMs' | 'firingSinceMs' | 'clearSinceMs' | 'raw' | 'announced' | 'value' | 'thresholdValue'>): void {
  inst.active = s.active;
  inst.activeSinceMs = s.activeSinceMs;
  inst.firingSinceMs = s.firingSinceMs;
  inst.clearSinceMs = s.clearSinceMs;
  inst.raw = s.raw;
  inst.announced = s.announced;
  inst.value = s.value;
  inst.thresholdValue = s.thresholdValue;
}
