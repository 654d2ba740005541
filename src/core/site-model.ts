import type { NodeSpec, SiteSpec } from '../domain/index.js';

/**
 * The static, index-based model of one site, built once from its SiteSpec.
 * Meters and nodes are addressed by dense integer indices so per-window state can live in
 * typed arrays sized by the topology.
 */
export interface SiteModel {
  spec: SiteSpec;
  /** Power meters (owned by nodes), index → id. */
  meterIds: string[];
  meterIndex: Map<string, number>;
  /** Grid sensors, index → id. */
  gridMeterIds: string[];
  gridMeterIndex: Map<string, number>;
  nodes: NodeSpec[];
  nodeIndex: Map<string, number>;
  /** Children of each node. */
  children: number[][];
  /** Meter set per node (own meters, or the union of the children's sets), in CSR form:
   * node n's meters are meterSetMembers[meterSetOffsets[n] .. meterSetOffsets[n + 1]). */
  meterSetOffsets: Int32Array;
  meterSetMembers: Int32Array;
  /** For each meter, the nodes whose meter set contains it (CSR form, as above). */
  meterNodeOffsets: Int32Array;
  meterNodeMembers: Int32Array;
  /** Index of the redundant partner, or -1. */
  pairOf: Int32Array;
  /** True where the node's children form an N+1 group. */
  nPlusOne: Uint8Array;
  /** True where the node has own meters and children (losses visible). */
  hasMetersAndChildren: Uint8Array;
  facilityNode: number;
  itNodes: number[];
}

export function buildSiteModel(spec: SiteSpec): SiteModel {
  const nodes = spec.nodes;
  const nodeIndex = new Map<string, number>();
  nodes.forEach((nodeSpec, i) => nodeIndex.set(nodeSpec.id, i));

  const meterIds: string[] = [];
  const meterIndex = new Map<string, number>();
  const ownMeters: number[][] = nodes.map((nodeSpec) =>
    nodeSpec.meters.map((meterId) => {
      let meter = meterIndex.get(meterId);
      if (meter === undefined) {
        meter = meterIds.length;
        meterIds.push(meterId);
        meterIndex.set(meterId, meter);
      }
      return meter;
    }),
  );
  const gridMeterIds = spec.gridMeters.map((gridMeter) => gridMeter.id);
  const gridMeterIndex = new Map<string, number>();
  gridMeterIds.forEach((gridMeterId, i) => gridMeterIndex.set(gridMeterId, i));

  const children: number[][] = nodes.map(() => []);
  nodes.forEach((nodeSpec, i) => {
    if (nodeSpec.parent !== null) {
      const parent = nodeIndex.get(nodeSpec.parent);
      if (parent !== undefined) children[parent]!.push(i);
    }
  });

  // Meter sets, computed depth-first with memoisation (the config loader rejects cycles;
  // the visiting guard keeps this total even on a malformed topology).
  const sets: (number[] | undefined)[] = nodes.map(() => undefined);
  const visiting = new Uint8Array(nodes.length);
  const setOf = (i: number): number[] => {
    const done = sets[i];
    if (done !== undefined) return done;
    if (visiting[i] === 1) return [];
    visiting[i] = 1;
    let set: number[];
    if (ownMeters[i]!.length > 0) set = ownMeters[i]!.slice();
    else {
      const seen = new Set<number>();
      for (const child of children[i]!) for (const meter of setOf(child)) seen.add(meter);
      set = [...seen].sort((a, b) => a - b);
    }
    sets[i] = set;
    return set;
  };
  const meterSets = nodes.map((_, i) => setOf(i));
  const nodesOfMeterLists: number[][] = meterIds.map(() => []);
  meterSets.forEach((set, node) => {
    for (const meter of set) nodesOfMeterLists[meter]!.push(node);
  });
  const meterSetCsr = toCsr(meterSets);
  const meterNodeCsr = toCsr(nodesOfMeterLists);

  const pairOf = new Int32Array(nodes.length).fill(-1);
  const nPlusOne = new Uint8Array(nodes.length);
  const hasMetersAndChildren = new Uint8Array(nodes.length);
  let facilityNode = -1;
  const itNodes: number[] = [];
  nodes.forEach((nodeSpec, i) => {
    if (nodeSpec.redundantWith !== undefined) pairOf[i] = nodeIndex.get(nodeSpec.redundantWith) ?? -1;
    if (nodeSpec.redundancy === 'n+1' && children[i]!.length >= 2) nPlusOne[i] = 1;
    if (ownMeters[i]!.length > 0 && children[i]!.length > 0) hasMetersAndChildren[i] = 1;
    if (nodeSpec.role === 'facility' && facilityNode < 0) facilityNode = i;
    if (nodeSpec.role === 'it') itNodes.push(i);
  });

  return {
    spec,
    meterIds,
    meterIndex,
    gridMeterIds,
    gridMeterIndex,
    nodes,
    nodeIndex,
    children,
    meterSetOffsets: meterSetCsr.offsets,
    meterSetMembers: meterSetCsr.members,
    meterNodeOffsets: meterNodeCsr.offsets,
    meterNodeMembers: meterNodeCsr.members,
    pairOf,
    nPlusOne,
    hasMetersAndChildren,
    facilityNode,
    itNodes,
  };
}

/** Lists of indices → compressed sparse rows (two typed arrays instead of one array per list). */
function toCsr(lists: number[][]): { offsets: Int32Array; members: Int32Array } {
  const offsets = new Int32Array(lists.length + 1);
  lists.forEach((list, i) => {
    offsets[i + 1] = offsets[i]! + list.length;
  });
  const members = new Int32Array(offsets[lists.length]!);
  lists.forEach((list, i) => members.set(list, offsets[i]!));
  return { offsets, members };
}
