// `npm run demo`: one officer and one citizen find each other, over the real HTTP + websocket
// contract, narrated. By default it starts its own embedded Beacon on free ports with a temporary
// data directory; `npm run demo -- --url http://127.0.0.1:8080` runs against a running `npm start`
// instead (tokens are minted with the same key resolution as `npm run token`).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { loadConfig } from '../src/config.js';
import { startEmbedded, type Embedded } from '../src/embedded.js';
import { createLogger } from '../src/log.js';
import { mintDeviceToken, resolveDeviceKeys } from '../src/auth/index.js';
import { readStreamEvents } from '../src/adapters/memory/index.js';
import { HTTP_PATHS, type PublicProfile, type Role, type ServerMessage, type SocketAssignment } from '../src/protocol/index.js';
import { parseOptions } from '../load-tests/options.js';

const STEP_TIMEOUT_MS = 10_000;
/** Times Square, and a citizen ~120 m north of the officer. */
const OFFICER_POS = { lat: 40.758, lng: -73.9855 };
const CITIZEN_POS = { lat: 40.758 + 120 / 111_195, lng: -73.9855 };

const say = (who: string, text: string) => process.stdout.write(`${who.padEnd(9)} ${text}\n`);

class Device {
  readonly inbox: ServerMessage[] = [];
  private waiters: (() => void)[] = [];
  private constructor(
    readonly name: string,
    private readonly ws: WebSocket,
  ) {
    ws.on('message', (data) => {
      this.inbox.push(JSON.parse(data.toString()) as ServerMessage);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static open(name: string, url: string): Promise<Device> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const d = new Device(name, ws);
      ws.once('open', () => resolve(d));
      ws.once('error', reject);
    });
  }

  send(msg: object): void {
    this.ws.send(JSON.stringify(msg));
  }

  /** The first message (received at any time) of type `t` that satisfies `pred`. */
  async next<T extends ServerMessage['t']>(
    t: T,
    pred: (m: Extract<ServerMessage, { t: T }>) => boolean = () => true,
  ): Promise<Extract<ServerMessage, { t: T }>> {
    const end = Date.now() + STEP_TIMEOUT_MS;
    for (;;) {
      const m = this.inbox.find((x) => x.t === t && pred(x as Extract<ServerMessage, { t: T }>));
      if (m) return m as Extract<ServerMessage, { t: T }>;
      const left = end - Date.now();
      if (left <= 0) throw new Error(`${this.name} did not receive \`${t}\` within ${STEP_TIMEOUT_MS} ms`);
      await new Promise<void>((r) => {
        const timer = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          r();
        });
      });
    }
  }

  close(): void {
    this.ws.close();
  }
}

