/**
 * NetBox's power model → a Headroom topology. Pure: API objects in, sites and nodes out.
 *
 * - A power panel is a node (`level: panel`). NetBox holds no panel breaker: its rating is the
 *   custom field `headroom_rating` (watts) when set, else the sum of its feeds' ratings with
 *   derate 1 (never the binding limit; a warning says so).
 * - A power feed is a node (`level: feed`) under its panel: rating = voltage × amperage
 *   (× √3 for three-phase, voltage line to line), derate = max utilization. Planned and offline
 *   feeds are left out. The primary and redundant feed of one rack become an A/B pair
 *   (`redundantWith`).
 * - A PDU (a device of the PDU role) is a node (`level: pdu`) under the feed its power port is
 *   cabled to, rated by its inlet's maximum draw, else by its feed; it carries one meter, named
 *   by a template. A PDU without a feed becomes a root of its site (rated by its maximum draw;
 *   without one it is skipped). A feed without a PDU is metered itself.
 */
import { fillTemplate, slugId, type ImportedNode, type ImportedSite, type ImportedTopology } from './imported.js';
import type { NetboxDevice, NetboxInventory, NetboxPowerFeed, NetboxSite } from './netbox-api.js';

export type { NetboxInventory } from './netbox-api.js';

export interface NetboxMappingOptions {
  /** Meter of a PDU; placeholders {site} {panel} {feed} {rack} {device}. Default `{device}`. */
  pduMeter?: string;
  /** Meter of a feed without a PDU. Default `{panel}-{feed}`. */
  feedMeter?: string;
  /** Meter of a PDU outlet (with `pduOutlets`); adds {outlet}. Default `{device}-{outlet}`. */
  outletMeter?: string;
}

/** Current an outlet connector is made for (amperes), by NetBox's outlet type. */
const OUTLET_AMPS: Record<string, number> = {
  'iec-60320-c5': 2.5,
  'iec-60320-c7': 2.5,
  'iec-60320-c13': 10,
  'iec-60320-c15': 10,
  'iec-60320-c19': 16,
  'iec-60320-c21': 16,
  'nema-5-15r': 15,
  'nema-5-20r': 20,
  'nema-l5-20r': 20,
  'nema-l5-30r': 30,
  'nema-l6-20r': 20,
  'nema-l6-30r': 30,
};

const SQRT3 = Math.sqrt(3);
const LEFT_OUT_STATUSES = new Set(['planned', 'offline', 'decommissioning']);
const PANEL_RATING_FIELD = 'headroom_rating';

/** Feed rating in watts (VA at unity power factor). */
export function feedRatingWatts(feed: Pick<NetboxPowerFeed, 'voltage' | 'amperage' | 'phase'>): number {
  const va = Math.abs(feed.voltage) * feed.amperage;
  return Math.round(feed.phase.value === 'three-phase' ? va * SQRT3 : va);
}

