// The orchestrator (issue #4): HTTP front door on fastify. Embedded mode and the distributed
// `orchestrator` role build it with createOrchestrator and their own stores.
export { createOrchestrator, type Orchestrator, type OrchestratorConfig, type OrchestratorOptions } from './app.js';
export { ConnectionService } from './connections.js';
export { DeviceAuth, type DeviceIdentity } from './device-auth.js';
export { HttpError } from './errors.js';
export { SlidingWindowLimiter, type RateLimiter } from './rate-limit.js';
export { Readiness, type ReadinessCheck, type ReadinessResult } from './readiness.js';
export { DOCS_PATH, OPENAPI_PATH } from './routes/ops.js';
