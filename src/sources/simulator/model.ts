/** The simulator's static model of a topology: nodes, capacities, jobs, meters, gateways. */
import type { NodeSpec, SiteSpec, Topology } from '../../domain/index.js';
import { pairRedundantLeaves, shareCapacity } from './capacity.js';
import type { FleetModel, LeafKind, SimulatedSite } from './fleet-types.js';
import { buildMeters } from './meters.js';
import { Prng, hash32 } from './prng.js';

function lossFractionFor(level: string): number {
  if (level.includes('ups')) return 0.05;
  if (level.includes('rack') || level.includes('circuit')) return 0.003;
  if (
    level.includes('grid') ||
    level.includes('utility') ||
    level.includes('switchgear') ||
    level.includes('transformer') ||
    level.includes('substation')
  ) {
    return 0.012;
  }
  return 0.02;
}

function marks(spec: NodeSpec, word: string): boolean {
  return spec.id.toLowerCase().includes(word) || spec.level.toLowerCase().includes(word);
}

function isCoolingSpec(spec: NodeSpec): boolean {
  return spec.level.toLowerCase() === 'cooling' || spec.id.toLowerCase().includes('cool');
}

function siteHasTraining(site: SiteSpec): boolean {
  return site.nodes.some((n) => marks(n, 'train'));
}

export function buildModel(topology: Topology, seed: number): FleetModel {
  const fleet: FleetModel = { sites: [], nodes: [], jobs: [], meters: [], gateways: [] };
  const anyTraining = topology.sites.some(siteHasTraining);
  topology.sites.forEach((spec, siteIndex) => {
    const trainingSite = siteHasTraining(spec) || (!anyTraining && siteIndex === 0);
    buildSite(fleet, spec, siteIndex, trainingSite, seed);
  });
  return fleet;
}

function usableOf(n: NodeSpec): number {
  const derate = n.derate > 0 && n.derate <= 1 ? n.derate : 0.8;
  return Number.isFinite(n.ratingWatts) && n.ratingWatts > 0 ? n.ratingWatts * derate : 0;
}

/**
 * A node whose listed children could use less than half of it (a metered pod with a few
 * metered racks below, a PDU with one rack modelled) gets a virtual unmetered child for the
 * rest, so its own meters look like its siblings' and the unmetered difference is visible.
 * Facility intakes are left alone: their remainder is cooling and losses.
 */
function withRemainders(nodes: NodeSpec[]): NodeSpec[] {
  const childUsable = new Map<string, number>();
  for (const n of nodes) {
    if (n.parent !== null) childUsable.set(n.parent, (childUsable.get(n.parent) ?? 0) + usableOf(n));
  }
  const out = nodes.slice();
  for (const n of nodes) {
    const sum = childUsable.get(n.id);
    if (sum === undefined || n.role === 'facility') continue;
    const loss = lossFractionFor(n.level.toLowerCase());
    const usable = usableOf(n);
    if (sum * (1 + loss) >= 0.5 * usable) continue;
    out.push({
      id: `${n.id}~unmetered`,
      parent: n.id,
      level: n.level,
      ratingWatts: usable / (1 + loss) - sum,
      derate: 1,
      meters: [],
    });
  }
  return out;
}

