// Every credential Beacon handles: device-token keys and minting (device-keys.ts), JWT
// verification and the public profile a token yields (jwt.ts), socket tickets (ticket.ts).
export * from './device-keys.js';
export * from './jwt.js';
export * from './ticket.js';
export * from './metrics-token.js';
export * from './seal.js';
