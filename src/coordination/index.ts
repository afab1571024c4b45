export * from './messages.js';
export * from './bus.js';
export * from './directory.js';
export * from './stream.js';
export * from './stores.js';
export * from './unavailable.js';
export * from './rendezvous.js';
