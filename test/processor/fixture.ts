// A real listening processor on a free port with a MemoryBus, and tickets minted like the
// orchestrator mints them.
import { randomBytes } from 'node:crypto';
import { ticketSigner, type TicketClaims } from '../../src/auth/index.js';
import { loadConfig } from '../../src/config.js';
import { ORCHESTRATOR_CHANNEL, type BusMessage, type ToOrchestrator } from '../../src/coordination/index.js';
import { MemoryBus } from '../../src/adapters/memory/index.js';
import { createLogger } from '../../src/log.js';
import { startProcessor, type Processor, type ProcessorConfig } from '../../src/processor/index.js';
import type { Role } from '../../src/protocol/index.js';
import { TestClient } from '../helpers/ws-client.js';

export const NODE_ID = 'node-test';
/** The fixture's processors serve /metrics on their port to this bearer only (METRICS_TOKEN). */
export const METRICS_TOKEN = 'processor-fixture-metrics-token';

/** Ticket claims as the orchestrator writes them, valid now, for `node` in its run `epoch`. */
export function ticketClaims(node: string, epoch: number, role: Role, sub: string, o: Partial<TicketClaims> = {}): TicketClaims {
  const now = Date.now();
  return {
    sub,
    acct: `acct-${sub}`,
    role,
    node,
    epoch,
    zip: '10001',
    profile: role === 'officer' ? { name: `Officer ${sub}`, badge: `B-${sub}`, precinct: '13' } : { name: `Citizen ${sub}` },
    iat: now,
    exp: now + 30_000,
    tokenExp: now + 3_600_000,
    lat: 40.758,
    lng: -73.9855,
    jti: randomBytes(12).toString('base64url'),
    ...o,
  };
}

export interface Fixture {
  processor: Processor;
  bus: MemoryBus;
  secret: Buffer;
  /** Everything the processor published on the orchestrator channel. */
  toOrch: ToOrchestrator[];
  ticket(role: Role, sub: string, over?: Partial<TicketClaims>): string;
  urlFor(role: Role, sub: string, over?: Partial<TicketClaims>): string;
  /** Opens a socket and waits for its `hello`. */
  connect(role: Role, sub: string, opts?: { enc?: 'msgpack'; claims?: Partial<TicketClaims> }): Promise<TestClient>;
  metric(name: string, labels?: string): Promise<number>;
  close(): Promise<void>;
}

export async function startFixture(over: Partial<ProcessorConfig> = {}): Promise<Fixture> {
  // The citizen area and speed rules are off unless a test turns them on (citizen-area.test.ts):
  // most tests place citizens freely, as a device that asked for a socket there would be.
  const config = { ...loadConfig({}), HOST: '127.0.0.1', PROCESSOR_PORT: 0, CITIZEN_AREA_M: 0, MAX_SPEED_KMH: 0, METRICS_TOKEN, ...over };
  const bus = new MemoryBus();
  const secret = randomBytes(32);
  const toOrch: ToOrchestrator[] = [];
  bus.subscribe(ORCHESTRATOR_CHANNEL, (m: BusMessage) => toOrch.push(m as ToOrchestrator));
  const processor = await startProcessor({ config, nodeId: NODE_ID, ticketSecret: secret, bus, logger: createLogger('silent', 'test') });
  const clients: TestClient[] = [];

  const sign = ticketSigner(secret);
  const ticket = (role: Role, sub: string, o: Partial<TicketClaims> = {}) => sign(ticketClaims(NODE_ID, processor.epoch, role, sub, o));
  const urlFor = (role: Role, sub: string, o?: Partial<TicketClaims>) => `${processor.url}?ticket=${encodeURIComponent(ticket(role, sub, o))}`;

  return {
    processor,
    bus,
    secret,
    toOrch,
    ticket,
    urlFor,
    async connect(role, sub, opts) {
      const c = await TestClient.open(urlFor(role, sub, opts?.claims) + (opts?.enc ? `&enc=${opts.enc}` : ''));
      clients.push(c);
      await c.waitFor('hello');
      return c;
    },
    async metric(name, labels = '') {
      const text = await (await fetch(`http://127.0.0.1:${processor.port}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
      const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
      return line ? Number(line.split(' ')[1]) : 0;
    },
    async close() {
      for (const c of clients) c.close();
      await processor.close();
      await bus.close();
    },
  };
}

export { TestClient };

/** A point `m` metres north of (lat, lng) (good enough at city scale). */
export function north(lat: number, lng: number, m: number): { lat: number; lng: number } {
  return { lat: lat + m / 111_195, lng };
}
