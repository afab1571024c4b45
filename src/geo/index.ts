// The pure spatial core: no I/O, no timers, no sockets. The caller passes time in where needed.
export * from './errors.js';
export * from './distance.js';
export * from './officer-index.js';
export * from './subscription-index.js';
export * from './snap.js';
export * from './zip-lookup.js';
export * from './zip-data.js';
