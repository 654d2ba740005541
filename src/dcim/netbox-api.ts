/**
 * The NetBox REST API objects Headroom reads (sites, power panels, power feeds, PDUs, their
 * power ports and outlets), as zod schemas that keep unknown fields, and the inventory read.
 */
import { z } from 'zod';

const ref = z.object({ id: z.number().int(), name: z.string().optional(), slug: z.string().optional(), display: z.string().optional() }).passthrough();
const choice = z.object({ value: z.string() }).passthrough();
const customFields = z.record(z.unknown()).nullable().optional();

export const netboxSite = z.object({ id: z.number().int(), name: z.string(), slug: z.string() }).passthrough();
export const netboxPowerPanel = z.object({ id: z.number().int(), name: z.string(), site: ref, custom_fields: customFields }).passthrough();
export const netboxPowerFeed = z.object({
  id: z.number().int(),
  name: z.string(),
  power_panel: ref,
  rack: ref.nullable().optional(),
  status: choice,
  type: choice,
  supply: choice.optional(),
  phase: choice,
  voltage: z.number(),
  amperage: z.number(),
  max_utilization: z.number(),
}).passthrough();
export const netboxDevice = z.object({ id: z.number().int(), name: z.string().nullable(), site: ref, rack: ref.nullable().optional() }).passthrough();
export const netboxPowerPort = z.object({
  id: z.number().int(),
  name: z.string(),
  device: ref,
  maximum_draw: z.number().nullable().optional(),
  connected_endpoints: z.array(z.object({ id: z.number().int() }).passthrough()).nullable().optional(),
  connected_endpoints_type: z.string().nullable().optional(),
}).passthrough();

export const netboxPowerOutlet = z.object({
  id: z.number().int(),
  name: z.string(),
  device: ref,
  type: choice.nullable().optional(),
  connected_endpoints: z.array(z.object({ id: z.number().int(), device: ref.optional() }).passthrough()).nullable().optional(),
}).passthrough();

export type NetboxSite = z.infer<typeof netboxSite>;
export type NetboxPowerOutlet = z.infer<typeof netboxPowerOutlet>;
export type NetboxPowerPanel = z.infer<typeof netboxPowerPanel>;
export type NetboxPowerFeed = z.infer<typeof netboxPowerFeed>;
export type NetboxDevice = z.infer<typeof netboxDevice>;
export type NetboxPowerPort = z.infer<typeof netboxPowerPort>;

export interface NetboxInventory {
  sites: NetboxSite[];
  panels: NetboxPowerPanel[];
  feeds: NetboxPowerFeed[];
  /** Devices of the PDU role. */
  pdus: NetboxDevice[];
  /** Power ports (inlets) of those PDUs. */
  pduPorts: NetboxPowerPort[];
  /** Power outlets of those PDUs, when outlets are imported. */
  pduOutlets?: NetboxPowerOutlet[];
}
