/** Public face of the fleet simulator: a pure, seeded generator of gateway messages. */
export { createSimulator, resolveFaultRates } from './simulator.js';
export { GATEWAY_MAX_METERS } from './meters.js';
export {
  DEFAULT_FAULT_RATES,
  FAULT_KINDS,
  InvalidSimulatorOptionsError,
  NO_FAULTS,
} from './types.js';
export type {
  FaultCounts,
  FaultKind,
  FaultRates,
  NodeTruth,
  SimulatedGateway,
  SimulatedMessage,
  SimulatedMeter,
  SimulatedMeterKind,
  SimulatedTick,
  SimulatedTruth,
  Simulator,
  SimulatorOptions,
  SiteTruth,
} from './types.js';
