// Window records from a window's aggregates: meters, nodes (roll-up, failover, history), site.
export { deriveWindow } from './derive-window.js';
export { newDeriveScratch, type DeriveScratch, type DemandState, type WindowContext } from './context.js';
export { DEFAULT_TREND_HORIZON_MS, newNodeHistory, trendSlots, type NodeHistory } from './node-history.js';
