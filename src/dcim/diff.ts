/**
 * What a re-import changes: sites and nodes added or removed, nodes re-parented, re-rated
 * (rating or derate), moved to another level, given other meters or another redundancy partner,
 * so a topology change is reviewed before it is deployed. Pure.
 */
import { formatPowerWatts } from '../config/index.js';
import type { NodeSpec, SiteSpec } from '../domain/index.js';

export interface TopologyChange {
  site: string;
  kind: 'site added' | 'site removed' | 'added' | 'removed' | 're-parented' | 're-rated' | 'level' | 'meters' | 'redundancy' | 'role';
  node?: string;
  text: string;
}

function rating(n: NodeSpec): string {
  return `${formatPowerWatts(n.ratingWatts)} × ${n.derate}`;
}

function describe(n: NodeSpec): string {
  return `${n.level}, ${n.parent === null ? 'root' : `parent ${n.parent}`}, ${rating(n)}${n.meters.length > 0 ? `, meters ${n.meters.join(' ')}` : ''}`;
}

export function diffTopologies(oldSites: readonly SiteSpec[], newSites: readonly SiteSpec[]): TopologyChange[] {
  const changes: TopologyChange[] = [];
  const before = new Map(oldSites.map((s) => [s.id, s]));
  const after = new Map(newSites.map((s) => [s.id, s]));
  for (const [id, site] of before) if (!after.has(id)) changes.push({ site: id, kind: 'site removed', text: `site removed (${site.nodes.length} nodes)` });
  for (const [id, site] of after) {
    const old = before.get(id);
    if (old === undefined) {
      changes.push({ site: id, kind: 'site added', text: `site added (${site.nodes.length} nodes)` });
      continue;
    }
    const oldNodes = new Map(old.nodes.map((n) => [n.id, n]));
    const newNodes = new Map(site.nodes.map((n) => [n.id, n]));
    for (const [nid, n] of oldNodes) if (!newNodes.has(nid)) changes.push({ site: id, kind: 'removed', node: nid, text: `removed (${describe(n)})` });
    for (const [nid, n] of newNodes) {
      const o = oldNodes.get(nid);
      if (o === undefined) {
        changes.push({ site: id, kind: 'added', node: nid, text: `added (${describe(n)})` });
        continue;
      }
      if (o.parent !== n.parent) changes.push({ site: id, kind: 're-parented', node: nid, text: `re-parented: ${o.parent ?? 'root'} → ${n.parent ?? 'root'}` });
      if (o.ratingWatts !== n.ratingWatts || o.derate !== n.derate) changes.push({ site: id, kind: 're-rated', node: nid, text: `re-rated: ${rating(o)} → ${rating(n)}` });
      if (o.level !== n.level) changes.push({ site: id, kind: 'level', node: nid, text: `level: ${o.level} → ${n.level}` });
      if (o.meters.join(' ') !== n.meters.join(' ')) changes.push({ site: id, kind: 'meters', node: nid, text: `meters: [${o.meters.join(' ')}] → [${n.meters.join(' ')}]` });
      const oldPair = o.redundantWith ?? o.redundancy ?? 'none';
      const newPair = n.redundantWith ?? n.redundancy ?? 'none';
      if (oldPair !== newPair) changes.push({ site: id, kind: 'redundancy', node: nid, text: `redundancy: ${oldPair} → ${newPair}` });
      if ((o.role ?? 'none') !== (n.role ?? 'none')) changes.push({ site: id, kind: 'role', node: nid, text: `role: ${o.role ?? 'none'} → ${n.role ?? 'none'}` });
    }
  }
  return changes;
}

/** `ash1 pdu-r12-a: re-rated: 17.3kW × 0.8 → 22kW × 0.8` */
export function formatChange(c: TopologyChange): string {
  return c.node === undefined ? `${c.site}: ${c.text}` : `${c.site} ${c.node}: ${c.text}`;
}
