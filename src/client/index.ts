// Beacon's client library for officer and citizen apps (Node and browser). Only message shapes
// from src/protocol; the `ws` transport is a separate entry so browser bundles never load it.
export * from './client.js';
export * from './client-types.js';
export * from './backoff.js';
export * from './emitter.js';
export * from './http.js';
export * from './transport.js';
