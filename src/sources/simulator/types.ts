/** Public types of the fleet simulator. */

/**
 * Fault probabilities, each in [0, 1], checked once per reading per tick (lateBurst: once per
 * gateway per tick). A fault that lasts (dropout, flatline, clockSkew, lateBurst) is only
 * rolled while the meter or gateway is not already in one. 0 disables the fault.
 */
export interface FaultRates {
  /** Meter goes silent for 5–60 s. */
  dropout: number;
  /** Meter repeats its last payload values exactly for 30–300 s. */
  flatline: number;
  /** One reading's watts multiplied by 3–10. */
  spike: number;
  /** One reading's watts replaced by a sentinel: -1, 0 or 65535. */
  sentinel: number;
  /** Meter clock off by ±1–10 minutes for 10–120 s. */
  clockSkew: number;
  /** Reading sent twice. */
  duplicate: number;
  /** Reading delayed by 1–2 ticks (sent after newer readings). */
  outOfOrder: number;
  /** Gateway holds all its messages for 20–40 s, then sends them at once. Per gateway. */
  lateBurst: number;
  /** Energy counter (`wattHours`) of a counter meter resets to 0. */
  counterReset: number;
}

export type FaultKind = keyof FaultRates;
export type FaultCounts = Record<FaultKind, number>;

export const FAULT_KINDS: readonly FaultKind[] = [
  'dropout',
  'flatline',
  'spike',
  'sentinel',
  'clockSkew',
  'duplicate',
  'outOfOrder',
  'lateBurst',
  'counterReset',
];

/** Small defaults: at 1 s and ~100 meters, a handful of faults of each kind per hour. */
export const DEFAULT_FAULT_RATES: Readonly<FaultRates> = Object.freeze({
  dropout: 1e-4,
  flatline: 3e-5,
  spike: 5e-5,
  sentinel: 5e-5,
  clockSkew: 2e-5,
  duplicate: 2e-4,
  outOfOrder: 2e-4,
  lateBurst: 1e-4,
  counterReset: 1e-5,
});

export const NO_FAULTS: Readonly<FaultRates> = Object.freeze({
  dropout: 0,
  flatline: 0,
  spike: 0,
  sentinel: 0,
  clockSkew: 0,
  duplicate: 0,
  outOfOrder: 0,
  lateBurst: 0,
  counterReset: 0,
});

export interface SimulatorOptions {
  /** Any finite number; the same seed and topology give byte-identical ticks. */
  seed: number;
  /** Simulated time between ticks, ms (> 0). */
  rateMs: number;
  /** Event time of the first tick, ms since the epoch. */
  startMs: number;
  /** true: one JSON array per gateway per tick; false: one JSON object per message. */
  batch: boolean;
  /** Missing kinds take DEFAULT_FAULT_RATES; pass NO_FAULTS for clean data. */
  faults?: Partial<FaultRates>;
}

export interface SimulatedMessage {
  /** `telemetry.<site>.<gateway>` */
  subject: string;
  /** A reading object or an array of them, as JSON (docs/design.md section 2). */
  payload: string;
}

export interface SimulatedTick {
  /** Event time of the readings generated in this tick. */
  tsMs: number;
  messages: SimulatedMessage[];
}

export type SimulatedMeterKind = 'power' | 'grid';

export interface SimulatedMeter {
  site: string;
  meter: string;
  /** Node the meter belongs to; null for grid sensors. */
  node: string | null;
  kind: SimulatedMeterKind;
  /** Sends a cumulative `wattHours` counter alongside `watts`. */
  counter: boolean;
  gateway: string;
  subject: string;
}

export interface SimulatedGateway {
  site: string;
  gateway: string;
  subject: string;
  meters: string[];
}

/** Ground truth behind the last tick (before faults). */
export interface NodeTruth {
  site: string;
  node: string;
  level: string;
  loadWatts: number;
}

export interface SiteTruth {
  site: string;
  /** Sum of IT leaf loads (what the cooling follows). */
  itLeafWatts: number;
  coolingWatts: number;
  outsideCelsius: number;
  gridHertz: number;
  gridVolts: number;
  pricePerMWh: number;
  carbonGramsPerKWh: number;
}

export interface SimulatedTruth {
  /** Event time of the last tick; null before the first. */
  tsMs: number | null;
  nodes: NodeTruth[];
  sites: SiteTruth[];
}

/** A pure generator: no clock, no I/O. The pipeline drives it with a timer. */
export interface Simulator {
  readonly rateMs: number;
  /** Event time the next tick() will carry. */
  nextTsMs(): number;
  /** Advance one step of rateMs: tick k carries tsMs = startMs + k * rateMs. */
  tick(): SimulatedTick;
  /** Faults injected so far (episodes for lasting faults, readings for one-offs). */
  faultCounts(): FaultCounts;
  meters(): SimulatedMeter[];
  gateways(): SimulatedGateway[];
  truth(): SimulatedTruth;
}

export class InvalidSimulatorOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidSimulatorOptionsError';
  }
}
