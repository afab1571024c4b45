// 2 orchestrators + 3 processors (OS processes) on a real redis-server: devices spread over zips
// owned by different nodes; every citizen's nearest equals brute force over all officers on all
// nodes, after placement and after every officer moved; a connection request whose citizen and
// officer sit on different nodes completes with exactly one event in the Redis Stream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEstablishedEntry } from '../../src/adapters/redis/index.js';
import { CellGrid } from '../../src/distributed/cells.js';
import { Sealer } from '../../src/auth/index.js';
import { ReplicationWire } from '../../src/distributed/wire.js';
import { AREA, bruteNearest, grantKey, mismatches, prng, randomPos, SEARCH_RADIUS_M, startDeployment, waitExact, type Deployment } from './fixture.js';
import { connectDevice, http, REPLICATION_KEY, token, type Device } from './nodes.js';

let d: Deployment;
const officers = new Map<string, Device>();
const citizens: Device[] = [];
/** Accepted connections: those citizens see their officer's exact position (disclosure policy). */
const grants = new Set<string>();

beforeAll(async () => {
  d = await startDeployment({ processors: 3, orchestrators: 2 });
}, 90_000);

afterAll(async () => {
  for (const dev of [...officers.values(), ...citizens]) dev.client.close();
  await d?.stop();
});

