// Snapshot formats of the core, in one place: the shared versioned envelope, the window
// engine's format and the alert engine's format.
export { SnapshotError } from './error.js';
export { WINDOW_SNAPSHOT_VERSION } from './window-state.js';
export { ALERT_SNAPSHOT_VERSION } from './alert-state.js';
