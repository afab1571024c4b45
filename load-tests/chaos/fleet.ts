// The simulated devices of a chaos run, each a real BeaconClient (src/client): officers and
// citizens walking (or driving) around midtown Manhattan, citizens asking their nearest officer
// for a connection now and then, officers accepting most requests. Every loop stops on `stop()`.
// The ledger records every `conn accepted` any party was told: the acknowledged set.
import { BeaconClient } from '../../src/client/index.js';
import { haversine } from '../../src/geo/distance.js';
import { advance, newCitizen, newOfficer, nextInterval, type Mover } from '../movement.js';
import { offset } from '../areas.js';
import { deviceRandom, uniform } from '../prng.js';
import { mintToken } from '../tokens.js';
import { SECRETS } from './procs.js';

const CENTRE = { lat: 40.758, lng: -73.9855 };
/** Devices stay within this of CENTRE, so citizens have officers within the search radius. */
const AREA_M = 3000;

export interface Device {
  id: string;
  role: 'officer' | 'citizen';
  client: BeaconClient;
  mover: Mover;
  /** Citizen: the officer id of the last `nearest` (null: none in range), and whether one came since the last hello. */
  nearest?: string | null;
  nearestSinceHello: boolean;
  radius: number;
  /** When a frame last came from the server (Date.now()). */
  lastInAt: number;
}

export interface Ledger {
  /** Request id → parties, for every `conn accepted` either party received. */
  acknowledged: Map<string, { officerId: string; citizenId: string }>;
  statuses: Record<string, number>;
  requested: number;
  requestErrors: Record<string, number>;
}

export class Fleet {
  readonly devices: Device[] = [];
  readonly ledger: Ledger = { acknowledged: new Map(), statuses: {}, requested: 0, requestErrors: {} };
  private running = false;
  private timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(
    /** Every orchestrator's base URL: each device is given all of them, its own first, and the client fails over. */
    private readonly orchestrators: readonly string[],
    private readonly seed: number,
  ) {}

  async connectAll(officers: number, citizens: number): Promise<void> {
    const secret = new TextEncoder().encode(SECRETS.JWT_SECRET);
    const all: Promise<void>[] = [];
    for (let i = 0; i < officers + citizens; i++) {
      const role = i < officers ? 'officer' : 'citizen';
      const idx = role === 'officer' ? i : i - officers;
      const r = deviceRandom(this.seed, role === 'officer' ? 1 : 0, idx);
      const mover = role === 'officer' ? newOfficer(r) : newCitizen(r);
      [mover.lat, mover.lng] = offset(CENTRE.lat, CENTRE.lng, Math.sqrt(r()) * AREA_M, r() * 2 * Math.PI);
      const id = `${role === 'officer' ? 'off' : 'cit'}-${idx}`;
      const token = await mintToken(secret, role, id);
      const client = new BeaconClient({
        baseUrl: rotated(this.orchestrators, i),
        role,
        token,
        moveThresholdM: 0,
        heartbeatMs: 5000,
        helloTimeoutMs: 5000,
        reconnect: { baseMs: 200, maxMs: 2000, maxAttempts: 1000 },
      });
      const d: Device = { id, role, client, mover, nearestSinceHello: false, radius: 5000, lastInAt: 0 };
      this.wire(d);
      this.devices.push(d);
      all.push(client.connect(mover.lat, mover.lng).then(() => undefined));
    }
    await Promise.all(all);
  }

  private wire(d: Device): void {
    const c = d.client;
    for (const t of ['hello', 'nearest', 'near', 'req', 'conn', 'pong', 'err', 'bye'] as const) c.on(t, () => (d.lastInAt = Date.now()));
    c.on('hello', (m) => {
      d.nearestSinceHello = false;
      d.radius = m.radius;
    });
    c.on('nearest', (m) => {
      d.nearest = m.officer ? m.officer.id : null;
      d.nearestSinceHello = true;
    });
    c.on('conn', (m) => {
      this.ledger.statuses[`${d.role}:${m.status}`] = (this.ledger.statuses[`${d.role}:${m.status}`] ?? 0) + 1;
      if (m.status === 'accepted') this.ledger.acknowledged.set(m.id, { officerId: m.officerId, citizenId: m.citizenId });
    });
    c.on('req', (m) => {
      if (!this.running) return; // draining: leave it to expire
      const r = d.mover.r;
      this.later(uniform(r, 50, 400), () => {
        c.respond(m.id, r() < 0.85);
      });
    });
    c.on('error', () => {}); // reconnect give-ups show up as devices not served
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.running) fn();
    }, ms);
    this.timers.add(t);
  }

  start(): void {
    this.running = true;
    for (const d of this.devices) {
      this.loopMove(d);
      if (d.role === 'citizen') this.loopRequest(d);
    }
  }

  private loopMove(d: Device): void {
    const ms = nextInterval(d.mover);
    this.later(ms, () => {
      advance(d.mover, ms);
      if (haversine(CENTRE.lat, CENTRE.lng, d.mover.lat, d.mover.lng) > AREA_M) d.mover.heading += Math.PI;
      d.client.sendLocation(d.mover.lat, d.mover.lng);
      this.loopMove(d);
    });
  }

  private loopRequest(d: Device): void {
    this.later(uniform(d.mover.r, 4000, 10_000), () => {
      if (d.nearest && d.client.state === 'open') {
        this.ledger.requested++;
        d.client.requestConnection(d.nearest).catch((err: { code?: string; status?: number }) => {
          const k = `${err.status ?? '?'} ${err.code ?? 'error'}`;
          this.ledger.requestErrors[k] = (this.ledger.requestErrors[k] ?? 0) + 1;
        });
      }
      this.loopRequest(d);
    });
  }

  /** Stops moving, requesting and answering; sockets stay open. */
  stopLoad(): void {
    this.running = false;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  closeAll(): void {
    this.stopLoad();
    for (const d of this.devices) d.client.close();
  }

  /** Open, greeted, and (citizens) told a `nearest` since the last hello. */
  static served(d: Device): boolean {
    return d.client.state === 'open' && (d.role === 'officer' || d.nearestSinceHello);
  }

  /** Devices not yet served since `sinceMs` (Date.now()): served and a frame received after it. Pings those. */
  unservedSince(sinceMs: number): Device[] {
    const out = this.devices.filter((d) => !(Fleet.served(d) && d.lastInAt >= sinceMs));
    for (const d of out) d.client.ping();
    return out;
  }
}

/** `list` starting at index `start` (mod its length), so devices spread over the orchestrators. */
function rotated<T>(list: readonly T[], start: number): T[] {
  const k = start % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}
