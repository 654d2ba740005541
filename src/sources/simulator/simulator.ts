/** The fleet simulator: physics each tick, serialised readings, injected faults. */
import type { Topology } from '../../domain/index.js';
import { buildModel } from './model.js';
import type { FleetModel, GatewayModel, MeterModel } from './fleet-types.js';
import { stepPhysics } from './physics.js';
import { Prng, hash32, seedToUint32 } from './prng.js';
import {
  DEFAULT_FAULT_RATES,
  FAULT_KINDS,
  InvalidSimulatorOptionsError,
  NO_FAULTS,
  type FaultCounts,
  type FaultRates,
  type SimulatedGateway,
  type SimulatedMessage,
  type SimulatedMeter,
  type SimulatedTick,
  type SimulatedTruth,
  type Simulator,
  type SimulatorOptions,
} from './types.js';

const MINUTE_MS = 60_000;

interface Deferred {
  releaseTick: number;
  gateway: number;
  json: string;
}

function round(value: number, factor: number): number {
  return Math.round(value * factor) / factor;
}

export function resolveFaultRates(partial: Partial<FaultRates> | undefined): FaultRates {
  const rates: FaultRates = { ...DEFAULT_FAULT_RATES };
  for (const kind of FAULT_KINDS) {
    const value = partial?.[kind];
    if (value === undefined) continue;
    if (!Number.isFinite(value) || value < 0 || value > 1) {
      throw new InvalidSimulatorOptionsError(`faults.${kind} must be a probability in [0, 1], got ${String(value)}`);
    }
    rates[kind] = value;
  }
  return rates;
}

export function createSimulator(topology: Topology, opts: SimulatorOptions): Simulator {
  if (!Number.isFinite(opts.rateMs) || opts.rateMs <= 0) {
    throw new InvalidSimulatorOptionsError(`rateMs must be a positive number of ms, got ${String(opts.rateMs)}`);
  }
  if (!Number.isFinite(opts.startMs)) {
    throw new InvalidSimulatorOptionsError(`startMs must be a finite epoch time in ms, got ${String(opts.startMs)}`);
  }
  if (!Number.isFinite(opts.seed)) {
    throw new InvalidSimulatorOptionsError(`seed must be a finite number, got ${String(opts.seed)}`);
  }
  return new FleetSimulator(topology, opts, resolveFaultRates(opts.faults));
}

class FleetSimulator implements Simulator {
  readonly rateMs: number;
  private readonly fleet: FleetModel;
  private readonly startMs: number;
  private readonly batch: boolean;
  private readonly rates: FaultRates;
  private readonly faultRng: Prng;
  private readonly counts: FaultCounts;
  private readonly parts: string[][];
  private deferred: Deferred[] = [];
  private tickIndex = 0;
  private lastTsMs: number | null = null;

  constructor(topology: Topology, opts: SimulatorOptions, rates: FaultRates) {
    const seed = seedToUint32(opts.seed);
    this.fleet = buildModel(topology, seed);
    this.rateMs = opts.rateMs;
    this.startMs = opts.startMs;
    this.batch = opts.batch;
    this.rates = rates;
    this.faultRng = new Prng(hash32(seed, 'faults'));
    this.counts = { ...NO_FAULTS };
    this.parts = this.fleet.gateways.map(() => []);
  }

  nextTsMs(): number {
    return this.startMs + this.tickIndex * this.rateMs;
  }

  tick(): SimulatedTick {
    const tsMs = this.nextTsMs();
    stepPhysics(this.fleet, tsMs, this.rateMs);
    const { gateways, meters } = this.fleet;
    for (let g = 0; g < gateways.length; g++) {
      const parts = this.parts[g];
      const gateway = gateways[g];
      if (parts === undefined || gateway === undefined) continue;
      parts.length = 0;
      for (const m of gateway.meters) {
        const meter = meters[m];
        if (meter !== undefined) this.emitReading(meter, g, tsMs, parts);
      }
    }
    this.releaseDeferred();
    const messages: SimulatedMessage[] = [];
    for (let g = 0; g < gateways.length; g++) {
      const gateway = gateways[g];
      const parts = this.parts[g];
      if (gateway !== undefined && parts !== undefined) this.sendGateway(gateway, parts, tsMs, messages);
    }
    this.tickIndex++;
    this.lastTsMs = tsMs;
    return { tsMs, messages };
  }

  private roll(rate: number): boolean {
    return rate > 0 && this.faultRng.next() < rate;
  }

