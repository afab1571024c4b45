// What the route modules share: one object built by createOrchestrator.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyRequest,
  onRequestHookHandler,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { ProcessorDirectory } from '../../coordination/index.js';
import type { Role } from '../../protocol/index.js';
import type { ConnectionService } from '../connections.js';
import type { DeviceIdentity } from '../device-auth.js';
import type { OrchestratorMetrics } from '../metrics.js';
import type { RateLimiter } from '../rate-limit.js';
import type { Readiness } from '../readiness.js';
import type { TicketSigner } from '../../auth/index.js';

export type TypedApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression<RawServerDefault>,
  RawReplyDefaultExpression<RawServerDefault>,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface RouteContext {
  /** onRequest hook: verifies the bearer token (and the role, when given) before anything else runs. */
  authenticate(role?: Role): onRequestHookHandler;
  /** The identity the hook attached to the request. */
  device(req: FastifyRequest): DeviceIdentity;
  directory: ProcessorDirectory;
  connections: ConnectionService;
  readiness: Readiness;
  metrics: OrchestratorMetrics;
  /** METRICS_TOKEN check of a scrape's Authorization header (always true without a token). */
  metricsAllowed(authorization: string | undefined): boolean;
  /** Text of other registries appended to /metrics (embedded mode: the processor's). */
  extraMetrics: () => Promise<string>;
  /** Signs with the ticket secret (auth/ticket.ts). */
  signTicket: TicketSigner;
  ticketTtlMs: number;
  /** ASSIGNMENTS_PER_MINUTE per token subject. */
  assignLimiter: RateLimiter;
  isDraining(): boolean;
  now: () => number;
}
