// Distributed mode (issue #5): the orchestrator and processor roles over Redis, and the officer
// replication between processors that keeps nearest exact across nodes.
export { startOrchestratorRole, type OrchestratorRole, type OrchestratorRoleOptions } from './orchestrator-role.js';
export { startProcessorRole, type ProcessorRole, type ProcessorRoleOptions } from './processor-role.js';
export { OfficerReplicator, type ReplicatorOptions, type ReplicatorStats } from './replication.js';
export { CellGrid } from './cells.js';
