export * from './analysis.js';
export * from './bridge.js';
export * from './domain.js';
export * from './errors.js';
export * from './imports.js';
export * from './methods.js';
export * from './protocol.js';
export * from './training.js';
