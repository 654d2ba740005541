/**
 * Which nodes the metrics sink exports: the selection that bounds the /metrics cardinality.
 *
 * - `maxDepth` (0 = roots) and `levels` (node levels) given: nodes that pass both, as before.
 * - Neither given (the default): every node whose level is not a *leaf level* (`leafLevels`):
 *   a level whose nodes are all leaves of the IT tree, the rack rows (one node per rack
 *   meter), the level that grows with the fleet. Everything above them (grid, switchgear,
 *   UPS, PDU, busway, hall) grows with the meters divided by the fan-out, and facility leaves
 *   (cooling) are few: they stay exported. Racks at scale belong in InfluxDB, which gets
 *   every node and window.
 *
 * Levels are free text, so a leaf level is found from the tree, never from a name.
 */
import type { Topology } from '../domain/index.js';

export interface NodeSelection {
  /** Deepest tree level exported (0 = roots only); absent: no depth limit. */
  maxDepth?: number | undefined;
  /** Node levels exported; absent: every level but the leaf levels (unless `maxDepth` is given). */
  levels?: readonly string[] | undefined;
}

/** Depth of each node in its site's tree (roots 0), keyed `site\u0000node`. */
export function nodeDepths(topology: Topology): Map<string, number> {
  const depths = new Map<string, number>();
  for (const site of topology.sites) {
    const parentOf = new Map(site.nodes.map((n) => [n.id, n.parent]));
    for (const n of site.nodes) {
      let depth = 0;
      let parent = n.parent;
      // The config rejects cycles; the bound only guards against a malformed topology.
      while (parent !== null && parent !== undefined && depth <= site.nodes.length) {
        depth++;
        parent = parentOf.get(parent) ?? null;
      }
      depths.set(`${site.id}\u0000${n.id}`, depth);
    }
  }
  return depths;
}

/**
 * Levels all of whose nodes (in every site) are leaves of the IT tree: no children, not a
 * root, and at or under a `role: it` node (in a site that marks none, any leaf). These are
 * the rack rows (racks, circuits, servers), which grow with the fleet; facility leaves
 * (cooling, lighting) are few and stay exported. In order of first appearance.
 */
export function leafLevels(topology: Topology): string[] {
  const levels: string[] = [];
  const kept = new Set<string>();
  for (const site of topology.sites) {
    const byId = new Map(site.nodes.map((n) => [n.id, n]));
    const parents = new Set(site.nodes.map((n) => n.parent));
    const marksIt = site.nodes.some((n) => n.role === 'it');
    const underIt = (id: string): boolean => {
      const seen = new Set<string>();
      for (let n = byId.get(id); n !== undefined && !seen.has(n.id); n = n.parent === null ? undefined : byId.get(n.parent)) {
        if (n.role === 'it') return true;
        seen.add(n.id);
      }
      return false;
    };
    for (const n of site.nodes) {
      if (!levels.includes(n.level)) levels.push(n.level);
      const itLeaf = n.parent !== null && !parents.has(n.id) && (!marksIt || underIt(n.id));
      if (!itLeaf) kept.add(n.level);
    }
  }
  return levels.filter((l) => !kept.has(l));
}

/** The levels exported by default: every level of the fleet but the leaf levels, in order of first appearance. */
export function defaultExportedLevels(topology: Topology): string[] {
  const leaves = new Set(leafLevels(topology));
  const levels = new Set<string>();
  for (const site of topology.sites) for (const n of site.nodes) if (!leaves.has(n.level)) levels.add(n.level);
  return [...levels];
}

/** Exported nodes (`site\u0000node`) → their level. */
export function exportedNodes(topology: Topology, selection: NodeSelection): Map<string, string> {
  const levels = new Set(selection.levels ?? (selection.maxDepth === undefined ? defaultExportedLevels(topology) : topology.sites.flatMap((s) => s.nodes.map((n) => n.level))));
  const maxDepth = selection.maxDepth ?? Number.POSITIVE_INFINITY;
  const depths = nodeDepths(topology);
  const nodes = new Map<string, string>();
  for (const site of topology.sites) {
    for (const n of site.nodes) {
      const key = `${site.id}\u0000${n.id}`;
      if (levels.has(n.level) && (depths.get(key) ?? Number.POSITIVE_INFINITY) <= maxDepth) nodes.set(key, n.level);
    }
  }
  return nodes;
}
