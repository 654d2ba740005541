import type { AlertEvent, Topology, WindowResult } from '../../domain/index.js';
import { DEFAULT_TREND_HORIZON_MS } from '../derive/index.js';
import { encodeAlertSnapshot, restoreAlertSnapshot, type AlertEngineParts } from '../snapshot/alert-snapshot.js';
import type { Tick } from './observe.js';
import { annotationsOf, buildTargets, inhibitor, labelsOf, step, thresholdOf, type RawState, type SiteState, type Target } from './targets.js';
import type { ActiveAlert, AlertsConfig } from './types.js';

/**
 * The in-stream alert engine. Pure: evaluated on window results in event time (the time of a
 * transition is the end of the window that caused it), so a replay raises the alerts live
 * processing raised, at the same event times.
 *
 * - Each rule is evaluated on one window size, per node in its scope (or per site).
 * - Per severity, a breach starts an alert (`pending`); it fires once the breach lasted `for`
 *   (from the start of its first breaching window to the end of the current one); it resolves
 *   when the value crosses the clear threshold. Values between the trigger and the clear
 *   threshold change nothing (hysteresis), so a value oscillating in the band never flaps.
 * - A window that cannot tell (node without data, meters missing so headroom is only an upper
 *   bound, a ramp across a change of reporting meters) keeps every alert where it is: an
 *   uncertain node never resolves a headroom alert.
 * - Inhibition by topology: an instance is not announced (and is resolved if it was) while the
 *   same rule fires on an ancestor node at the same or a higher severity.
 * - Restatements: see RevisionPolicy.
 */
export class AlertEngine {
  private readonly sites = new Map<string, SiteState>();
  private readonly siteOrder: SiteState[] = [];
  private readonly targetsByKey = new Map<string, Target>();
  private readonly ruleWindows: Set<number>;
  /** `${site}|${windowMs}` → end of the last evaluated window. */
  private readonly lastEvaluatedEndMs = new Map<string, number>();
  /** final policy: windows waiting to become final, per site, by `${windowMs}|${end}`. */
  private readonly pending = new Map<string, Map<string, Tick>>();
  /** Largest window end seen per site (the site's watermark is at least this). */
  private readonly maxEndMs = new Map<string, number>();

  constructor(
    readonly topology: Topology,
    readonly config: AlertsConfig,
  ) {
    const names = new Set<string>();
    for (const rule of config.rules) {
      if (names.has(rule.name)) throw new Error(`duplicate alert rule '${rule.name}'`);
      names.add(rule.name);
    }
    this.ruleWindows = new Set(config.rules.map((rule) => rule.windowMs));
    for (const spec of topology.sites) {
      const state: SiteState = { spec, targets: config.rules.map((rule) => buildTargets(spec, rule, this.targetsByKey)) };
      this.sites.set(spec.id, state);
      this.siteOrder.push(state);
      this.pending.set(spec.id, new Map());
    }
  }

  /**
   * Takes window results (any order, any mix of sites, sizes and revisions; meter records are
   * ignored) and returns the alert transitions they cause, per site in event-time order.
   * `watermarksMs` (per site, e.g. WindowEngine.stats().watermarkMs) lets the `final` policy
   * finalise windows of a site that went quiet; without it a window becomes final when a
   * window of its site ending allowedLateness later is seen, or on flush().
   */
  evaluate(results: readonly WindowResult[], watermarksMs?: Readonly<Record<string, number>>): AlertEvent[] {
    const ticks = groupTicks(results, this.ruleWindows);
    for (const result of results) {
      if (result.type === 'meter') continue;
      const prev = this.maxEndMs.get(result.site);
      if (prev === undefined || result.end > prev) this.maxEndMs.set(result.site, result.end);
    }
    const out: AlertEvent[] = [];
    if (this.config.revisions === 'first') {
      for (const tick of ticks) if (tick.revision === 0) this.processTick(tick, out);
      return out;
    }
    for (const tick of ticks) {
      const buffer = this.pending.get(tick.site);
      if (buffer === undefined) continue;
      const key = `${tick.windowMs}|${tick.end}`;
      const held = buffer.get(key);
      if (held === undefined || tick.revision >= held.revision) buffer.set(key, tick);
    }
    for (const site of this.siteOrder) {
      const id = site.spec.id;
      const horizon = Math.max(this.maxEndMs.get(id) ?? -Infinity, watermarksMs?.[id] ?? -Infinity) - this.config.allowedLatenessMs;
      this.release(id, (tick) => tick.end <= horizon, out);
    }
    return out;
  }

  /** End of input: evaluates every window still waiting to become final. */
  flush(): AlertEvent[] {
    const out: AlertEvent[] = [];
    for (const site of this.siteOrder) this.release(site.spec.id, () => true, out);
    return out;
  }

  private release(site: string, ready: (tick: Tick) => boolean, out: AlertEvent[]): void {
    const buffer = this.pending.get(site);
    if (buffer === undefined || buffer.size === 0) return;
    const due: Tick[] = [];
    for (const [key, tick] of buffer) {
      if (ready(tick)) {
        due.push(tick);
        buffer.delete(key);
      }
    }
    due.sort((a, b) => a.end - b.end || a.windowMs - b.windowMs);
    for (const tick of due) this.processTick(tick, out);
  }

