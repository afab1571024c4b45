// Prometheus metrics of one processor. Each processor owns its Registry (tests run several in one
// process; embedded mode merges this one with the orchestrator's), never prom-client's global one.
// Hot paths use pre-bound label children so a frame costs a property lookup, not a label hash.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ClientMessageType, ServerMessageType, WsErrorCode } from '../protocol/index.js';
import { WS_ERROR_CODES } from '../protocol/index.js';

const CLIENT_TYPES: ClientMessageType[] = ['loc', 'avail', 'resp', 'ping'];
const SERVER_TYPES: ServerMessageType[] = ['hello', 'nearest', 'near', 'req', 'conn', 'err', 'bye', 'pong'];

export interface Gauges {
  officers(): number;
  citizens(): number;
  indexSize(): number;
  /** MAX_SOCKETS: an alert compares the open sockets with it. */
  maxSockets(): number;
}

export function createMetrics(gauges: Gauges) {
  const registry = new Registry();
  const sockets = registerGauges(registry, gauges);
  const messagesIn = new Counter({
    name: 'beacon_processor_messages_in_total',
    help: 'valid client frames by type',
    labelNames: ['type'],
    registers: [registry],
  });
  const messagesOut = new Counter({ name: 'beacon_processor_messages_out_total', help: 'frames written by type', labelNames: ['type'], registers: [registry] });
  const errors = new Counter({ name: 'beacon_processor_errors_total', help: '`err` frames sent by code', labelNames: ['code'], registers: [registry] });
  const closes = new Counter({ name: 'beacon_processor_closes_total', help: 'socket closes by reason', labelNames: ['reason'], registers: [registry] });
  const refused = new Counter({
    name: 'beacon_processor_upgrades_refused_total',
    help: 'websocket upgrades refused by reason',
    labelNames: ['reason'],
    registers: [registry],
  });
  const requestsRefused = new Counter({
    name: 'beacon_processor_requests_refused_total',
    help: "connection requests not delivered because the officer socket's pending table was full",
    registers: [registry],
  });
  const pushesHeld = new Counter({
    name: 'beacon_processor_pushes_held_total',
    help: 'coalesced pushes held back because the socket still had unsent bytes',
    registers: [registry],
  });
  const pushLatency = new Histogram({
    name: 'beacon_processor_push_latency_seconds',
    help: 'officer change → re-push written to an affected citizen',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  const locHandling = new Histogram({
    name: 'beacon_processor_loc_handling_seconds',
    help: 'citizen `loc` frame received → `nearest` written',
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05],
    registers: [registry],
  });

  const bind = <K extends string>(c: Counter<string>, label: string, keys: readonly K[]) =>
    Object.fromEntries(keys.map((k) => [k, c.labels({ [label]: k })])) as Record<K, Counter.Internal>;

  return {
    registry,
    sockets,
    in: bind(messagesIn, 'type', CLIENT_TYPES),
    out: bind(messagesOut, 'type', SERVER_TYPES),
    errors: bind(errors, 'code', Object.keys(WS_ERROR_CODES) as WsErrorCode[]),
    closes,
    refused,
    pushesHeld,
    requestsRefused,
    pushLatency,
    locHandling,
  };
}

export type ProcessorMetrics = ReturnType<typeof createMetrics>;

/** Gauges read from the processor's state at scrape time; returns the sockets gauge. */
function registerGauges(registry: Registry, gauges: Gauges): Gauge<string> {
  const sockets = new Gauge({
    name: 'beacon_processor_sockets',
    help: 'open websockets by role',
    labelNames: ['role'],
    registers: [registry],
    collect() {
      this.set({ role: 'officer' }, gauges.officers());
      this.set({ role: 'citizen' }, gauges.citizens());
    },
  });
  new Gauge({
    name: 'beacon_processor_max_sockets',
    help: 'MAX_SOCKETS: sockets this processor accepts (upgrades beyond are refused 503)',
    registers: [registry],
    collect() {
      this.set(gauges.maxSockets());
    },
  });
  new Gauge({
    name: 'beacon_processor_index_officers',
    help: 'officers in the spatial index (available with a position)',
    registers: [registry],
    collect() {
      this.set(gauges.indexSize());
    },
  });
  return sockets;
}
