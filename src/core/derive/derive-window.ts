import type { MeterWindow, NodeWindow, SiteWindow } from '../../domain/index.js';
import type { SiteModel } from '../site-model.js';
import { swingStatsOf } from '../swing.js';
import { round, roundOrNull, wattMsToWh, type WindowContext } from './context.js';
import { recordLoad, timeToBreachSeconds } from './node-history.js';
import { deriveSite } from './site-record.js';

type WindowRecords = (MeterWindow | NodeWindow | SiteWindow)[];

/**
 * Derives the meter, node and site records of one window and appends them to `out` (no
 * intermediate array: a window of a large site has tens of thousands). Returns how many it
 * appended: 0 when the window has no data.
 * Steps: meter records (when asked for), the roll-up of meters into nodes, then per node its
 * failover headroom and history (ramp, time to breach), then the site record.
 */
export function deriveWindow(ctx: WindowContext, out: WindowRecords): number {
  const before = out.length;
  if (ctx.emitMeters) meterRecords(ctx, out);
  rollUp(ctx);
  nodeRecords(ctx, out);
  const siteRecord = deriveSite(ctx);
  if (siteRecord !== null) out.push(siteRecord);
  return out.length - before;
}

/** One record per meter with covered time (meters without still count in the site stats). */
function meterRecords(ctx: WindowContext, out: WindowRecords): void {
  const { model, acc, windowMs, startMs, revision } = ctx;
  const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);
  for (let meter = 0; meter < model.meterIds.length; meter++) {
    const coveredMs = acc.coveredMs[meter]!;
    if (coveredMs === 0) continue;
    out.push({
      type: 'meter',
      site: model.spec.id,
      meter: model.meterIds[meter]!,
      windowMs,
      start: startMs,
      end: startMs + windowMs,
      revision,
      loadWatts: round(coveredMs > 0 ? acc.energyWattMs[meter]! / coveredMs : 0),
      energyWh: round(wattMsToWh(acc.energyWattMs[meter]!)),
      coverage: round(coveredMs / windowMs),
      count: acc.count[meter]!,
      minWatts: finiteOrNull(acc.minWatts[meter]!),
      maxWatts: finiteOrNull(acc.maxWatts[meter]!),
      lastWatts: finiteOrNull(acc.lastWatts[meter]!),
      lastTsMs: finiteOrNull(acc.lastTsMs[meter]!),
      counterResets: acc.counterResets[meter]!,
    });
  }
}

/** The roll-up step: per node, the load, energy and covered meters of its meter set (into ctx.scratch). */
function rollUp(ctx: WindowContext): void {
  const { model, acc } = ctx;
  const { loadWatts, energyWattMs, coveredMeters } = ctx.scratch;
  const members = model.meterSetMembers;
  for (let node = 0; node < model.nodes.length; node++) {
    const to = model.meterSetOffsets[node + 1]!;
    let nodeLoadWatts = 0;
    let nodeEnergyWattMs = 0;
    let nodeCoveredMeters = 0;
    for (let j = model.meterSetOffsets[node]!; j < to; j++) {
      const meter = members[j]!;
      const coveredMs = acc.coveredMs[meter]!;
      if (coveredMs > 0) {
        nodeLoadWatts += acc.energyWattMs[meter]! / coveredMs;
        nodeEnergyWattMs += acc.energyWattMs[meter]!;
        nodeCoveredMeters++;
      }
    }
    loadWatts[node] = nodeLoadWatts;
    energyWattMs[node] = nodeEnergyWattMs;
    coveredMeters[node] = nodeCoveredMeters;
  }
}

const usableWattsOf = (model: SiteModel, node: number): number => model.nodes[node]!.ratingWatts * model.nodes[node]!.derate;

/**
 * The failover step: the node's headroom if its redundant partner fails over onto it, and for
 * an N+1 group the headroom of its children if the largest of them fails (the smaller of the
 * two when both apply); null when neither applies.
 */