function buildSite(fleet: FleetModel, input: SiteSpec, siteIndex: number, trainingSite: boolean, seed: number): void {
  const spec: SiteSpec = { ...input, nodes: withRemainders(input.nodes) };
  const virtualFrom = input.nodes.length;
  const nodeBase = fleet.nodes.length;
  const localIndex = new Map<string, number>();
  spec.nodes.forEach((n, i) => {
    if (!localIndex.has(n.id)) localIndex.set(n.id, i);
  });
  const count = spec.nodes.length;
  const parentOf: number[] = spec.nodes.map((n, i) => {
    const p = n.parent === null ? undefined : localIndex.get(n.parent);
    return p === undefined || p === i ? -1 : p;
  });
  // Break cycles defensively: a node whose ancestor chain loops becomes a root.
  for (let i = 0; i < count; i++) {
    let cur = parentOf[i] ?? -1;
    let steps = 0;
    while (cur >= 0 && steps <= count) {
      cur = parentOf[cur] ?? -1;
      steps++;
    }
    if (steps > count) parentOf[i] = -1;
  }
  const children: number[][] = spec.nodes.map(() => []);
  parentOf.forEach((p, i) => {
    if (p >= 0) children[p]?.push(i);
  });
  const roots: number[] = [];
  parentOf.forEach((p, i) => {
    if (p < 0) roots.push(i);
  });

  // Pre-order walk: depth-first from each root, with inherited markers.
  const preOrder: number[] = [];
  const cooling: boolean[] = new Array<boolean>(count).fill(false);
  const explicitKind: (LeafKind | null)[] = new Array<LeafKind | null>(count).fill(null);
  const hallKey: number[] = new Array<number>(count).fill(-1);
  const branch: number[] = new Array<number>(count).fill(-1);
  for (const root of roots) {
    // The gateway branch: below the first node that fans out.
    let fan = root;
    while ((children[fan]?.length ?? 0) === 1) fan = children[fan]?.[0] ?? fan;
    const stack: number[] = [root];
    while (stack.length > 0) {
      const i = stack.pop() ?? -1;
      const n = spec.nodes[i];
      if (n === undefined) continue;
      preOrder.push(i);
      const p = parentOf[i] ?? -1;
      const inheritedCooling = p >= 0 ? (cooling[p] ?? false) : false;
      const real = i < virtualFrom;
      cooling[i] = inheritedCooling || (real && isCoolingSpec(n));
      const own: LeafKind | null = !real ? null : marks(n, 'train') ? 'training' : marks(n, 'infer') ? 'inference' : null;
      explicitKind[i] = own ?? (p >= 0 ? (explicitKind[p] ?? null) : null);
      const hallLike = real && (marks(n, 'train') || marks(n, 'hall'));
      hallKey[i] = hallLike ? i : p >= 0 ? (hallKey[p] ?? -1) : -1;
      branch[i] = p < 0 ? root : p === fan ? i : (branch[p] ?? root);
      const kids = children[i] ?? [];
      for (let k = kids.length - 1; k >= 0; k--) stack.push(kids[k] ?? -1);
    }
  }

  const siteSeed = hash32(seed, `site:${spec.id}`);
  const siteRng = new Prng(hash32(siteSeed, 'static'));
  const jobsOfSite: number[] = [];
  const jobIndexByKey = new Map<number, number>();

  // Nodes.
  for (let i = 0; i < count; i++) {
    const n = spec.nodes[i];
    if (n === undefined) continue;
    const rng = new Prng(hash32(siteSeed, `node:${n.id}`));
    const isLeaf = (children[i]?.length ?? 0) === 0;
    let kind: LeafKind = 'none';
    if (isLeaf) {
      kind = cooling[i] ? 'cooling' : (explicitKind[i] ?? (trainingSite ? 'training' : 'inference'));
    }
    let job = -1;
    if (kind === 'training') {
      // One job per hall (a node marked train/hall), else per gateway branch.
      const key = (hallKey[i] ?? -1) >= 0 ? (hallKey[i] ?? -1) : (branch[i] ?? -1);
      const existing = jobIndexByKey.get(key);
      if (existing !== undefined) job = existing;
      else {
        const keySpec = spec.nodes[key];
        job = createJob(fleet, siteSeed, keySpec === undefined ? 'site' : keySpec.id);
        jobIndexByKey.set(key, job);
        jobsOfSite.push(job);
      }
    }
    const ratingWatts = Number.isFinite(n.ratingWatts) && n.ratingWatts > 0 ? n.ratingWatts : 0;
    const usableWatts = usableOf(n);
    // Redundant designs keep each side loaded so that its partner (2N) or the group without
    // one member (N+1) can take over; allow a little beyond that for interesting alerts.
    const p = parentOf[i] ?? -1;
    const parentSpec = p >= 0 ? spec.nodes[p] : undefined;
    const siblings = p >= 0 ? (children[p]?.length ?? 1) : 1;
    let redundancyFactor = 1;
    if (n.redundantWith !== undefined) redundancyFactor = 0.55;
    else if (parentSpec?.redundancy === 'n+1' && siblings > 1) redundancyFactor = Math.min(1, ((siblings - 1) / siblings) * 1.05);
    const low = kind === 'training' ? 0 : rng.range(0.4, 0.55);
    const high = kind === 'training' ? rng.range(0.72, 0.88) : rng.range(0.65, 0.85);
    fleet.nodes.push({
      index: nodeBase + i,
      site: siteIndex,
      id: n.id,
      level: n.level,
      parent: (parentOf[i] ?? -1) >= 0 ? nodeBase + (parentOf[i] ?? 0) : -1,
      children: (children[i] ?? []).map((c) => nodeBase + c),
      ratingWatts,
      usableWatts,
      capWatts: usableWatts * redundancyFactor,
      virtual: i >= virtualFrom,
      lossFraction: lossFractionFor(n.level.toLowerCase()) * rng.range(0.8, 1.2),
      kind,
      job,
      lowUtil: low,
      highUtil: high,
      swingFraction: 0.9 * rng.range(0.3, 0.5),
      partner: -1,
      partnerRatio: rng.range(0.96, 1.04),
      utilization: 0,
      loadWatts: 0,
      drift: 0,
    });
  }

  const postOrder = preOrder.slice().reverse().map((i) => nodeBase + i);
  const itLeaves = preOrder.map((i) => nodeBase + i).filter((g) => {
    const k = fleet.nodes[g]?.kind;
    return k === 'training' || k === 'inference';
  });
  const coolingLeaves = preOrder.map((i) => nodeBase + i).filter((g) => fleet.nodes[g]?.kind === 'cooling');
  let implicitCoolingNode = -1;
  if (coolingLeaves.length === 0) {
    const facility = spec.nodes.findIndex((n, i) => n.role === 'facility' && (children[i]?.length ?? 0) > 0);
    if (facility >= 0) implicitCoolingNode = nodeBase + facility;
  }

  shareCapacity(fleet, postOrder, implicitCoolingNode);
  pairRedundantLeaves(fleet, spec, nodeBase, localIndex, itLeaves);
  const coolingCapWatts = coolingLeaves.reduce((sum, g) => sum + (fleet.nodes[g]?.capWatts ?? 0), 0);

  const site: SimulatedSite = {
    index: siteIndex,
    id: spec.id,
    nominalHertz: spec.nominalHertz,
    nominalVolts: spec.nominalHertz === 60 ? 480 : 400,
    seed: siteSeed,
    postOrder,
    itLeaves,
    coolingLeaves,
    coolingCapWatts,
    implicitCoolingNode,
    jobs: jobsOfSite,
    physicsRng: new Prng(hash32(siteSeed, 'physics')),
    gridRng: new Prng(hash32(siteSeed, 'grid')),
    tempMeanCelsius: siteRng.range(10, 22),
    tempAmplitudeCelsius: siteRng.range(4, 8),
    coolingBase: siteRng.range(0.13, 0.17),
    coolingPerCelsius: siteRng.range(0.006, 0.009),
    diurnalShiftHours: siteRng.range(-1, 1),
    hertzSigma: siteRng.range(0.01, 0.02),
    priceBasePerMWh: siteRng.range(40, 90),
    carbonBaseGramsPerKWh: siteRng.range(180, 420),
    filteredItWatts: Number.NaN,
    itLeafWatts: 0,
    coolingWatts: 0,
    outsideCelsius: 0,
    hertzDeviation: 0,
    eventStartMs: 0,
    eventEndMs: Number.NEGATIVE_INFINITY,
    eventHertz: 0,
    hertz: spec.nominalHertz,
    volts: spec.nominalHertz === 60 ? 480 : 400,
    pricePerMWh: 0,
    carbonGramsPerKWh: 0,
  };
  fleet.sites.push(site);
  buildMeters(fleet, spec, site, nodeBase, preOrder, branch, seed);
}

function createJob(fleet: FleetModel, siteSeed: number, id: string): number {
  const rng = new Prng(hash32(siteSeed, `job:${id}`));
  const periodMs = Math.round(rng.range(2000, 6000)) + 0.37;
  fleet.jobs.push({
    id,
    rng,
    periodMs,
    dutyFraction: rng.range(0.55, 0.7),
    edgeMs: 150,
    phaseMs: Math.round(rng.range(0, periodMs)),
    checkpointLevel: rng.range(0.35, 0.45),
    idleLevel: rng.range(0.28, 0.38),
    state: 'running',
    stateStartMs: 0,
    // Scheduled on the first tick, relative to the start time.
    stateEndMs: Number.NaN,
    runEndMs: 0,
    nextCheckpointMs: 0,
    runWeight: 1,
    wave: 1,
    flatLevel: 0,
  });
  return fleet.jobs.length - 1;
}
