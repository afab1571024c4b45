// Redis adapters of the coordination interfaces (distributed mode, SPEC §4).
export * from './connect.js';
export * from './lua.js';
export * from './keys.js';
export * from './bus.js';
export * from './registry.js';
export * from './directory.js';
export * from './socket-records.js';
export * from './stream.js';
export * from './request-store.js';