  private processTick(tick: Tick, out: AlertEvent[]): void {
    const site = this.sites.get(tick.site);
    if (site === undefined) return;
    const lastKey = `${tick.site}|${tick.windowMs}`;
    const last = this.lastEvaluatedEndMs.get(lastKey);
    // Already evaluated (a stretch replayed after a restore): the alerts were raised then.
    if (last !== undefined && tick.end <= last) return;
    this.lastEvaluatedEndMs.set(lastKey, tick.end);
    const trendWindows = trendWindowsOf(this.config, tick.windowMs);
    const rules = this.config.rules;
    for (let ri = 0; ri < rules.length; ri++) {
      if (rules[ri]!.windowMs !== tick.windowMs) continue;
      const targets = site.targets[ri]!;
      for (const target of targets) step(target, tick, trendWindows);
      for (const target of targets) this.announce(target, tick, out);
    }
  }

  private announce(target: Target, tick: Tick, out: AlertEvent[]): void {
    for (const inst of target.instances) {
      const by = inst.raw === 'inactive' ? null : inhibitor(target, inst);
      const desired: RawState = by === null ? inst.raw : 'inactive';
      if (desired === inst.announced) continue;
      const was = inst.announced;
      inst.announced = desired;
      // Only a firing alert resolves: a pending one that ends (or is inhibited) ends silently.
      if (desired === 'inactive' && was === 'pending') continue;
      const event: AlertEvent = {
        type: 'alert',
        site: target.site,
        node: target.node?.id ?? null,
        rule: target.rule.name,
        severity: inst.severity,
        state: desired === 'inactive' ? 'resolved' : desired,
        atMs: tick.end,
        windowMs: target.rule.windowMs,
        value: inst.value,
        threshold: thresholdOf(inst),
        labels: labelsOf(target, inst),
        annotations: annotationsOf(target, inst),
      };
      if (by !== null && by.node !== null) event.annotations['inhibitedBy'] = by.node.id;
      out.push(event);
    }
  }

  /** Alerts pending or firing now (inhibited ones left out), in rule, site and topology order. */
  activeAlerts(): ActiveAlert[] {
    const out: ActiveAlert[] = [];
    this.config.rules.forEach((_rule, ri) => {
      for (const site of this.siteOrder) {
        for (const target of site.targets[ri]!) {
          for (const inst of target.instances) {
            if (inst.announced === 'inactive') continue;
            out.push({
              rule: target.rule.name,
              severity: inst.severity,
              site: target.site,
              node: target.node?.id ?? null,
              level: target.node?.level ?? null,
              state: inst.announced,
              activeSinceMs: inst.activeSinceMs,
              firingSinceMs: inst.announced === 'firing' ? inst.firingSinceMs : null,
              value: inst.value,
              threshold: thresholdOf(inst),
              windowMs: target.rule.windowMs,
              labels: labelsOf(target, inst),
              annotations: annotationsOf(target, inst),
            });
          }
        }
      }
    });
    return out;
  }

  /** Serialises alert states, target memory and windows waiting to become final (snapshot/alert-snapshot.ts). */
  snapshot(): Uint8Array {
    return encodeAlertSnapshot(this.parts());
  }

  /**
   * Rebuilds an engine from a snapshot. Rules may have changed in between: states of
   * targets that still exist are restored (severities by name), others are dropped.
   * Corrupt bytes and unknown format versions throw SnapshotError.
   */
  static restore(topology: Topology, config: AlertsConfig, bytes: Uint8Array): AlertEngine {
    const engine = new AlertEngine(topology, config);
    restoreAlertSnapshot(engine.parts(), bytes);
    return engine;
  }

  private parts(): AlertEngineParts {
    return { lastEvaluatedEndMs: this.lastEvaluatedEndMs, maxEndMs: this.maxEndMs, pending: this.pending, targetsByKey: this.targetsByKey };
  }
}

/** Windows of stable completeness before a time to breach is trusted: the trend horizon in windows. */
function trendWindowsOf(config: AlertsConfig, windowMs: number): number {
  return Math.max(config.trendWindows, Math.ceil((config.trendHorizonMs ?? DEFAULT_TREND_HORIZON_MS) / windowMs));
}

/** Groups window results into ticks (one site, size, end and revision), in order of appearance. */
function groupTicks(results: readonly WindowResult[], windows: ReadonlySet<number>): Tick[] {
  const byKey = new Map<string, Tick>();
  let last: Tick | undefined;
  for (const result of results) {
    if (result.type === 'meter' || !windows.has(result.windowMs)) continue;
    // Results of one tick come together: the previous result's tick, without a key, first.
    let tick = last !== undefined && last.site === result.site && last.windowMs === result.windowMs && last.end === result.end && last.revision === result.revision ? last : undefined;
    if (tick === undefined) {
      const key = `${result.site}|${result.windowMs}|${result.end}|${result.revision}`;
      tick = byKey.get(key);
      if (tick === undefined) {
        tick = { site: result.site, windowMs: result.windowMs, start: result.start, end: result.end, revision: result.revision, nodes: new Map(), siteWindow: null };
        byKey.set(key, tick);
      }
    }
    last = tick;
    if (result.type === 'node') tick.nodes.set(result.node, result);
    else tick.siteWindow = result;
  }
  return [...byKey.values()];
}
