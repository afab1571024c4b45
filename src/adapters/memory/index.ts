// The in-process adapters of the coordination interfaces (embedded mode and tests), beside the
// Redis ones in src/adapters/redis/: the bus, the one-node directory, the socket-record and
// request stores in memory, and the established-connections stream in local files.
export * from './bus.js';
export * from './directory.js';
export * from './stores.js';
export * from './file-stream.js';
export * from './stream-segments.js';
