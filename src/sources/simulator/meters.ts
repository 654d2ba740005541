/** Meters and gateways of a site: payload prefixes, load shares, counters, subjects. */
import type { GridSignal, SiteSpec } from '../../domain/index.js';
import type { FleetModel, GridFlags, SimulatedSite } from './fleet-types.js';
import { Prng, hash32, unitOf } from './prng.js';

export const GATEWAY_MAX_METERS = 50;

function subjectToken(text: string): string {
  const cleaned = text.replace(/[^A-Za-z0-9_-]/g, '_');
  return cleaned.length > 0 ? cleaned : '_';
}

/** A deterministic 5% of meters, plus every `-kwh` meter, send an energy counter. */
function isCounterMeter(site: string, meter: string): boolean {
  return meter.toLowerCase().endsWith('-kwh') || unitOf(hash32(0xc0ffee, `${site}/${meter}`)) < 0.05;
}

function gridFlags(signals: GridSignal[]): GridFlags {
  return {
    hertz: signals.includes('hertz'),
    volts: signals.includes('volts'),
    price: signals.includes('price'),
    carbon: signals.includes('carbon'),
  };
}

export function buildMeters(
  fleet: FleetModel,
  spec: SiteSpec,
  site: SimulatedSite,
  nodeBase: number,
  preOrder: number[],
  branch: number[],
  seed: number,
): void {
  const seen = new Set<string>();
  const groups = new Map<number, number[]>();
  const siteJson = JSON.stringify(spec.id);
  const makeMeter = (id: string, node: number, grid: GridFlags | null): number => {
    const rng = new Prng(hash32(site.seed, `meter:${id}`));
    fleet.meters.push({
      site: site.index,
      id,
      node,
      grid,
      share: 1,
      counter: grid === null && isCounterMeter(spec.id, id),
      gateway: -1,
      prefix: `{"site":${siteJson},"meter":${JSON.stringify(id)},"ts":`,
      wattHours: Math.round(rng.range(1e6, 5e8)),
      silentUntilMs: Number.NEGATIVE_INFINITY,
      flatUntilMs: Number.NEGATIVE_INFINITY,
      flatBody: '',
      skewUntilMs: Number.NEGATIVE_INFINITY,
      skewMs: 0,
    });
    return fleet.meters.length - 1;
  };
  for (const i of preOrder) {
    const n = spec.nodes[i];
    if (n === undefined) continue;
    const own: number[] = [];
    for (const id of n.meters) {
      if (seen.has(id)) continue;
      seen.add(id);
      own.push(makeMeter(id, nodeBase + i, null));
    }
    // Split the node's load across its meters with a fixed small imbalance.
    const weights = own.map((m) => 1 + (unitOf(hash32(seed, `share:${spec.id}/${fleet.meters[m]?.id ?? ''}`)) - 0.5) * 0.1);
    const total = weights.reduce((a, b) => a + b, 0);
    own.forEach((m, k) => {
      const meter = fleet.meters[m];
      if (meter !== undefined) meter.share = (weights[k] ?? 1) / total;
    });
    const key = branch[i] ?? i;
    const list = groups.get(key) ?? [];
    list.push(...own);
    groups.set(key, list);
  }
  const gridList: number[] = [];
  for (const g of spec.gridMeters) {
    if (seen.has(g.id)) continue;
    seen.add(g.id);
    gridList.push(makeMeter(g.id, -1, gridFlags(g.signals)));
  }
  const names = new Set<string>();
  const addGateways = (baseName: string, meters: number[]): void => {
    if (meters.length === 0) return;
    const chunks = Math.ceil(meters.length / GATEWAY_MAX_METERS);
    for (let c = 0; c < chunks; c++) {
      let name = subjectToken(chunks === 1 ? baseName : `${baseName}-${c + 1}`);
      while (names.has(name)) name = `${name}-gw`;
      names.add(name);
      const slice = meters.slice(c * GATEWAY_MAX_METERS, (c + 1) * GATEWAY_MAX_METERS);
      const index = fleet.gateways.length;
      fleet.gateways.push({
        site: site.index,
        id: name,
        subject: `telemetry.${subjectToken(spec.id)}.${name}`,
        meters: slice,
        holdUntilMs: Number.NEGATIVE_INFINITY,
        held: [],
      });
      for (const m of slice) {
        const meter = fleet.meters[m];
        if (meter !== undefined) meter.gateway = index;
      }
    }
  };
  for (const [key, meters] of groups) addGateways(spec.nodes[key]?.id ?? 'gw', meters);
  addGateways('grid', gridList);
}
