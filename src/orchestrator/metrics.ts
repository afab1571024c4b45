// Prometheus metrics of one orchestrator. Each instance owns its Registry (tests start several in
// one process; embedded mode appends the processor's registry to the scrape), never the global one.
import { StoreUnavailableError } from '../coordination/unavailable.js';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface OrchestratorGauges {
  nodes(): number;
  /** Open sockets by role, summed over the latest `node.stats` of every node. */
  busy(): Promise<{ officers: number; citizens: number }>;
  /** The /readyz checks and their results, read at scrape time. */
  readiness(): Promise<{ name: string; ok: boolean }[]>;
}

type Labels = Record<string, string | number>;

/**
 * Counter increments kept in a Map until a scrape hands them to prom-client (its collect hook):
 * prom-client's inc() hashes and validates the labels on every call, and the request counters run
 * on every request (SPEC §5 asks ≥ 15,000 assignments/s). Every scrape shows the same totals.
 */
class PendingCounts {
  private readonly pending = new Map<string, { labels: Labels; n: number }>();

  add(key: string, labels: () => Labels): void {
    const e = this.pending.get(key);
    if (e) e.n++;
    else this.pending.set(key, { labels: labels(), n: 1 });
  }

  flush(into: Counter<string>): void {
    for (const e of this.pending.values()) {
      if (e.n > 0) into.inc(e.labels, e.n);
      e.n = 0;
    }
  }
}

export function createOrchestratorMetrics(gauges: OrchestratorGauges, options: { processMetrics?: boolean } = {}) {
  const registry = new Registry();
  const pendingRequests = new PendingCounts();
  const pendingAssignments = new PendingCounts();
  if (options.processMetrics) collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'beacon_orchestrator_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['route', 'status'],
    registers: [registry],
    collect() {
      pendingRequests.flush(this);
    },
  });
  const duration = new Histogram({
    name: 'beacon_orchestrator_http_duration_seconds',
    help: 'HTTP request handling time by route',
    labelNames: ['route'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const assignments = new Counter({
    name: 'beacon_orchestrator_assignments_total',
    help: 'socket assignments by role',
    labelNames: ['role'],
    registers: [registry],
    collect() {
      pendingAssignments.flush(this);
    },
  });
  const socketEvents = new Counter({
    name: 'beacon_orchestrator_socket_events_total',
    help: 'socket.open / socket.close reports received from processors (open, close), sockets replaced across nodes that this orchestrator told the old node to close (replaced), and opens of already replaced sockets it told their node to close (superseded)',
    labelNames: ['type'],
    registers: [registry],
  });
  const unowned = new Counter({
    name: 'beacon_orchestrator_assignments_unowned_total',
    help: "socket assignments refused (503 no_processor) because no live processor owns the zip's shard",
    registers: [registry],
  });
  registerStateGauges(registry, gauges);
  return {
    registry,
    requests,
    duration,
    assignments,
    ...connectionMetrics(registry),
    socketEvents,
    unowned,
    /** requests.inc({ route, status }), buffered until the next scrape. */
    countRequest(route: string, status: number): void {
      pendingRequests.add(`${route} ${status}`, () => ({ route, status }));
    },
    /** assignments.inc({ role }), buffered until the next scrape. */
    countAssignment(role: string): void {
      pendingAssignments.add(role, () => ({ role }));
    },
  };
}

export type OrchestratorMetrics = ReturnType<typeof createOrchestratorMetrics>;

/** Gauges read from the orchestrator's state at scrape time: readiness checks, nodes, busy sockets. */
function registerStateGauges(registry: Registry, gauges: OrchestratorGauges): void {
  new Gauge({
    name: 'beacon_orchestrator_ready',
    help: '/readyz checks: 1 passing, 0 failing (processor_nodes, draining; distributed: redis, processor_registry)',
    labelNames: ['check'],
    registers: [registry],
    async collect() {
      for (const c of await gauges.readiness()) this.set({ check: c.name }, c.ok ? 1 : 0);
    },
  });
  new Gauge({
    name: 'beacon_orchestrator_nodes',
    help: 'processor nodes in the directory',
    registers: [registry],
    collect() {
      this.set(gauges.nodes());
    },
  });
  new Gauge({
    name: 'beacon_orchestrator_busy_sockets',
    help: 'open sockets by role, as the processors last reported them (node.stats)',
    labelNames: ['role'],
    registers: [registry],
    async collect() {
      // While Redis is down the gauge keeps its last values: /metrics matters most in an outage.
      const b = await gauges.busy().catch((e: unknown) => {
        if (e instanceof StoreUnavailableError) return undefined;
        throw e;
      });
      if (!b) return;
      this.set({ role: 'officer' }, b.officers);
      this.set({ role: 'citizen' }, b.citizens);
    },
  });
}

/** The connection-request figures: requests by outcome, decisions, accepting, lease take-overs, stream appends. */
function connectionMetrics(registry: Registry) {
  const connRequests = new Counter({
    name: 'beacon_orchestrator_connection_requests_total',
    help: 'POST /v1/connections by outcome (created, existing, rate_limited, officer_unavailable, officer_busy)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const decisions = new Counter({
    name: 'beacon_orchestrator_connection_decisions_total',
    help: 'connection requests decided, by final status (accepted, declined, expired, failed)',
    labelNames: ['status'],
    registers: [registry],
  });
  const accepting = new Gauge({
    name: 'beacon_orchestrator_connections_accepting',
    help: 'accepted by the officer, not yet in the stream: appends this orchestrator is retrying',
    registers: [registry],
  });
  const acceptClaims = new Counter({
    name: 'beacon_orchestrator_accepting_claims_total',
    help: "accepting requests taken over after their owner's lease ran out (an orchestrator died or stalled)",
    registers: [registry],
  });
  const streamAppends = new Counter({
    name: 'beacon_orchestrator_stream_appends_total',
    help: 'established-connection events appended, by result (ok, failed)',
    labelNames: ['result'],
    registers: [registry],
  });
  return { connRequests, decisions, accepting, acceptClaims, streamAppends };
}
