export * from './reading.js';
export * from './topology.js';
export * from './settings.js';
export * from './results.js';
