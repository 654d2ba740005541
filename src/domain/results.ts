/** Records emitted by the core. Public interface: the NDJSON output is these objects. */

export interface MeterWindow {
  type: 'meter';
  site: string;
  meter: string;
  windowMs: number;
  /** Window start, ms since the epoch (inclusive). */
  start: number;
  /** Window end, ms since the epoch (exclusive). */
  end: number;
  revision: number;
  loadWatts: number;
  energyWh: number;
  /** Covered time / window length. */
  coverage: number;
  count: number;
  minWatts: number | null;
  maxWatts: number | null;
  lastWatts: number | null;
  lastTsMs: number | null;
  counterResets: number;
}

export interface NodeWindow {
  type: 'node';
  site: string;
  node: string;
  level: string;
  windowMs: number;
  start: number;
  end: number;
  revision: number;
  loadWatts: number;
  peakWatts: number;
  minWatts: number;
  energyWh: number;
  ratingWatts: number;
  usableWatts: number;
  headroomWatts: number;
  utilization: number;
  /** null where the node has no redundancy. */
  failoverHeadroomWatts: number | null;
  /** Share of expected meters (the node's meter set) that reported in the window. */
  completeness: number;
  /** false when completeness is below the threshold: headroom must not be trusted. */
  headroomCertain: boolean;
  /** For nodes with own meters and children: the children's load sum (null otherwise). */
  childrenLoadWatts: number | null;
  /** loadWatts - childrenLoadWatts: losses and unmetered load (null when not applicable). */
  unmeteredWatts: number | null;
  rampWattsPerSecond: number | null;
  /**
   * Seconds until the load's upper envelope (trend plus swing peaks) reaches usableWatts;
   * null unless the load rises significantly over the trend horizon and the crossing lies
   * within twice that horizon.
   */
  timeToBreachSeconds: number | null;
  /**
   * Windows of 1 min and longer: spread between the 95th and 5th percentile of the 1-second
   * node power (robust peak-to-trough); null otherwise.
   */
  swingWatts: number | null;
  /** Dominant period of the swing, seconds; null when there is none (or the window is shorter than 1 min). */
  swingPeriodSeconds: number | null;
  /** Share of the swing's variance that repeats with that period (0..1); null with no period. */
  swingPeriodShare: number | null;
}

export interface SiteWindow {
  type: 'site';
  site: string;
  windowMs: number;
  start: number;
  end: number;
  revision: number;
  facilityWatts: number | null;
  itWatts: number | null;
  /** Facility energy / IT energy in the window. */
  pue: number | null;
  contractWatts: number | null;
  contractHeadroomWatts: number | null;
  /** Average facility power over the clock-aligned demand interval (to date for shorter windows). */
  demandWatts: number | null;
  demandIntervalStart: number | null;
  /** Highest demand-interval average so far in the billing period. */
  periodPeakWatts: number | null;
  periodStart: number | null;
  gridHertz: number | null;
  hertzDeviation: number | null;
  pricePerMWh: number | null;
  energyCost: number | null;
  carbonGramsPerKWh: number | null;
  carbonGrams: number | null;
}

export type AlertState = 'pending' | 'firing' | 'resolved';
export type AlertSeverity = 'warning' | 'critical';

export interface AlertEvent {
  type: 'alert';
  site: string;
  node: string | null;
  rule: string;
  severity: AlertSeverity;
  state: AlertState;
  /** Event time of the transition (end of the window that caused it). */
  atMs: number;
  windowMs: number;
  value: number | null;
  threshold: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export type WindowResult = MeterWindow | NodeWindow | SiteWindow;
export type OutputRecord = WindowResult | AlertEvent;
