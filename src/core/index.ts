// Public face of the pure core: no I/O, no clock, no randomness.
export { WindowEngine } from './window-engine.js';
export type { EngineOptions, EngineStats, EngineWork } from './window-engine.js';
export { SnapshotError, WINDOW_SNAPSHOT_VERSION, ALERT_SNAPSHOT_VERSION } from './snapshot/index.js';
export { windowStartMs, monthStartUtcMs, windowLabel } from './time.js';
export { AlertEngine } from './alerts/index.js';
export { SWING_MIN_WINDOW_MS } from './swing.js';
