/** Capacity of a simulated site: shared out so no ancestor is overloaded, and mirrored across A/B pairs. */
import type { SiteSpec } from '../../domain/index.js';
import type { FleetModel, NodeModel } from './fleet-types.js';

/** Implicit cooling headroom reserved at a facility node when the site has no cooling nodes. */
const IMPLICIT_COOLING_RESERVE = 1.4;

/**
 * Leaves get capacity such that, summed up with losses, no ancestor exceeds its usable
 * watts: bottom-up the capacity a subtree can draw, top-down a scale where a parent is the
 * tighter limit.
 */
export function shareCapacity(fleet: FleetModel, postOrder: number[], implicitCoolingNode: number): void {
  const demand = (node: NodeModel): number => {
    let sum = 0;
    for (const c of node.children) sum += fleet.nodes[c]?.capWatts ?? 0;
    const reserve = node.index === implicitCoolingNode ? IMPLICIT_COOLING_RESERVE : 1;
    return sum * (1 + node.lossFraction) * reserve;
  };
  for (const g of postOrder) {
    const node = fleet.nodes[g];
    if (node === undefined || node.children.length === 0) continue;
    let remainder: NodeModel | undefined;
    let others = 0;
    for (const c of node.children) {
      const child = fleet.nodes[c];
      if (child?.virtual === true) remainder = child;
      else others += child?.capWatts ?? 0;
    }
    if (remainder !== undefined) remainder.capWatts = Math.max(0, node.capWatts / (1 + node.lossFraction) - others);
    node.capWatts = Math.min(node.capWatts, demand(node));
  }
  for (let k = postOrder.length - 1; k >= 0; k--) {
    const node = fleet.nodes[postOrder[k] ?? -1];
    if (node === undefined || node.children.length === 0) continue;
    const wanted = demand(node);
    if (wanted <= node.capWatts || wanted <= 0) continue;
    const scale = node.capWatts / wanted;
    for (const c of node.children) {
      const child = fleet.nodes[c];
      if (child !== undefined) child.capWatts *= scale;
    }
  }
}

/** The second IT leaf of an A/B pair mirrors the first's utilisation (2N feeds share a load). */
export function pairRedundantLeaves(
  fleet: FleetModel,
  spec: SiteSpec,
  nodeBase: number,
  localIndex: Map<string, number>,
  itLeaves: number[],
): void {
  const position = new Map<number, number>();
  itLeaves.forEach((g, k) => position.set(g, k));
  for (const g of itLeaves) {
    const node = fleet.nodes[g];
    const partnerId = spec.nodes[g - nodeBase]?.redundantWith;
    if (node === undefined || partnerId === undefined) continue;
    const local = localIndex.get(partnerId);
    if (local === undefined) continue;
    const other = nodeBase + local;
    const mine = position.get(g) ?? -1;
    const theirs = position.get(other);
    if (theirs !== undefined && theirs < mine && fleet.nodes[other]?.partner === -1) node.partner = other;
  }
}
