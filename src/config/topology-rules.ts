/**
 * Cross-field rules of the site topology. They read the document tolerantly (any value of
 * the wrong type is skipped), so they run both inside the schema's refinement and on the
 * raw document when the schema already failed: one run reports every problem.
 */

export type IssuePath = (string | number)[];

export interface RuleIssue {
  path: IssuePath;
  message: string;
}

interface NodeView {
  index: number;
  id: string | undefined;
  parent: string | undefined;
  redundantWith: string | undefined;
  meters: unknown[];
  role: unknown;
  redundancy: unknown;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function nodeView(raw: unknown, index: number): NodeView {
  const r = isRecord(raw) ? raw : {};
  return {
    index,
    id: str(r['id']),
    parent: str(r['parent']),
    redundantWith: str(r['redundantWith']),
    meters: list(r['meters']),
    role: r['role'],
    redundancy: r['redundancy'],
  };
}

/** Checks every site of `sites` (the raw or parsed `sites` array). */
export function checkTopologyRules(sites: unknown): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const firstSiteIndex = new Map<string, number>();
  list(sites).forEach((site, s) => {
    if (!isRecord(site)) return;
    const id = str(site['id']);
    if (id !== undefined) {
      const first = firstSiteIndex.get(id);
      if (first !== undefined) issues.push({ path: ['sites', s, 'id'], message: `duplicate site id '${id}' (first at sites[${first}])` });
      else firstSiteIndex.set(id, s);
    }
    checkSite(site, ['sites', s], issues);
  });
  return issues;
}

function checkSite(site: Record<string, unknown>, at: IssuePath, issues: RuleIssue[]): void {
  const nodes = list(site['nodes']).map(nodeView);
  const nodePath = (n: NodeView, ...rest: IssuePath): IssuePath => [...at, 'nodes', n.index, ...rest];

  // Node ids: the first occurrence wins for every other rule.
  const byId = new Map<string, NodeView>();
  for (const n of nodes) {
    if (n.id === undefined) continue;
    const first = byId.get(n.id);
    if (first !== undefined) {
      issues.push({ path: nodePath(n, 'id'), message: `duplicate node id '${n.id}' (first at nodes[${first.index}])` });
    } else byId.set(n.id, n);
  }

  // Parents.
  const childCount = new Map<string, number>();
  for (const n of nodes) {
    if (n.parent === undefined) continue;
    if (n.parent === n.id) {
      issues.push({ path: nodePath(n, 'parent'), message: `node '${n.id}' cannot be its own parent` });
    } else if (!byId.has(n.parent)) {
      issues.push({ path: nodePath(n, 'parent'), message: `unknown node '${n.parent}'` });
    } else {
      childCount.set(n.parent, (childCount.get(n.parent) ?? 0) + 1);
    }
  }
  checkCycles(nodes, byId, nodePath, issues);

  // Redundant pairs.
  for (const n of nodes) {
    const other = n.redundantWith;
    if (other === undefined || n.id === undefined) continue;
    const partner = byId.get(other);
    if (other === n.id) {
      issues.push({ path: nodePath(n, 'redundantWith'), message: `node '${n.id}' cannot be redundant with itself` });
    } else if (partner === undefined) {
      issues.push({ path: nodePath(n, 'redundantWith'), message: `unknown node '${other}'` });
    } else if (partner.redundantWith !== n.id) {
      issues.push({
        path: nodePath(n, 'redundantWith'),
        message: `not reciprocal: '${other}' must declare redundantWith: ${n.id}`,
      });
    }
  }

  // Meter claims: a meter belongs to one node or one grid sensor of the site.
  const claims = new Map<string, string>();
  for (const n of nodes) {
    n.meters.forEach((m, j) => {
      if (typeof m !== 'string') return;
      const owner = claims.get(m);
      const me = `node '${n.id ?? `#${n.index}`}'`;
      if (owner === me) issues.push({ path: nodePath(n, 'meters', j), message: `meter '${m}' is listed twice` });
      else if (owner !== undefined) issues.push({ path: nodePath(n, 'meters', j), message: `meter '${m}' is already claimed by ${owner}` });
      else claims.set(m, me);
    });
  }
  list(site['gridMeters']).forEach((g, j) => {
    const id = isRecord(g) ? str(g['id']) : undefined;
    if (id === undefined) return;
    const owner = claims.get(id);
    if (owner !== undefined) {
      issues.push({ path: [...at, 'gridMeters', j, 'id'], message: `meter '${id}' is already claimed by ${owner}` });
    } else claims.set(id, `grid meter '${id}'`);
  });

  // One facility node per site.
  let facility: NodeView | undefined;
  for (const n of nodes) {
    if (n.role !== 'facility') continue;
    if (facility === undefined) facility = n;
    else {
      issues.push({
        path: nodePath(n, 'role'),
        message: `only one node per site may have role facility; '${facility.id ?? `nodes[${facility.index}]`}' already has it`,
      });
    }
  }

  // N+1 groups need at least two members.
  for (const n of nodes) {
    if (n.redundancy !== 'n+1' || n.id === undefined || byId.get(n.id) !== n) continue;
    const children = childCount.get(n.id) ?? 0;
    if (children < 2) {
      issues.push({
        path: nodePath(n, 'redundancy'),
        message: `n+1 needs at least 2 children; '${n.id}' has ${children}`,
      });
    }
  }
}

/** Reports each cycle of parent links once, at its node listed first. */
function checkCycles(
  nodes: NodeView[],
  byId: Map<string, NodeView>,
  nodePath: (n: NodeView, ...rest: IssuePath) => IssuePath,
  issues: RuleIssue[],
): void {
  const done = new Set<NodeView>();
  for (const start of nodes) {
    if (done.has(start) || start.id === undefined || byId.get(start.id) !== start) continue;
    const trail: NodeView[] = [];
    const onTrail = new Set<NodeView>();
    let cur: NodeView | undefined = start;
    while (cur !== undefined && !done.has(cur) && !onTrail.has(cur)) {
      trail.push(cur);
      onTrail.add(cur);
      const p: string | undefined = cur.parent;
      cur = p === undefined || p === cur.id ? undefined : byId.get(p);
    }
    if (cur !== undefined && onTrail.has(cur)) {
      const cycle = trail.slice(trail.indexOf(cur));
      const first = cycle.reduce((a, b) => (b.index < a.index ? b : a));
      const from = cycle.indexOf(first);
      const ordered = [...cycle.slice(from), ...cycle.slice(0, from), first];
      issues.push({
        path: nodePath(first, 'parent'),
        message: `cycle in parent links: ${ordered.map((n) => n.id ?? '?').join(' → ')}`,
      });
    }
    for (const n of trail) done.add(n);
  }
}
