// An orchestrator on a MemoryBus with a fake processor node: tests publish what a processor would
// (socket.open, conn.resp, ...) and read what the orchestrator sends to the node's channel.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { loadConfig } from '../../src/config.js';
import {
  nodeChannel,
  ORCHESTRATOR_CHANNEL,
  type BusMessage,
  type ProcessorDirectory,
  type SocketRecord,
  type ToProcessor,
} from '../../src/coordination/index.js';
import { MemoryBus, SingleNodeDirectory } from '../../src/adapters/memory/index.js';
import { createLogger } from '../../src/log.js';
import type { HttpTimeouts } from '../../src/orchestrator/http-timeouts.js';
import { createOrchestrator, type Orchestrator, type OrchestratorConfig } from '../../src/orchestrator/index.js';
import { dedupeWindowFor, FileConnectionStream, STREAM_DIR_NAME } from '../../src/adapters/memory/index.js';
import { mintDeviceToken, resolveDeviceKeys } from '../../src/auth/index.js';
import type { PublicProfile, Role } from '../../src/protocol/index.js';
import { waitFor } from '../helpers/wait.js';

export const NODE = { id: 'node-a', url: 'ws://127.0.0.1:9/ws', epoch: 1_767_225_600_000 };
export const SECRET = 'test-secret-of-at-least-thirty-two-bytes!';
/** Times Square. */
export const TIMES_SQUARE = { lat: 40.758, lng: -73.9855 };

export interface OrchFixture {
  orch: Orchestrator;
  bus: MemoryBus;
  dataDir: string;
  stream: FileConnectionStream;
  ticketSecret: Buffer;
  /** Everything published on the node's channel. */
  toNode: ToProcessor[];
  token(role: Role, sub: string, extra?: { acct?: string; profile?: PublicProfile; ttlS?: number }): Promise<string>;
  /** Headers with a bearer token. */
  auth(role: Role, sub: string): Promise<{ authorization: string }>;
  /** What a processor publishes when a socket opens; resolves once the orchestrator recorded it. */
  open(role: Role, sub: string, zip?: string, node?: string): Promise<SocketRecord>;
  close(record: SocketRecord): Promise<void>;
  publish(msg: BusMessage): void;
  /**
   * Resolves once everything published on the node's channel before the call has arrived in
   * `toNode`: a sentinel published after it on the same channel has (and is taken out again).
   */
  flushNode(): Promise<void>;
  shutdown(): Promise<void>;
}

export async function startOrch(
  over: Partial<OrchestratorConfig> = {},
  opts: { directory?: ProcessorDirectory; now?: () => number; dataDir?: string; timeouts?: Partial<HttpTimeouts> } = {},
): Promise<OrchFixture> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'beacon-orch-')));
  const config = { ...loadConfig({}), ...over };
  const bus = new MemoryBus();
  const keys = await resolveDeviceKeys({ JWT_SECRET: SECRET, JWT_PUBLIC_KEY: undefined, JWKS_URL: undefined, DATA_DIR: dataDir }, { generate: false });
  const stream = await FileConnectionStream.open(join(dataDir, STREAM_DIR_NAME), { dedupeWindowMs: dedupeWindowFor(config.REQUEST_TTL_MS), now: opts.now });
  const ticketSecret = randomBytes(32);
  const orch = await createOrchestrator({
    config,
    bus,
    directory: opts.directory ?? new SingleNodeDirectory(NODE),
    deviceKeys: keys,
    ticketSecret,
    stream,
    logger: createLogger('silent', 'test'),
    processMetrics: false,
    now: opts.now,
    timeouts: opts.timeouts,
  });
  const toNode: ToProcessor[] = [];
  bus.subscribe(nodeChannel(NODE.id), (m) => toNode.push(m as ToProcessor));
  let openedAt = 1;
  let sentinels = 0;

  const token = (role: Role, sub: string, extra: { acct?: string; profile?: PublicProfile; ttlS?: number } = {}) =>
    mintDeviceToken(keys.secret!, { role, sub, acct: extra.acct, profile: extra.profile, ttlS: extra.ttlS });

  return {
    orch,
    bus,
    dataDir,
    stream,
    ticketSecret,
    toNode,
    token,
    async auth(role, sub) {
      return { authorization: `Bearer ${await token(role, sub)}` };
    },
    async open(role, sub, zip = '10036', node = NODE.id) {
      const record: SocketRecord = { node, url: NODE.url, role, profileId: sub, zip, at: openedAt++ };
      bus.publish(ORCHESTRATOR_CHANNEL, { type: 'socket.open', record });
      await waitFor(async () => (await orch.records.get(role, sub))?.at === record.at, 5000, 'the socket record');
      return record;
    },
    async close(record) {
      bus.publish(ORCHESTRATOR_CHANNEL, { type: 'socket.close', record, reason: 'client' });
      await waitFor(async () => (await orch.records.get(record.role, record.profileId))?.at !== record.at, 5000, 'the record removed');
    },
    publish(msg) {
      bus.publish(ORCHESTRATOR_CHANNEL, msg);
    },
    async flushNode() {
      const id = `sentinel-${++sentinels}`;
      const isSentinel = (m: ToProcessor) => m.type === 'conn.update' && m.conn.id === id;
      bus.publish(nodeChannel(NODE.id), { type: 'conn.update', conn: { id, status: 'declined', officerId: '-', citizenId: '-' } });
      await waitFor(() => toNode.some(isSentinel), 5000, 'the node-channel sentinel');
      toNode.splice(toNode.findIndex(isSentinel), 1);
    },
    async shutdown() {
      await orch.close();
      await stream.close();
      await bus.close();
      if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A JWT signed with HS256 and arbitrary claims/header, for forging tests. */
export async function rawToken(claims: Record<string, unknown>, secret = SECRET, expSeconds: number | null = 3600): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt();
  if (expSeconds !== null) jwt.setExpirationTime(Math.floor(Date.now() / 1000) + expSeconds);
  return jwt.sign(new TextEncoder().encode(secret));
}

/** An unsigned token (`alg: none`). */
export function unsignedToken(claims: Record<string, unknown>): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ exp: Math.floor(Date.now() / 1000) + 3600, ...claims })}.`;
}
