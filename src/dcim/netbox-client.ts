/**
 * Reads the power model from NetBox's REST API: sites, power panels, power feeds, PDUs (devices
 * of a role) and their power ports, page by page. The token goes in `Authorization: Token …`.
 */
import { z } from 'zod';
import { OperationalError } from '../telemetry/index.js';
import {
  netboxDevice,
  netboxPowerFeed,
  netboxPowerOutlet,
  netboxPowerPanel,
  netboxPowerPort,
  netboxSite,
  type NetboxDevice,
  type NetboxInventory,
} from './netbox-api.js';

export interface NetboxClientOptions {
  /** Base URL, e.g. https://netbox.example.com (a path prefix is kept). */
  url: string;
  token: string;
  /** Only these site slugs; default all. */
  sites?: readonly string[];
  /** Slug of the device role of PDUs. Default pdu. */
  pduRole?: string;
  /** Read the PDUs' power outlets too. Default false. */
  outlets?: boolean;
  /** Objects per page. Default 500. */
  pageSize?: number;
  /** Per request. Default 30 s. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** NetBox could not be read; the message says what and what to check (exit 1). */
export class NetboxError extends OperationalError {
  override readonly name = 'NetboxError';
}

const DEVICE_IDS_PER_REQUEST = 50;

/** A NetBox list page. */
const pageSchema = z.object({ count: z.number().optional(), next: z.string().nullable().optional(), results: z.array(z.unknown()) }).passthrough();

export async function readNetboxInventory(opts: NetboxClientOptions): Promise<NetboxInventory> {
  const client = new NetboxClient(opts);
  const siteFilter = (opts.sites ?? []).map((slug) => ['site', slug] as [string, string]);
  const sites = await client.list('/api/dcim/sites/', netboxSite, (opts.sites ?? []).map((slug) => ['slug', slug]));
  if (opts.sites !== undefined) {
    const missing = opts.sites.filter((slug) => !sites.some((s) => s.slug === slug));
    if (missing.length > 0) throw new NetboxError(`NetBox has no site with slug ${missing.map((m) => `'${m}'`).join(', ')}`);
  }
  const panels = await client.list('/api/dcim/power-panels/', netboxPowerPanel, siteFilter);
  const feeds = await client.list('/api/dcim/power-feeds/', netboxPowerFeed, siteFilter);
  const pdus = await client.list('/api/dcim/devices/', netboxDevice, [['role', opts.pduRole ?? 'pdu'], ...siteFilter]);
  const pduPorts = [];
  const pduOutlets = [];
  for (let i = 0; i < pdus.length; i += DEVICE_IDS_PER_REQUEST) {
    const ids = pdus.slice(i, i + DEVICE_IDS_PER_REQUEST).map((d: NetboxDevice) => ['device_id', String(d.id)] as [string, string]);
    pduPorts.push(...(await client.list('/api/dcim/power-ports/', netboxPowerPort, ids)));
    if (opts.outlets === true) pduOutlets.push(...(await client.list('/api/dcim/power-outlets/', netboxPowerOutlet, ids)));
  }
  return { sites, panels, feeds, pdus, pduPorts, ...(opts.outlets === true ? { pduOutlets } : {}) };
}

class NetboxClient {
  private readonly base: URL;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly opts: NetboxClientOptions) {
    let base: URL;
    try {
      base = new URL(opts.url.endsWith('/') ? opts.url : `${opts.url}/`);
    } catch (err: unknown) {
      throw new NetboxError(`--netbox: '${opts.url}' is not a URL (expected e.g. https://netbox.example.com)`, { cause: err });
    }
    this.base = base;
    this.fetchFn = opts.fetch ?? fetch;
  }

  /** Every object of a list endpoint, following `next` (on this client's host: proxies rewrite hosts). */
  async list<T extends z.ZodTypeAny>(path: string, schema: T, params: readonly [string, string][]): Promise<z.infer<T>[]> {
    const first = new URL(path.replace(/^\//, ''), this.base);
    for (const [k, v] of params) first.searchParams.append(k, v);
    first.searchParams.set('limit', String(this.opts.pageSize ?? 500));
    const out: z.infer<T>[] = [];
    let url: URL | null = first;
    for (let page = 0; url !== null; page++) {
      const body = await this.get(url);
      const parsed = pageSchema.safeParse(body);
      if (!parsed.success) throw new NetboxError(`${path}: not a NetBox list (expected {count, next, results})`);
      parsed.data.results.forEach((item, i) => {
        const obj = schema.safeParse(item);
        if (!obj.success) {
          const issue = obj.error.issues[0]!;
          throw new NetboxError(`${path} page ${page + 1} item ${i}: ${issue.path.join('.')}: ${issue.message}`);
        }
        out.push(obj.data as z.infer<T>);
      });
      url = parsed.data.next == null ? null : this.onBase(parsed.data.next);
    }
    return out;
  }

  private onBase(next: string): URL {
    const n = new URL(next, this.base);
    return new URL(`${n.pathname}${n.search}`, this.base.origin);
  }

  private async get(url: URL): Promise<unknown> {
    let res: Response;
    try {
      res = await this.fetchFn(url, {
        headers: { Authorization: `Token ${this.opts.token}`, Accept: 'application/json' },
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
      });
    } catch (err: unknown) {
      const why = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      throw new NetboxError(`cannot reach NetBox at ${url.origin}: ${why}`, { cause: err });
    }
    if (res.status === 401 || res.status === 403) throw new NetboxError(`NetBox refused the token (${res.status} on ${url.pathname}): check the token and its read permissions`);
    if (!res.ok) throw new NetboxError(`NetBox answered ${res.status} on ${url.pathname}${url.search}`);
    try {
      return (await res.json()) as unknown;
    } catch (err: unknown) {
      throw new NetboxError(`NetBox answered ${url.pathname} with something that is not JSON (is ${this.base.href} the NetBox URL?)`, { cause: err });
    }
  }
}
