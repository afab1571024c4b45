// The processor node (issue #3): websocket server keeping officers indexed and pushing the nearest
// officer to citizens live. Embedded mode and the `processor` role call startProcessor.
export type { Processor, ProcessorConfig, ProcessorOptions } from './api.js';
export { startProcessor } from './server.js';
export { MAX_PAYLOAD_BYTES } from './http-app.js';
export { LiveIndex, type LiveSink, type OfficerMeta } from './live.js';
export { startMetricsServer, type MetricsServer } from './metrics-http.js';
export { ABUSE_STRIKES, ABUSE_WINDOW_MS } from './rate-limit.js';