function failoverHeadroomWatts(model: SiteModel, loadWatts: Float64Array, node: number, usableWatts: number): number | null {
  let failover: number | null = null;
  const partner = model.pairOf[node]!;
  if (partner >= 0) failover = usableWatts - (loadWatts[node]! + loadWatts[partner]!);
  if (model.nPlusOne[node] === 1) {
    let usableSumWatts = 0;
    let usableMaxWatts = 0;
    let groupLoadWatts = 0;
    for (const child of model.children[node]!) {
      const childUsableWatts = usableWattsOf(model, child);
      usableSumWatts += childUsableWatts;
      if (childUsableWatts > usableMaxWatts) usableMaxWatts = childUsableWatts;
      groupLoadWatts += loadWatts[child]!;
    }
    const groupHeadroomWatts = usableSumWatts - usableMaxWatts - groupLoadWatts;
    failover = failover === null ? groupHeadroomWatts : Math.min(failover, groupHeadroomWatts);
  }
  return failover;
}

/** One record per node with a covered meter: headroom, failover, history and swing. */
function nodeRecords(ctx: WindowContext, out: WindowRecords): void {
  const { model, acc, windowMs, startMs, revision, settings, history } = ctx;
  const { loadWatts, energyWattMs, coveredMeters } = ctx.scratch;
  for (let node = 0; node < model.nodes.length; node++) {
    if (coveredMeters[node] === 0) continue;
    const spec = model.nodes[node]!;
    const usableWatts = usableWattsOf(model, node);
    const nodeLoadWatts = loadWatts[node]!;
    const failover = failoverHeadroomWatts(model, loadWatts, node, usableWatts);
    let childrenLoadWatts: number | null = null;
    if (model.hasMetersAndChildren[node] === 1) {
      childrenLoadWatts = 0;
      for (const child of model.children[node]!) childrenLoadWatts += loadWatts[child]!;
    }
    // History: ramp from the previous window, least-squares trend for time to breach.
    const ramp = recordLoad(history, node, startMs, windowMs, nodeLoadWatts);
    const timeToBreach = timeToBreachSeconds(history, node, startMs, windowMs, usableWatts, settings.trendWindows, ctx.scratch.trend);
    const swing = ctx.swing !== undefined && ctx.swingScratch !== undefined ? swingStatsOf(ctx.swing, node, ctx.swingScratch) : null;
    const peakWatts = acc.nodePeakWatts[node]!;
    const minWatts = acc.nodeMinWatts[node]!;
    const completeness = coveredMeters[node]! / (model.meterSetOffsets[node + 1]! - model.meterSetOffsets[node]!);
    out.push({
      type: 'node',
      site: model.spec.id,
      node: spec.id,
      level: spec.level,
      windowMs,
      start: startMs,
      end: startMs + windowMs,
      revision,
      loadWatts: round(nodeLoadWatts),
      peakWatts: round(Number.isFinite(peakWatts) ? peakWatts : nodeLoadWatts),
      minWatts: round(Number.isFinite(minWatts) ? minWatts : nodeLoadWatts),
      energyWh: round(wattMsToWh(energyWattMs[node]!)),
      ratingWatts: spec.ratingWatts,
      usableWatts: round(usableWatts),
      headroomWatts: round(usableWatts - nodeLoadWatts),
      utilization: round(nodeLoadWatts / spec.ratingWatts),
      failoverHeadroomWatts: roundOrNull(failover),
      completeness: round(completeness),
      headroomCertain: completeness >= settings.completenessThreshold,
      childrenLoadWatts: roundOrNull(childrenLoadWatts),
      unmeteredWatts: childrenLoadWatts === null ? null : round(nodeLoadWatts - childrenLoadWatts),
      rampWattsPerSecond: roundOrNull(ramp),
      timeToBreachSeconds: roundOrNull(timeToBreach),
      swingWatts: swing === null ? null : round(swing.swingWatts),
      swingPeriodSeconds: swing === null ? null : roundOrNull(swing.swingPeriodSeconds),
      swingPeriodShare: swing === null ? null : roundOrNull(swing.swingPeriodShare),
    });
  }
}