async function main(): Promise<void> {
  const urlArg = parseOptions(process.argv.slice(2), { url: { type: 'string' } }, 'npm run demo [-- --url http://127.0.0.1:8080]').url;

  let embedded: Embedded | undefined;
  let tmp: string | undefined;
  let base: string;
  let secret: Uint8Array;
  if (urlArg) {
    base = urlArg.replace(/\/$/, '');
    const keys = await resolveDeviceKeys(loadConfig(), { generate: false });
    if (!keys.secret) throw new Error(`the server verifies tokens with ${keys.source}; the demo can only mint HS256 tokens`);
    secret = keys.secret;
    say('demo', `using the Beacon at ${base}`);
  } else {
    tmp = await mkdtemp(join(tmpdir(), 'beacon-demo-'));
    const config = loadConfig({ ...process.env, HOST: '127.0.0.1', PORT: '0', PROCESSOR_PORT: '0', DATA_DIR: tmp, LOG_LEVEL: 'warn', REDIS_URL: '' });
    embedded = await startEmbedded(config, { logger: createLogger('warn', 'demo') });
    base = embedded.orchestratorUrl;
    secret = embedded.deviceKeys.secret!;
    say('demo', `started an embedded Beacon: orchestrator ${base}, processor ${embedded.processor.url}`);
  }

  const devices: Device[] = [];
  try {
    const token = (role: Role, sub: string, profile: PublicProfile) => mintDeviceToken(secret, { role, sub, profile, ttlS: 600 });
    const officerTok = await token('officer', 'officer-diaz', { name: 'Ofc. Diaz', badge: '4411', precinct: 'Midtown South' });
    const citizenTok = await token('citizen', 'citizen-sam', { name: 'Sam' });
    say('demo', 'minted two device tokens (HS256): officer-diaz and citizen-sam');

    const assign = async (role: Role, tok: string, pos: { lat: number; lng: number }) => {
      const path = role === 'officer' ? HTTP_PATHS.officerSocket : HTTP_PATHS.citizenSocket;
      const res = await fetch(`${base}${path}?lat=${pos.lat}&lng=${pos.lng}`, { headers: { authorization: `Bearer ${tok}` } });
      const body = (await res.json()) as SocketAssignment & { error?: string; message?: string };
      if (res.status !== 200) throw new Error(`GET ${path} → ${res.status} ${body.error}: ${body.message}`);
      return body;
    };

    const oa = await assign('officer', officerTok, OFFICER_POS);
    say('officer', `GET ${HTTP_PATHS.officerSocket} → zip ${oa.zip}, node ${oa.node}, ticket valid until ${new Date(oa.expiresAt).toISOString()}`);
    const officer = await Device.open('officer', oa.url);
    devices.push(officer);
    const hello = await officer.next('hello');
    say(
      'officer',
      `socket open; available until ${hello.windowEndsAt ? new Date(hello.windowEndsAt).toLocaleTimeString() : '?'}, search radius ${hello.radius} m`,
    );
    officer.send({ t: 'loc', ...OFFICER_POS });
    say('officer', 'streams its position (loc) near Times Square');

    const ca = await assign('citizen', citizenTok, CITIZEN_POS);
    say('citizen', `GET ${HTTP_PATHS.citizenSocket} → zip ${ca.zip}, node ${ca.node}`);
    const citizen = await Device.open('citizen', ca.url);
    devices.push(citizen);
    await citizen.next('hello');
    citizen.send({ t: 'loc', ...CITIZEN_POS });
    say('citizen', 'streams its position (loc), ~120 m north');

    const nearest = await citizen.next('nearest', (m) => m.officer?.id === 'officer-diaz');
    say(
      'citizen',
      `← nearest: ${nearest.officer?.profile.name} (badge ${nearest.officer?.profile.badge}, ${nearest.officer?.profile.precinct}) at ${Math.round(nearest.dist ?? 0)} m`,
    );
    const near = await citizen.next('near', (m) => m.officer.id === 'officer-diaz');
    say('citizen', `← near: ${near.officer.profile.name} is within the alert radius (${Math.round(near.dist)} m)`);

    const res = await fetch(`${base}${HTTP_PATHS.connections}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${citizenTok}`, 'content-type': 'application/json' },
      body: JSON.stringify({ officerId: 'officer-diaz' }),
    });
    const created = (await res.json()) as { id: string; status: string; error?: string };
    if (res.status !== 202) throw new Error(`POST ${HTTP_PATHS.connections} → ${res.status} ${created.error}`);
    say('citizen', `POST ${HTTP_PATHS.connections} {officerId: "officer-diaz"} → 202 ${created.status} (${created.id})`);

    const req = await officer.next('req', (m) => m.id === created.id);
    say('officer', `← req from ${req.citizen.profile.name ?? req.citizen.id}; answers: accept`);
    officer.send({ t: 'resp', id: req.id, accept: true });

    const oc = await officer.next('conn', (m) => m.id === created.id);
    const cc = await citizen.next('conn', (m) => m.id === created.id);
    say('officer', `← conn ${oc.status}: ${oc.officerId} ⇄ ${oc.citizenId}`);
    say('citizen', `← conn ${cc.status}: ${cc.officerId} ⇄ ${cc.citizenId}`);

    const status = (await (await fetch(`${base}${HTTP_PATHS.connections}/${created.id}`, { headers: { authorization: `Bearer ${citizenTok}` } })).json()) as {
      status: string;
    };
    say('citizen', `GET ${HTTP_PATHS.connections}/${created.id} → ${status.status}`);
    if (embedded) {
      const events = await readStreamEvents(embedded.streamDir);
      say('stream', `established-connections stream: ${JSON.stringify(events.at(-1))}`);
    }
    say('demo', 'done: the officer and the citizen found each other and connected.');
  } finally {
    for (const d of devices) d.close();
    await embedded?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`demo failed: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