describe('distributed mode, 3 processors', () => {
  it('nearest is exact across nodes and zip borders', async () => {
    // Devices alternate between the two orchestrators: they share every record through Redis.
    const orchOf = (i: number) => d.orchestrators[i % 2].url;
    const rnd = prng(5);
    const conns: Promise<Device>[] = [];
    for (let i = 0; i < 24; i++) conns.push(connectDevice(orchOf(i), 'officer', `o${i}`, randomPos(rnd)));
    for (const o of await Promise.all(conns)) officers.set(o.id, o);
    for (const o of officers.values()) o.client.json({ t: 'loc', lat: o.lat, lng: o.lng });
    // Citizens a little outside the officers' area too: some have nobody within the radius.
    const wide = { lat0: AREA.lat0 - 0.05, lat1: AREA.lat1 + 0.05, lng0: AREA.lng0 - 0.06, lng1: AREA.lng1 + 0.06 };
    const cs: Promise<Device>[] = [];
    for (let i = 0; i < 36; i++) cs.push(connectDevice(orchOf(i + 1), 'citizen', `c${i}`, randomPos(rnd, wide)));
    citizens.push(...(await Promise.all(cs)));
    for (const c of citizens) c.client.json({ t: 'loc', lat: c.lat, lng: c.lng });

    // The shards really are spread: every node holds devices, and many citizens' true nearest
    // officer sits on another node than the citizen.
    const nodesUsed = new Set([...officers.values(), ...citizens].map((x) => x.assignment.node));
    expect(nodesUsed.size).toBe(3);
    const crossNode = citizens.filter((c) => {
      const b = bruteNearest(c, officers.values());
      return b && officers.get(b.id)!.assignment.node !== c.assignment.node;
    });
    expect(crossNode.length).toBeGreaterThanOrEqual(5);

    await waitExact(citizens, officers.values());

    // Every officer moves (some across zip and node borders), three rounds.
    for (let round = 0; round < 3; round++) {
      for (const o of officers.values()) {
        const p = randomPos(rnd);
        o.lat = p.lat;
        o.lng = p.lng;
        o.client.json({ t: 'loc', lat: o.lat, lng: o.lng });
      }
      await waitExact(citizens, officers.values());
    }

    // Officers leaving (avail off, socket closed) vanish from every node's results.
    const gone = [...officers.values()].slice(0, 6);
    gone[0].client.json({ t: 'avail', on: false });
    officers.delete(gone[0].id);
    for (const o of gone.slice(1)) {
      o.client.close();
      officers.delete(o.id);
    }
    await waitExact(citizens, officers.values());

    // Hostile traffic on the replication channels of a citizen's cells and a corrupt snapshot:
    // dropped, nobody crashes, results stay exact.
    // Unsealed batches (what a node without sealing would send) are junk too.
    const grid = new CellGrid(SEARCH_RADIUS_M);
    const wire = new ReplicationWire(new Sealer(REPLICATION_KEY), 'beacon', grid.tag);
    for (const cell of grid.cellsWithin(citizens[0].lat, citizens[0].lng, SEARCH_RADIUS_M).slice(0, 3)) {
      const ch = wire.channel(cell);
      const unsealed = JSON.stringify({ n: 'px', v: Date.now() * 1000, u: [['evil', citizens[0].lat, citizens[0].lng, {}]], r: [] });
      for (const junk of [
        'garbage',
        '{"n":"px","v":1,"u":[["evil",999,0,{}]],"r":[]}',
        unsealed,
        JSON.stringify({ n: 'px', v: 1, u: 'x', r: [] }),
        'x'.repeat(100_000),
      ]) {
        await d.redis.cli('PUBLISH', ch, junk);
      }
      // A well-formed sealed batch with an out-of-range position: opened, then refused.
      await d.redis.cli('PUBLISH', ch, wire.sealBatch(ch, { n: 'px', v: Date.now() * 1000, u: [['evil', 999, 0, {}]], r: [] }));
      await d.redis.cli('HSET', wire.snapshotKey(cell), 'junk', 'junk');
    }
    for (const c of citizens.slice(0, 5)) c.client.json({ t: 'loc', lat: c.lat, lng: c.lng });
    await waitExact(citizens, officers.values());
    for (const n of [...d.processors, ...d.orchestrators]) expect(n.proc.exitCode).toBeNull();
    expect(mismatches(citizens, officers.values())).toEqual([]);
  }, 90_000);

  it('a connection request across nodes completes, with one event in the Redis Stream', async () => {
    // Asked of the second orchestrator; the officer's answer is broadcast to both, decided once in Redis.
    const orch = d.orchestrators[1].url;
    // A citizen and an officer on different nodes, the officer its nearest and outside the alert
    // radius (so the citizen sees it coarse until the connection is accepted).
    let pair: [Device, Device] | undefined;
    for (const c of citizens) {
      const b = bruteNearest(c, officers.values());
      const o = b && b.dist > 300 ? officers.get(b.id)! : undefined;
      if (o && o.assignment.node !== c.assignment.node) {
        pair = [c, o];
        break;
      }
    }
    expect(pair).toBeDefined();
    expect(pair![0].client.last('nearest')?.officer).toMatchObject({ id: pair![1].id, precision: 200 });
    const [citizen, officer] = pair!;
    const cTok = await token('citizen', citizen.id);
    const officerMark = officer.client.mark();
    const citizenMark = citizen.client.mark();
    const r = await http(orch, 'POST', '/v1/connections', cTok, { officerId: officer.id });
    expect(r.status).toBe(202);
    const reqId = r.body.id as string;
    const req = await officer.client.waitFor('req', (m) => m.id === reqId, officerMark, 10_000);
    expect(req.citizen.id).toBe(citizen.id);
    officer.client.json({ t: 'resp', id: reqId, accept: true });
    // A retried answer must not add a second event.
    officer.client.json({ t: 'resp', id: reqId, accept: true });
    const conn = await citizen.client.waitFor('conn', (m) => m.id === reqId, citizenMark, 10_000);
    expect(conn.status).toBe('accepted');
    // The citizen's node holds the officer as a replica: the grant shows it exact, to this citizen only.
    const exact = await citizen.client.waitFor('nearest', (m) => m.officer?.precision === 0, citizenMark, 10_000);
    expect(exact.officer).toMatchObject({ id: officer.id, lat: officer.lat, lng: officer.lng });
    grants.add(grantKey(citizen.id, officer.id));
    await waitExact(citizens, officers.values(), 10_000, grants);
    await officer.client.waitFor('conn', (m) => m.id === reqId, officerMark, 10_000);
    const got = await http(orch, 'GET', `/v1/connections/${reqId}`, cTok);
    expect(got.body.status).toBe('accepted');

    const out = await d.redis.cli('--raw', 'XRANGE', 'beacon:{beacon:established}', '-', '+');
    const lines = out.trim().split('\n');
    // --raw prints entry id, then field, value, ... per entry: count entries naming this request.
    const entries: Record<string, string>[] = [];
    for (let i = 0; i < lines.length;) {
      if (/^\d+-\d+$/.test(lines[i])) {
        const fields: Record<string, string> = {};
        let j = i + 1;
        while (j + 1 < lines.length && !/^\d+-\d+$/.test(lines[j])) {
          fields[lines[j]] = lines[j + 1];
          j += 2;
        }
        entries.push(fields);
        i = j;
      } else i++;
    }
    const mine = entries.map(parseEstablishedEntry).filter((e) => e?.officerId === officer.id && e?.citizenId === citizen.id);
    expect(mine).toHaveLength(1);
  }, 60_000);

  it('SIGTERM stops a processor gracefully: exit 0, its officers gone from the others, replication figures on METRICS_PORT', async () => {
    const victim = d.processors[2];
    // Never on the device port (no METRICS_TOKEN): on the METRICS_PORT listener.
    expect((await fetch(victim.url.replace(/^ws/, 'http').replace(/\/ws$/, '/metrics'))).status).toBe(404);
    const text = await (await fetch(victim.metricsUrl!)).text();
    expect(text).toMatch(/beacon_processor_replication\{what="published"\} [1-9]/);
    // The hostile traffic of the first test: counted as malformed (where a node listened), nothing as another key.
    const all = await Promise.all(d.processors.map(async (p) => (await fetch(p.metricsUrl!)).text()));
    for (const t of all) expect(t).toContain('beacon_processor_replication{what="wrongKey"} 0');
    expect(all.some((t) => /beacon_processor_replication\{what="malformed"\} [1-9]/.test(t))).toBe(true);
    expect(await victim.stop()).toBe(0);
    for (const [id, o] of officers) if (o.assignment.node === victim.nodeId) officers.delete(id);
    const live = citizens.filter((c) => c.assignment.node !== victim.nodeId);
    await waitExact(live, officers.values(), 15_000, grants);
  }, 60_000);
});
