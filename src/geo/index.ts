// The pure spatial core: no I/O, no timers, no sockets. The caller passes time in where needed.
// Position → zip (zip-lookup.ts, over the 33,791 ZCTA centroids of zip-data.ts) is imported on
// its own by those who need it (the orchestrator, the map, the tools): processors never load it.
export * from './errors.js';
export * from './distance.js';
export * from './officer-index.js';
export * from './subscription-index.js';
export * from './snap.js';
