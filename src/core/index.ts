// Public face of the pure core. (Engine implementation in progress: see window-engine.ts.)
export { WindowEngine } from './window-engine.js';
export type { EngineOptions, EngineStats } from './window-engine.js';
