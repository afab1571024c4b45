// The end-of-run checks: the acknowledged set against the Redis Stream, and every citizen's
// `nearest` against a brute-force nearest over the officers' last sent positions.
import { getConnection } from '../../src/client/index.js';
import { haversine } from '../../src/geo/distance.js';
import type { Device, Ledger } from './fleet.js';
import type { Redis } from './procs.js';

export interface StreamCheck {
  acknowledged: number;
  inStream: number;
  /** Acknowledged ids missing from the stream. */
  lost: number;
  /** Ids with more than one stream entry. */
  duplicated: number;
  /** Stream entries no party was told about, but GET says accepted (told to nobody in time: not a defect). */
  unannouncedAccepted: number;
  /** Stream entries no party was told about and GET does not say accepted: a defect. */
  unexplained: number;
  /** Acknowledged ids whose stream entry names other parties. */
  mismatched: number;
  lostIds: string[];
  duplicatedIds: string[];
  unexplainedIds: string[];
}

/** Reads the whole stream (XRANGE - +) as event id → entries. */
async function readStream(redis: Redis, key: string): Promise<Map<string, Array<Record<string, string>>>> {
  const raw = JSON.parse(await redis.cli('--json', '-2', 'XRANGE', key, '-', '+')) as Array<[string, string[]]> | null;
  const byId = new Map<string, Array<Record<string, string>>>();
  for (const [, kv] of raw ?? []) {
    const f: Record<string, string> = {};
    for (let i = 0; i + 1 < kv.length; i += 2) f[kv[i]] = kv[i + 1];
    const list = byId.get(f.id) ?? [];
    list.push(f);
    byId.set(f.id, list);
  }
  return byId;
}

/**
 * The rule: every acknowledged id is in the stream exactly once; every stream entry is either
 * acknowledged, or GET /v1/connections/:id (asked as its citizen) says `accepted` — the decision is
 * durable and readable, the `conn` frame was only lost with a socket.
 */
export async function checkStream(
  redis: Redis,
  key: string,
  ledger: Ledger,
  citizenToken: (id: string) => Promise<string>,
  orchestrator: () => string,
): Promise<StreamCheck> {
  const stream = await readStream(redis, key);
  const out: StreamCheck = {
    acknowledged: ledger.acknowledged.size,
    inStream: stream.size,
    lost: 0,
    duplicated: 0,
    unannouncedAccepted: 0,
    unexplained: 0,
    mismatched: 0,
    lostIds: [],
    duplicatedIds: [],
    unexplainedIds: [],
  };
  for (const [id, parties] of ledger.acknowledged) {
    const entries = stream.get(id);
    if (!entries) {
      out.lost++;
      out.lostIds.push(id);
    } else if (entries[0].officerId !== parties.officerId || entries[0].citizenId !== parties.citizenId) out.mismatched++;
  }
  for (const [id, entries] of stream) {
    if (entries.length > 1) {
      out.duplicated++;
      out.duplicatedIds.push(id);
    }
    if (ledger.acknowledged.has(id)) continue;
    let status: string;
    try {
      status = (await getConnection({ baseUrl: orchestrator(), token: await citizenToken(entries[0].citizenId) }, id)).status;
    } catch (err) {
      status = `error ${(err as Error).message}`;
    }
    if (status === 'accepted') out.unannouncedAccepted++;
    else {
      out.unexplained++;
      out.unexplainedIds.push(`${id} (GET: ${status})`);
    }
  }
  return out;
}

export interface Exactness {
  exact: boolean;
  wrong: Array<{ citizen: string; told: string | null | undefined; expected: string | null }>;
}

/** Brute force: for each citizen, the nearest officer (ids only: far positions are blurred on the wire). */
export function checkExact(devices: Device[]): Exactness {
  const officers = devices.filter((d) => d.role === 'officer' && d.client.position);
  const wrong: Exactness['wrong'] = [];
  for (const c of devices) {
    if (c.role !== 'citizen' || !c.client.position) continue;
    const p = c.client.position;
    let best: string | null = null;
    let bestD = Infinity;
    let toldD = Infinity;
    for (const o of officers) {
      const q = o.client.position!;
      const dist = haversine(p.lat, p.lng, q.lat, q.lng);
      if (dist < bestD) [best, bestD] = [o.id, dist];
      if (o.id === c.nearest) toldD = dist;
    }
    if (bestD > c.radius) best = null;
    // A tie within a metre is not a wrong answer.
    if (c.nearest !== best && !(best !== null && Math.abs(toldD - bestD) < 1)) wrong.push({ citizen: c.id, told: c.nearest, expected: best });
  }
  return { exact: wrong.length === 0, wrong };
}