export function netboxToTopology(inv: NetboxInventory, opts: NetboxMappingOptions = {}): ImportedTopology {
  const pduMeter = opts.pduMeter ?? '{device}';
  const feedMeter = opts.feedMeter ?? '{panel}-{feed}';
  const warnings: string[] = [];
  const sitesById = new Map(inv.sites.map((s) => [s.id, s]));
  const siteNodes = new Map<number, ImportedNode[]>();
  const nodesOf = (siteId: number): ImportedNode[] => {
    let list = siteNodes.get(siteId);
    if (list === undefined) siteNodes.set(siteId, (list = []));
    return list;
  };
  // Ids are unique within a site: a name taken already gets the NetBox id appended.
  const usedIds = new Map<number, Set<string>>();
  const claimId = (siteId: number, name: string, netboxId: number): string => {
    let used = usedIds.get(siteId);
    if (used === undefined) usedIds.set(siteId, (used = new Set()));
    let id = slugId(name);
    if (used.has(id)) {
      const taken = id;
      id = slugId(`${name}-${netboxId}`);
      warnings.push(`two nodes would be named '${taken}': one is '${id}'`);
    }
    used.add(id);
    return id;
  };

  // Feeds that carry power, by panel; PDUs by the feed their inlet is cabled to.
  const live = inv.feeds.filter((f) => {
    if (!LEFT_OUT_STATUSES.has(f.status.value)) return true;
    warnings.push(`power feed '${f.name}' (panel '${f.power_panel.name ?? f.power_panel.id}') is ${f.status.value}: left out`);
    return false;
  });
  const feedById = new Map(live.map((f) => [f.id, f]));
  const pduById = new Map(inv.pdus.map((d) => [d.id, d]));
  const feedOfPdu = new Map<number, number>();
  const drawOfPdu = new Map<number, number>();
  for (const port of inv.pduPorts) {
    if (!pduById.has(port.device.id)) continue;
    if (port.maximum_draw != null && port.maximum_draw > 0) drawOfPdu.set(port.device.id, (drawOfPdu.get(port.device.id) ?? 0) + port.maximum_draw);
    if (port.connected_endpoints_type !== 'dcim.powerfeed') continue;
    const feedId = port.connected_endpoints?.[0]?.id;
    if (feedId === undefined || !feedById.has(feedId)) continue;
    const already = feedOfPdu.get(port.device.id);
    if (already !== undefined && already !== feedId) {
      warnings.push(`pdu '${pduName(pduById.get(port.device.id)!)}' has inlets on two feeds: placed under the first`);
      continue;
    }
    feedOfPdu.set(port.device.id, feedId);
  }

  const panelIds = new Map<number, string>();
  const feedIds = new Map<number, string>();
  for (const panel of inv.panels) {
    const feeds = live.filter((f) => f.power_panel.id === panel.id);
    if (feeds.length === 0) {
      warnings.push(`power panel '${panel.name}' has no live feeds: left out`);
      continue;
    }
    const panelId = claimId(panel.site.id, panel.name, panel.id);
    panelIds.set(panel.id, panelId);
    const configured = panel.custom_fields?.[PANEL_RATING_FIELD];
    const node: ImportedNode = { id: panelId, level: 'panel', ratingWatts: 0, meters: [], origin: `netbox power-panel ${panel.id}` };
    if (typeof configured === 'number' && configured > 0) {
      node.ratingWatts = configured;
    } else {
      node.ratingWatts = feeds.reduce((sum, f) => sum + feedRatingWatts(f), 0);
      node.derate = 1;
      warnings.push(`power panel '${panel.name}': no rating in NetBox (custom field ${PANEL_RATING_FIELD}, watts): rated as the sum of its feeds, derate 1`);
    }
    nodesOf(panel.site.id).push(node);
    for (const feed of feeds) {
      const id = claimId(panel.site.id, `${panel.name}-${feed.name}`, feed.id);
      feedIds.set(feed.id, id);
      const hasPdu = [...feedOfPdu.values()].includes(feed.id);
      const values = { site: siteSlug(sitesById, panel.site), panel: panel.name, feed: feed.name, rack: feed.rack?.name ?? undefined };
      nodesOf(panel.site.id).push({
        id,
        parent: panelId,
        level: 'feed',
        ratingWatts: feedRatingWatts(feed),
        derate: feed.max_utilization / 100,
        meters: hasPdu ? [] : [slugId(fillTemplate(feedMeter, values))],
        origin: `netbox power-feed ${feed.id}${feed.phase.value === 'three-phase' ? ', three-phase' : ''}`,
      });
    }
  }
  pairRackFeeds(live, feedIds, siteNodes, warnings);

  for (const pdu of inv.pdus) {
    const feedId = feedOfPdu.get(pdu.id);
    const feed = feedId === undefined ? undefined : feedById.get(feedId);
    const draw = drawOfPdu.get(pdu.id);
    const panelName = feed === undefined ? undefined : inv.panels.find((p) => p.id === feed.power_panel.id)?.name;
    const values = { site: siteSlug(sitesById, pdu.site), panel: panelName, feed: feed?.name, rack: pdu.rack?.name ?? undefined, device: pduName(pdu) };
    const node: ImportedNode = {
      id: '',
      level: 'pdu',
      ratingWatts: 0,
      meters: [slugId(fillTemplate(pduMeter, values))],
      origin: `netbox device ${pdu.id}`,
    };
    if (feed !== undefined) {
      node.parent = feedIds.get(feed.id)!;
      node.ratingWatts = draw ?? feedRatingWatts(feed);
      if (draw === undefined) node.derate = feed.max_utilization / 100;
    } else if (draw !== undefined) {
      node.ratingWatts = draw;
      warnings.push(`pdu '${pduName(pdu)}' is cabled to no power feed: a root of its site, rated by its maximum draw`);
    } else {
      warnings.push(`pdu '${pduName(pdu)}' is cabled to no power feed and has no maximum draw: left out`);
      continue;
    }
    node.id = claimId(pdu.site.id, pduName(pdu), pdu.id);
    nodesOf(pdu.site.id).push(node);
    for (const outlet of (inv.pduOutlets ?? []).filter((o) => o.device.id === pdu.id)) {
      const load = outlet.connected_endpoints?.[0];
      if (load === undefined) continue; // nothing plugged in
      const amps = outlet.type == null ? undefined : OUTLET_AMPS[outlet.type.value];
      if (amps === undefined || feed === undefined) {
        warnings.push(`outlet '${outlet.name}' of pdu '${pduName(pdu)}': ${amps === undefined ? `no rating known for type '${outlet.type?.value ?? 'none'}'` : 'its PDU is on no feed (voltage unknown)'}: left out`);
        continue;
      }
      // Outlets sit between line and neutral: a three-phase feed's line voltage over √3.
      const volts = Math.abs(feed.voltage) / (feed.phase.value === 'three-phase' ? SQRT3 : 1);
      nodesOf(pdu.site.id).push({
        id: claimId(pdu.site.id, `${pduName(pdu)}-${outlet.name}`, outlet.id),
        parent: node.id,
        level: 'outlet',
        ratingWatts: Math.round(amps * volts),
        meters: [slugId(fillTemplate(opts.outletMeter ?? '{device}-{outlet}', { ...values, outlet: outlet.name }))],
        origin: `netbox power-outlet ${outlet.id}${load.device?.name === undefined ? '' : `, feeds ${load.device.name}`}`,
      });
    }
  }

  const sites: ImportedSite[] = [];
  for (const [siteId, nodes] of siteNodes) {
    const site = sitesById.get(siteId);
    if (site === undefined) {
      warnings.push(`site ${siteId} is not among the imported sites: its ${nodes.length} nodes are left out`);
      continue;
    }
    sites.push({ id: slugId(site.slug), nodes });
  }
  sites.sort((a, b) => a.id.localeCompare(b.id));
  if (sites.length > 0) warnings.push('NetBox has no facility or IT roles: set role: facility and role: it on the intake and IT nodes for PUE');
  return { sites, warnings };
}

