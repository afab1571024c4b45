// The one protocol module: every message shape, code and encoding of Beacon's wire contract.
// It imports nothing of the project and nothing of Node, so it also runs in the browser.
export * from './messages.js';
export * from './validate.js';
export * from './codec.js';
export * from './http.js';
export * from './limits.js';
