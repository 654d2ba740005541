/**
 * The simulator's mutable state of a fleet: nodes, jobs, sites, meters and gateways, held in
 * flat arrays and linked by index. Built by model.ts, stepped by physics.ts, sent by simulator.ts.
 */
import type { Prng } from './prng.js';

export type LeafKind = 'training' | 'inference' | 'cooling' | 'none';
export type JobState = 'running' | 'checkpoint' | 'rampDown' | 'idle' | 'rampUp';

export interface NodeModel {
  readonly index: number;
  readonly site: number;
  readonly id: string;
  readonly level: string;
  readonly parent: number;
  readonly children: number[];
  readonly ratingWatts: number;
  readonly usableWatts: number;
  /** Usable capacity after upstream limits are shared out; leaf loads stay below it. */
  capWatts: number;
  readonly lossFraction: number;
  /** The unmetered remainder below a sparsely modelled node; not part of the topology. */
  readonly virtual: boolean;
  readonly kind: LeafKind;
  readonly job: number;
  /** Inference: night utilisation. */
  readonly lowUtil: number;
  /** Inference: afternoon utilisation; training: utilisation at full compute. */
  readonly highUtil: number;
  /** Training: share of load lost in the communication phase of an iteration. */
  readonly swingFraction: number;
  /** Earlier IT leaf of a redundant pair whose utilisation this one mirrors; -1 if none. */
  partner: number;
  readonly partnerRatio: number;
  utilization: number;
  loadWatts: number;
  /** Slow AR(1) deviation of the utilisation. */
  drift: number;
}

export interface JobModel {
  readonly id: string;
  readonly rng: Prng;
  readonly periodMs: number;
  readonly dutyFraction: number;
  readonly edgeMs: number;
  readonly phaseMs: number;
  readonly checkpointLevel: number;
  readonly idleLevel: number;
  state: JobState;
  stateStartMs: number;
  stateEndMs: number;
  runEndMs: number;
  nextCheckpointMs: number;
  runWeight: number;
  wave: number;
  flatLevel: number;
}

/**
 * One simulated site: its static parameters and the weather, grid and load state the physics
 * steps. Not the core's `SiteModel` (a site's topology as the windowing engine sees it).
 */
export interface SimulatedSite {
  readonly index: number;
  readonly id: string;
  readonly nominalHertz: number;
  readonly nominalVolts: number;
  readonly seed: number;
  /** Children before parents. */
  readonly postOrder: number[];
  readonly itLeaves: number[];
  readonly coolingLeaves: number[];
  readonly coolingCapWatts: number;
  /** Facility node carrying the cooling load when the site has no cooling nodes; -1 if none. */
  readonly implicitCoolingNode: number;
  readonly jobs: number[];
  readonly physicsRng: Prng;
  readonly gridRng: Prng;
  readonly tempMeanCelsius: number;
  readonly tempAmplitudeCelsius: number;
  readonly coolingBase: number;
  readonly coolingPerCelsius: number;
  readonly diurnalShiftHours: number;
  readonly hertzSigma: number;
  readonly priceBasePerMWh: number;
  readonly carbonBaseGramsPerKWh: number;
  filteredItWatts: number;
  itLeafWatts: number;
  coolingWatts: number;
  outsideCelsius: number;
  hertzDeviation: number;
  eventStartMs: number;
  eventEndMs: number;
  eventHertz: number;
  hertz: number;
  volts: number;
  pricePerMWh: number;
  carbonGramsPerKWh: number;
}

export interface GridFlags {
  readonly hertz: boolean;
  readonly volts: boolean;
  readonly price: boolean;
  readonly carbon: boolean;
}

export interface MeterModel {
  readonly site: number;
  readonly id: string;
  /** Node index; -1 for grid sensors. */
  readonly node: number;
  readonly grid: GridFlags | null;
  /** Fraction of the node's load on this meter. */
  share: number;
  readonly counter: boolean;
  gateway: number;
  /** `{"site":…,"meter":…,"ts":` */
  readonly prefix: string;
  wattHours: number;
  silentUntilMs: number;
  flatUntilMs: number;
  flatBody: string;
  skewUntilMs: number;
  skewMs: number;
}

export interface GatewayModel {
  readonly site: number;
  readonly id: string;
  readonly subject: string;
  readonly meters: number[];
  holdUntilMs: number;
  held: string[];
}

export interface FleetModel {
  readonly sites: SimulatedSite[];
  readonly nodes: NodeModel[];
  readonly jobs: JobModel[];
  readonly meters: MeterModel[];
  readonly gateways: GatewayModel[];
}