function pduName(d: NetboxDevice): string {
  return d.name ?? `device-${d.id}`;
}

function siteSlug(sites: Map<number, NetboxSite>, ref: { id: number; slug?: string | undefined }): string | undefined {
  return sites.get(ref.id)?.slug ?? ref.slug;
}

/** The primary and the redundant feed of one rack become an A/B pair. */
function pairRackFeeds(feeds: readonly NetboxPowerFeed[], feedIds: Map<number, string>, siteNodes: Map<number, ImportedNode[]>, warnings: string[]): void {
  const byRack = new Map<number, NetboxPowerFeed[]>();
  for (const f of feeds) {
    if (f.rack == null || !feedIds.has(f.id)) continue;
    const list = byRack.get(f.rack.id) ?? [];
    list.push(f);
    byRack.set(f.rack.id, list);
  }
  const allNodes = new Map([...siteNodes.values()].flat().map((n) => [n.id, n]));
  for (const rackFeeds of byRack.values()) {
    const primary = rackFeeds.filter((f) => f.type.value === 'primary').sort((a, b) => a.name.localeCompare(b.name));
    const redundant = rackFeeds.filter((f) => f.type.value === 'redundant').sort((a, b) => a.name.localeCompare(b.name));
    const pairs = Math.min(primary.length, redundant.length);
    for (let i = 0; i < pairs; i++) {
      const a = allNodes.get(feedIds.get(primary[i]!.id)!)!;
      const b = allNodes.get(feedIds.get(redundant[i]!.id)!)!;
      a.redundantWith = b.id;
      b.redundantWith = a.id;
    }
    if (redundant.length > pairs) {
      warnings.push(`rack '${rackFeeds[0]!.rack!.name ?? rackFeeds[0]!.rack!.id}': redundant feed without a primary partner: not paired`);
    }
  }
}