  private emitReading(meter: MeterModel, gateway: number, tsMs: number, out: string[]): void {
    const rates = this.rates;
    const rng = this.faultRng;
    const node = meter.node >= 0 ? this.fleet.nodes[meter.node] : undefined;
    const trueWatts = node === undefined ? 0 : node.loadWatts * meter.share;
    if (meter.counter) meter.wattHours += (trueWatts * this.rateMs) / 3_600_000;

    if (meter.silentUntilMs > tsMs) return;
    if (this.roll(rates.dropout)) {
      meter.silentUntilMs = tsMs + rng.durationMs(5_000, 60_000);
      this.counts.dropout++;
      return;
    }

    let body: string;
    if (meter.flatUntilMs > tsMs) {
      body = meter.flatBody;
    } else if (meter.grid !== null) {
      body = this.gridBody(meter);
      if (this.roll(rates.flatline)) this.startFlatline(meter, tsMs, body);
    } else {
      if (meter.counter && this.roll(rates.counterReset)) {
        meter.wattHours = 0;
        this.counts.counterReset++;
      }
      const honest = this.powerBody(meter, trueWatts);
      if (this.roll(rates.flatline)) {
        this.startFlatline(meter, tsMs, honest);
        body = honest;
      } else {
        let watts = trueWatts;
        if (this.roll(rates.spike)) {
          watts *= rng.range(3, 10);
          this.counts.spike++;
        }
        if (this.roll(rates.sentinel)) {
          const pick = rng.next();
          watts = pick < 1 / 3 ? -1 : pick < 2 / 3 ? 0 : 65535;
          this.counts.sentinel++;
        }
        body = watts === trueWatts ? honest : this.powerBody(meter, watts);
      }
    }

    let ts = tsMs;
    if (meter.skewUntilMs > tsMs) {
      ts += meter.skewMs;
    } else if (this.roll(rates.clockSkew)) {
      meter.skewUntilMs = tsMs + rng.durationMs(10_000, 120_000);
      meter.skewMs = rng.durationMs(MINUTE_MS, 10 * MINUTE_MS) * (rng.next() < 0.5 ? -1 : 1);
      ts += meter.skewMs;
      this.counts.clockSkew++;
    }

    const json = meter.prefix + String(ts) + body;
    const copies = this.roll(rates.duplicate) ? 2 : 1;
    if (copies === 2) this.counts.duplicate++;
    if (this.roll(rates.outOfOrder)) {
      const releaseTick = this.tickIndex + (rng.next() < 0.5 ? 1 : 2);
      for (let c = 0; c < copies; c++) this.deferred.push({ releaseTick, gateway, json });
      this.counts.outOfOrder++;
      return;
    }
    out.push(json);
    if (copies === 2) out.push(json);
  }

  private startFlatline(meter: MeterModel, tsMs: number, body: string): void {
    meter.flatUntilMs = tsMs + this.faultRng.durationMs(30_000, 300_000);
    meter.flatBody = body;
    this.counts.flatline++;
  }

  private powerBody(meter: MeterModel, watts: number): string {
    const w = `,"watts":${String(round(watts, 10))}`;
    return meter.counter ? `${w},"wattHours":${String(round(meter.wattHours, 100))}}` : `${w}}`;
  }

  private gridBody(meter: MeterModel): string {
    const site = this.fleet.sites[meter.site];
    const flags = meter.grid;
    if (site === undefined || flags === null) return '}';
    let body = '';
    if (flags.hertz) body += `,"hertz":${String(round(site.hertz, 1000))}`;
    if (flags.volts) body += `,"volts":${String(round(site.volts, 10))}`;
    if (flags.price) body += `,"pricePerMWh":${String(round(site.pricePerMWh, 100))}`;
    if (flags.carbon) body += `,"carbonGramsPerKWh":${String(round(site.carbonGramsPerKWh, 10))}`;
    return `${body}}`;
  }

  /** Out-of-order readings due this tick join their gateway's batch after the fresh ones. */
  private releaseDeferred(): void {
    if (this.deferred.length === 0) return;
    const keep: Deferred[] = [];
    for (const d of this.deferred) {
      if (d.releaseTick <= this.tickIndex) this.parts[d.gateway]?.push(d.json);
      else keep.push(d);
    }
    this.deferred = keep;
  }

  private sendGateway(gateway: GatewayModel, parts: string[], tsMs: number, out: SimulatedMessage[]): void {
    if (gateway.holdUntilMs > tsMs) {
      this.pack(parts, gateway.held);
      return;
    }
    if (gateway.held.length > 0) {
      for (const payload of gateway.held) out.push({ subject: gateway.subject, payload });
      gateway.held = [];
      gateway.holdUntilMs = Number.NEGATIVE_INFINITY;
    } else if (this.roll(this.rates.lateBurst)) {
      gateway.holdUntilMs = tsMs + this.faultRng.durationMs(20_000, 40_000);
      this.counts.lateBurst++;
      this.pack(parts, gateway.held);
      return;
    }
    const payloads: string[] = [];
    this.pack(parts, payloads);
    for (const payload of payloads) out.push({ subject: gateway.subject, payload });
  }

  private pack(parts: string[], into: string[]): void {
    if (parts.length === 0) return;
    if (this.batch) into.push(`[${parts.join(',')}]`);
    else for (const p of parts) into.push(p);
  }

  faultCounts(): FaultCounts {
    return { ...this.counts };
  }

  meters(): SimulatedMeter[] {
    const { sites, nodes, gateways } = this.fleet;
    return this.fleet.meters.map((m) => {
      const gateway = gateways[m.gateway];
      return {
        site: sites[m.site]?.id ?? '',
        meter: m.id,
        node: m.node >= 0 ? (nodes[m.node]?.id ?? null) : null,
        kind: m.grid === null ? 'power' : 'grid',
        counter: m.counter,
        gateway: gateway?.id ?? '',
        subject: gateway?.subject ?? '',
      };
    });
  }

  gateways(): SimulatedGateway[] {
    const { sites, meters } = this.fleet;
    return this.fleet.gateways.map((g) => ({
      site: sites[g.site]?.id ?? '',
      gateway: g.id,
      subject: g.subject,
      meters: g.meters.map((m) => meters[m]?.id ?? ''),
    }));
  }

  truth(): SimulatedTruth {
    const { sites, nodes } = this.fleet;
    return {
      tsMs: this.lastTsMs,
      nodes: nodes
        .filter((n) => !n.virtual)
        .map((n) => ({ site: sites[n.site]?.id ?? '', node: n.id, level: n.level, loadWatts: n.loadWatts })),
      sites: sites.map((s) => ({
        site: s.id,
        itLeafWatts: s.itLeafWatts,
        coolingWatts: s.coolingWatts,
        outsideCelsius: s.outsideCelsius,
        gridHertz: s.hertz,
        gridVolts: s.volts,
        pricePerMWh: s.pricePerMWh,
        carbonGramsPerKWh: s.carbonGramsPerKWh,
      })),
    };
  }
}
