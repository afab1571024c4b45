// A distributed deployment for tests: a real redis-server, orchestrators and processors as OS
// processes, devices over real HTTP + websockets, and brute-force nearest over every officer.
import { loadConfig } from '../../src/config.js';
import { haversine, roundToStep, snapToCell } from '../../src/geo/index.js';
import { startCluster, startRedis, type RedisServer } from '../helpers/redis-server.js';
import type { Msg } from '../helpers/ws-client.js';
import { spawnNode, type Device, type NodeProcess } from './nodes.js';
import { mulberry32 } from '../../load-tests/prng.js';
import { waitFor } from '../helpers/wait.js';

export const SEARCH_RADIUS_M = 5000;
/** The disclosure policy's settings the nodes run with (the defaults: the tests do not set them). */
const POLICY = loadConfig({});

export interface Deployment {
  /** The standalone server; with `cluster`, the first master. */
  redis: RedisServer;
  orchestrators: NodeProcess[];
  processors: NodeProcess[];
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startDeployment(o: {
  processors: number;
  orchestrators?: number;
  redisArgs?: string[];
  env?: Record<string, string>;
  cluster?: boolean;
}): Promise<Deployment> {
  const cluster = o.cluster ? await startCluster(3) : undefined;
  const redis = cluster ? cluster.nodes[0] : await startRedis({ args: o.redisArgs });
  const dispose = async () => (cluster ? cluster.stop() : redis.dispose());
  const env = { REDIS_URL: cluster ? cluster.url : redis.url, REDIS_CLUSTER: cluster ? '1' : '0', SEARCH_RADIUS_M: String(SEARCH_RADIUS_M), ...o.env };
  const started: NodeProcess[] = [];
  try {
    const procs = await Promise.all(
      Array.from({ length: o.processors }, (_, i) =>
        spawnNode('processor', { METRICS_PORT: '0', ...env, NODE_ID: `p${i + 1}` }).then((n) => (started.push(n), n)),
      ),
    );
    const orchs = await Promise.all(Array.from({ length: o.orchestrators ?? 1 }, () => spawnNode('orchestrator', env).then((n) => (started.push(n), n))));
    for (const orch of orchs) await waitNodes(orch.url, o.processors);
    return {
      redis,
      orchestrators: orchs,
      processors: procs,
      env,
      async stop() {
        await Promise.all(started.map((n) => (n.proc.exitCode === null && n.proc.signalCode === null ? n.kill9() : undefined)));
        await dispose();
      },
    };
  } catch (e) {
    await Promise.all(started.map((n) => n.kill9()));
    await dispose();
    throw e;
  }
}

/** Waits until the orchestrator's directory holds `n` live processors. */
export async function waitNodes(orch: string, n: number, timeoutMs = 20_000): Promise<void> {
  await waitFor(
    async () => {
      try {
        const text = await (await fetch(`${orch}/metrics`)).text();
        const m = /^beacon_orchestrator_nodes (\d+)/m.exec(text);
        return m !== null && Number(m[1]) === n;
      } catch {
        return false;
      }
    },
    timeoutMs,
    `${n} processors in the orchestrator's directory`,
  );
}

export async function readyStatus(orch: string): Promise<number> {
  try {
    return (await fetch(`${orch}/readyz`)).status;
  } catch {
    return 0;
  }
}

/** Brute force: the nearest of `officers` within the search radius, or null. */
export function bruteNearest(c: { lat: number; lng: number }, officers: Iterable<Device>): { id: string; dist: number } | null {
  let best: { id: string; dist: number } | null = null;
  for (const o of officers) {
    const d = haversine(c.lat, c.lng, o.lat, o.lng);
    if (d <= SEARCH_RADIUS_M && (best === null || d < best.dist)) best = { id: o.id, dist: d };
  }
  return best;
}

type GotNearest = Msg & { officer: { id: string; lat: number; lng: number; precision: number } | null; dist: number | null };

/** Key of an accepted connection's grant of the exact position (citizen id, officer id). */
export const grantKey = (citizenId: string, officerId: string): string => `${citizenId}>${officerId}`;

/**
 * Whether `got` shows the brute-force nearest `want` (at `officer`) to the citizen at `c` as the
 * disclosure policy says: exact position and distance (±0.5 m, as before the policy) within the
 * alert radius or with a grant, else the officer's cell centre and the distance to that centre
 * rounded to the step.
 */
function shownAsPolicySays(
  c: { lat: number; lng: number },
  got: GotNearest,
  want: { dist: number },
  officer: { lat: number; lng: number },
  granted: boolean,
): boolean {
  const o = got.officer!;
  const dist = got.dist ?? -1;
  const exactOk =
    (granted || want.dist <= POLICY.ALERT_RADIUS_M + 0.5) &&
    o.precision === 0 &&
    o.lat === officer.lat &&
    o.lng === officer.lng &&
    Math.abs(dist - want.dist) <= 0.5;
  if (exactOk) return true;
  if (granted || want.dist < POLICY.ALERT_RADIUS_M - 0.5) return false;
  const cell = snapToCell(officer.lat, officer.lng, POLICY.OFFICER_PRECISION_M);
  const step = roundToStep(haversine(c.lat, c.lng, cell.lat, cell.lng), POLICY.DISTANCE_STEP_M);
  return o.precision === POLICY.OFFICER_PRECISION_M && o.lat === cell.lat && o.lng === cell.lng && dist === step;
}

/** Citizens whose latest `nearest` differs from brute force (empty at quiescence). */
export function mismatches(citizens: Device[], officers: Iterable<Device>, grants: ReadonlySet<string> = new Set()): string[] {
  const all = [...officers];
  const out: string[] = [];
  for (const c of citizens) {
    const want = bruteNearest(c, all);
    const got = c.client.last('nearest') as GotNearest | undefined;
    const gotId = got?.officer?.id ?? null;
    const wantAt = want ? all.find((o) => o.id === want.id)! : null;
    if (!got || gotId !== (want?.id ?? null) || (want && !shownAsPolicySays(c, got, want, wantAt!, grants.has(grantKey(c.id, want.id))))) {
      const known = all.find((o) => o.id === gotId);
      const where = got?.officer
        ? ` at ${got.officer.lat.toFixed(5)},${got.officer.lng.toFixed(5)}; test has it ${known ? `at ${known.lat.toFixed(5)},${known.lng.toFixed(5)} on ${known.assignment.node}` : 'nowhere'}`
        : '';
      out.push(`${c.id}@${c.assignment.node}: got ${gotId} (${got?.dist})${where}, want ${want?.id ?? null} (${want?.dist})`);
    }
  }
  return out;
}

/** Waits until every citizen's latest `nearest` equals brute force. */
export async function waitExact(citizens: Device[], officerList: Iterable<Device>, timeoutMs = 20_000, grants?: ReadonlySet<string>): Promise<void> {
  const officers = [...officerList]; // an iterator would be used up by the first check
  const deadline = Date.now() + timeoutMs;
  let last: string[] = [];
  while (Date.now() < deadline) {
    last = mismatches(citizens, officers, grants);
    if (last.length === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nearest not exact after ${timeoutMs} ms (${last.length} of ${citizens.length}):\n${last.slice(0, 10).join('\n')}`);
}

/** Deterministic PRNG (mulberry32) so a failure can be replayed. */
export const prng = mulberry32;

/** Manhattan, Brooklyn, Queens and Jersey City: many small zips, so shards spread over the nodes. */
export const AREA = { lat0: 40.68, lat1: 40.8, lng0: -74.05, lng1: -73.9 };

export function randomPos(rnd: () => number, area = AREA): { lat: number; lng: number } {
  return { lat: area.lat0 + rnd() * (area.lat1 - area.lat0), lng: area.lng0 + rnd() * (area.lng1 - area.lng0) };
}
