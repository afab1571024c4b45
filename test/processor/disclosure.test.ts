// The disclosure policy for officer positions (issue #10) over real websockets: coarse outside the
// alert radius, exact inside it and for the citizen whose connection was accepted, no re-push
// while what the citizen sees does not change, fixed snapping (no noise), exact choice of officer.
// Absence is proved with a sentinel (ping/pong after the officer's frames), never a sleep.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { nodeChannel } from '../../src/coordination/index.js';
import { haversine, roundToStep, snapCell, snapToCell } from '../../src/geo/index.js';
import type { NearestMessage } from '../../src/protocol/index.js';
import { mulberry32 } from '../../load-tests/prng.js';
import { NODE_ID, north, startFixture, type Fixture, type TestClient } from './fixture.js';
import { waitFor } from '../helpers/wait.js';

const PRECISION = 200;
const STEP = 50;
const ALERT = 250;
/**
 * A 200 m cell centre (officers can move ±90 m inside their cell) per test, ~11 km apart (more than
 * the search radius): an officer of another test still closing can never be anyone's nearest here.
 */
const site = (k: number) => snapToCell(40.2 + 0.1 * k, -73.99, PRECISION);
/** Metres east of (lat, lng) (good enough at city scale). */
const east = (p: { lat: number; lng: number }, m: number) => ({ lat: p.lat, lng: p.lng + m / (111_195 * Math.cos((p.lat * Math.PI) / 180)) });

/** What the policy shows a citizen at `c` whose nearest is the officer at `o` (no grant). */
function expected(c: { lat: number; lng: number }, o: { lat: number; lng: number }) {
  const d = haversine(c.lat, c.lng, o.lat, o.lng);
  if (d <= ALERT) return { lat: o.lat, lng: o.lng, precision: 0, dist: d };
  // The cell centre, and the distance to it (not to the officer) rounded to the step.
  const centre = snapToCell(o.lat, o.lng, PRECISION);
  return { ...centre, precision: PRECISION, dist: roundToStep(haversine(c.lat, c.lng, centre.lat, centre.lng), STEP) };
}

function shown(m: NearestMessage) {
  return { lat: m.officer!.lat, lng: m.officer!.lng, precision: m.officer!.precision, dist: m.dist };
}

/** The officer's frames are handled and their re-pushes flushed, then every citizen's pong follows anything pushed to it. */
async function settle(officers: TestClient[], citizens: TestClient[]): Promise<void> {
  for (const o of officers) await o.sync();
  for (const c of citizens) await c.sync();
}

let n = 0;
const uid = (p: string) => `${p}-${++n}`;

describe('disclosure policy (defaults: OFFICER_PRECISION_M=200, DISTANCE_STEP_M=50)', () => {
  let f: Fixture;
  beforeAll(async () => {
    expect(loadConfig({})).toMatchObject({ OFFICER_PRECISION_M: PRECISION, DISTANCE_STEP_M: STEP, ALERT_RADIUS_M: ALERT }); // the defaults
    f = await startFixture({ MSG_RATE_PER_S: 1000, MSG_BURST: 1000 });
  });
  afterAll(() => f.close());

  it('outside the alert radius: cell centre, rounded distance, precision; inside it: exact', async () => {
    const Q = site(1);
    const oid = uid('o');
    const o = await f.connect('officer', oid);
    const P = north(Q.lat, Q.lng, 37); // not a cell centre: coarse must differ from exact
    o.json({ t: 'loc', ...P });
    await o.sync();
    const c = await f.connect('citizen', uid('c'));
    for (const m of [1000, 3210, 251, 249, 120, 0]) {
      const at = north(P.lat, P.lng, m);
      const from = c.mark();
      c.json({ t: 'loc', ...at });
      const got = await c.waitFor('nearest', () => true, from);
      expect(got.officer?.id, `${m} m`).toBe(oid);
      expect(shown(got), `${m} m`).toEqual(expected(at, P));
      if (m > ALERT) {
        expect(got.officer!.precision).toBe(PRECISION);
        expect(got.dist! % STEP).toBe(0);
        expect([got.officer!.lat, got.officer!.lng]).not.toEqual([P.lat, P.lng]);
        expect(haversine(got.officer!.lat, got.officer!.lng, P.lat, P.lng)).toBeGreaterThan(0);
      } else {
        expect(got.officer).toMatchObject({ lat: P.lat, lng: P.lng, precision: 0 });
      }
    }
    o.close();
    c.close();
  });

  it('fixed snapping: many citizens at many positions always see the same centre (no noise)', async () => {
    const Q = site(2);
    const oid = uid('o');
    const o = await f.connect('officer', oid);
    const P = east(north(Q.lat, Q.lng, -61), 23);
    o.json({ t: 'loc', ...P });
    await o.sync();
    const centre = snapToCell(P.lat, P.lng, PRECISION);
    const rnd = mulberry32(4242);
    const seen = new Set<string>();
    for (let k = 0; k < 3; k++) {
      const c = await f.connect('citizen', uid('c'));
      for (let i = 0; i < 20; i++) {
        const at = east(north(P.lat, P.lng, 400 + rnd() * 3000), (rnd() - 0.5) * 2000);
        const from = c.mark();
        c.json({ t: 'loc', ...at });
        const got = await c.waitFor('nearest', () => true, from);
        expect(shown(got)).toEqual(expected(at, P));
        seen.add(`${got.officer!.lat},${got.officer!.lng}`);
      }
      c.close();
    }
    expect([...seen]).toEqual([`${centre.lat},${centre.lng}`]);
    o.close();
  });

  it('an officer moving inside its cell pushes nothing; crossing into another cell does', async () => {
    const Q = site(3);
    const oid = uid('o');
    const o = await f.connect('officer', oid);
    o.json({ t: 'loc', ...Q });
    await o.sync();
    const c = await f.connect('citizen', uid('c'));
    const at = north(Q.lat, Q.lng, 2010);
    c.json({ t: 'loc', ...at });
    const first = await c.waitFor('nearest', (m) => m.officer?.id === oid);
    expect(shown(first)).toEqual(expected(at, Q));
    expect(first.dist).toBe(2000);

    // Sideways, toward and away from the citizen, inside the cell (±90 m of a 200 m cell's
    // centre): with exact positions every one of these would be a push (see the policy-off test).
    let from = c.mark();
    const inside = [east(Q, 30), east(Q, -45), north(Q.lat, Q.lng, 60), east(north(Q.lat, Q.lng, -80), 50), north(Q.lat, Q.lng, 85)];
    for (const p of inside) expect(snapToCell(p.lat, p.lng, PRECISION)).toEqual(Q); // the premise
    for (const p of inside) o.json({ t: 'loc', ...p });
    await settle([o], [c]);
    expect(c.of('nearest', from)).toEqual([]);

    // Across the cell border eastwards: one push, with the next centre and the distance to it.
    from = c.mark();
    const across = east(Q, 150);
    const next = snapCell(across.lat, across.lng, PRECISION);
    expect(next.col).toBe(snapCell(Q.lat, Q.lng, PRECISION).col + 1);
    o.json({ t: 'loc', ...across });
    const moved = await c.waitFor('nearest', () => true, from);
    expect(shown(moved)).toEqual({ lat: next.lat, lng: next.lng, precision: PRECISION, dist: expected(at, across).dist });
    await settle([o], [c]);
    expect(c.of('nearest', from)).toHaveLength(1);

    // The citizen's own loc is always answered, even when nothing it sees changed.
    from = c.mark();
    c.json({ t: 'loc', ...at });
    expect(shown(await c.waitFor('nearest', () => true, from))).toEqual(shown(moved));
    o.close();
    c.close();
  });

  it('probing where the distance flips to the next step locates the cell centre, not the officer', async () => {
    // The attack a rounded exact distance would allow: walk toward the officer along three
    // bearings, binary-search where `dist` drops a step (there the true distance is a known
    // half-step), and trilaterate. Here it finds the centre shown, never the officer.
    const Q = site(9);
    const o = await f.connect('officer', uid('o'));
    const P = east(north(Q.lat, Q.lng, 55), -70); // well off the centre, inside the cell
    expect(snapToCell(P.lat, P.lng, PRECISION)).toEqual(Q);
    o.json({ t: 'loc', ...P });
    await o.sync();
    const c = await f.connect('citizen', uid('c'));
    const ask = async (p: { lat: number; lng: number }) => {
      const from = c.mark();
      c.json({ t: 'loc', ...p });
      return (await c.waitFor('nearest', () => true, from)).dist!;
    };
    const circles: { lat: number; lng: number; r: number }[] = [];
    for (const [dn, de] of [
      [1500, 0],
      [0, 1500],
      [-1000, -1000],
    ]) {
      const along = (t: number) => east(north(P.lat, P.lng, dn * (1 - t)), de * (1 - t));
      const d0 = await ask(along(0));
      let [a, b] = [0, 0.1];
      for (let i = 0; i < 30; i++) {
        const m = (a + b) / 2;
        if ((await ask(along(m))) === d0) a = m;
        else b = m;
      }
      circles.push({ ...along(a), r: d0 - STEP / 2 });
    }
    // The point that best fits the three circles, searched on a 1 m grid around the cell.
    let best = { lat: 0, lng: 0, e: Infinity };
    for (let i = -150; i <= 150; i++) {
      for (let j = -150; j <= 150; j++) {
        const q = east(north(Q.lat, Q.lng, i), j);
        const e = circles.reduce((s, k) => s + (haversine(q.lat, q.lng, k.lat, k.lng) - k.r) ** 2, 0);
        if (e < best.e) best = { ...q, e };
      }
    }
    expect(haversine(best.lat, best.lng, Q.lat, Q.lng)).toBeLessThan(3);
    expect(haversine(best.lat, best.lng, P.lat, P.lng)).toBeGreaterThan(80);
    o.close();
    c.close();
  });

  it('which officer is nearest is decided on exact positions, not on the cells shown', async () => {
    const Q = site(4);
    // B sits at its cell's centre straight north of the citizen; A is just inside the near edge of
    // the next cell east. By cell centres B is nearer; by exact positions A is.
    const citizen = north(Q.lat, Q.lng, -1000);
    const cellB = snapCell(Q.lat, Q.lng, PRECISION);
    const A = { lat: cellB.south + 1 / 111_195, lng: cellB.east + 1e-6 };
    const aId = uid('oa');
    const oa = await f.connect('officer', aId);
    const ob = await f.connect('officer', uid('ob'));
    oa.json({ t: 'loc', ...A });
    ob.json({ t: 'loc', ...Q });
    await settle([oa, ob], []);
    const dA = haversine(citizen.lat, citizen.lng, A.lat, A.lng);
    const dB = haversine(citizen.lat, citizen.lng, Q.lat, Q.lng);
    const cA = snapToCell(A.lat, A.lng, PRECISION);
    expect(dA).toBeLessThan(dB);
    expect(haversine(citizen.lat, citizen.lng, cA.lat, cA.lng)).toBeGreaterThan(dB); // the trap is real
    const c = await f.connect('citizen', uid('c'));
    c.json({ t: 'loc', ...citizen });
    const got = await c.waitFor('nearest');
    expect(got.officer!.id).toBe(aId);
    expect(shown(got)).toEqual(expected(citizen, A));
    for (const x of [oa, ob, c]) x.close();
  });

  it('randomized: the chosen officer is the brute-force nearest of officers packed into a few cells', async () => {
    const Q = site(5);
    const rnd = mulberry32(Number(process.env.DISCLOSURE_SEED ?? 9));
    // 24 officers in a 600 m square (~9 cells), citizens all around up to 3 km away.
    const officers: { id: string; c: TestClient; pos: { lat: number; lng: number } }[] = [];
    for (let i = 0; i < 24; i++) {
      const id = uid('ro');
      const pos = east(north(Q.lat, Q.lng, (rnd() - 0.5) * 600), (rnd() - 0.5) * 600);
      const c = await f.connect('officer', id);
      c.json({ t: 'loc', ...pos });
      officers.push({ id, c, pos });
    }
    await settle(
      officers.map((o) => o.c),
      [],
    );
    const cells = new Set(officers.map((o) => JSON.stringify(snapToCell(o.pos.lat, o.pos.lng, PRECISION))));
    expect(cells.size).toBeGreaterThan(4);
    expect(cells.size).toBeLessThan(officers.length); // several officers share a cell
    const cit = await f.connect('citizen', uid('rc'));
    let coarse = 0;
    for (let i = 0; i < 60; i++) {
      const at = east(north(Q.lat, Q.lng, (rnd() - 0.5) * 6000), (rnd() - 0.5) * 6000);
      const from = cit.mark();
      cit.json({ t: 'loc', ...at });
      const got = await cit.waitFor('nearest', () => true, from);
      const ranked = officers.map((o) => ({ o, d: haversine(at.lat, at.lng, o.pos.lat, o.pos.lng) })).sort((a, b) => a.d - b.d);
      const best = ranked[0];
      expect(got.officer!.id, `seed point ${i}`).toBe(best.o.id);
      // Exact ordering: no other officer is strictly nearer than the chosen one.
      const chosen = ranked.find((r) => r.o.id === got.officer!.id)!;
      expect(ranked.every((r) => r.d >= chosen.d)).toBe(true);
      expect(shown(got)).toEqual(expected(at, best.o.pos));
      if (got.officer!.precision > 0) coarse++;
    }
    expect(coarse).toBeGreaterThan(40); // the scenario exercised the coarse view
    for (const o of officers) o.c.close();
    cit.close();
  });

  it('an accepted connection shows that citizen, and only it, the exact position until a socket closes', async () => {
    const Q = site(6);
    const oid = uid('o');
    const cid = uid('c');
    const otherId = uid('c');
    const o = await f.connect('officer', oid);
    const P = north(Q.lat, Q.lng, 41);
    o.json({ t: 'loc', ...P });
    await o.sync();
    const at = north(P.lat, P.lng, 1500);
    const c = await f.connect('citizen', cid);
    const other = await f.connect('citizen', otherId);
    for (const x of [c, other]) {
      x.json({ t: 'loc', ...at });
      expect(shown(await x.waitFor('nearest'))).toEqual(expected(at, P));
    }
    const exact = { lat: P.lat, lng: P.lng, precision: 0, dist: haversine(at.lat, at.lng, P.lat, P.lng) };

    // The orchestrator's word that the connection was accepted (the bus message a processor gets).
    let from = c.mark();
    const fromOther = other.mark();
    f.bus.publish(nodeChannel(NODE_ID), { type: 'conn.update', conn: { id: 'acc-1', status: 'accepted', officerId: oid, citizenId: cid } });
    await c.waitFor('conn', (m) => m.id === 'acc-1', from);
    expect(shown(await c.waitFor('nearest', () => true, from))).toEqual(exact);
    await settle([o], [other]);
    expect(other.of('nearest', fromOther)).toEqual([]);

    // It holds across the citizen's locs and the officer's moves; the other citizen at the very
    // same spot stays coarse.
    const P2 = east(P, 7);
    from = c.mark();
    o.json({ t: 'loc', ...P2 });
    expect(shown(await c.waitFor('nearest', () => true, from))).toMatchObject({ lat: P2.lat, lng: P2.lng, precision: 0 });
    for (const x of [c, other]) {
      const m = x.mark();
      x.json({ t: 'loc', ...at });
      const got = await x.waitFor('nearest', () => true, m);
      expect(shown(got)).toEqual(x === c ? { lat: P2.lat, lng: P2.lng, precision: 0, dist: haversine(at.lat, at.lng, P2.lat, P2.lng) } : expected(at, P2));
    }

    // The citizen's socket closes: a new socket of the same citizen is coarse again.
    c.close();
    await waitFor(() => f.toOrch.some((m) => m.type === 'socket.close' && m.record.profileId === cid), 5000, 'the citizen socket to be gone');
    const c2 = await f.connect('citizen', cid);
    c2.json({ t: 'loc', ...at });
    expect(shown(await c2.waitFor('nearest'))).toEqual(expected(at, P2));

    // Granted again on the new socket; then the officer's socket closes and a new one comes back:
    // coarse again (the grant was for the officer socket that left the index).
    from = c2.mark();
    f.bus.publish(nodeChannel(NODE_ID), { type: 'conn.update', conn: { id: 'acc-2', status: 'accepted', officerId: oid, citizenId: cid } });
    expect(shown(await c2.waitFor('nearest', () => true, from))).toMatchObject({ precision: 0 });
    o.close();
    await c2.waitFor('nearest', (m) => m.officer === null, from);
    const o2 = await f.connect('officer', oid);
    from = c2.mark();
    o2.json({ t: 'loc', ...P2 });
    expect(shown(await c2.waitFor('nearest', (m) => m.officer !== null, from))).toEqual(expected(at, P2));

    // `avail: false` leaves the index too and ends a grant.
    from = c2.mark();
    f.bus.publish(nodeChannel(NODE_ID), { type: 'conn.update', conn: { id: 'acc-3', status: 'accepted', officerId: oid, citizenId: cid } });
    expect(shown(await c2.waitFor('nearest', () => true, from))).toMatchObject({ precision: 0 });
    o2.json({ t: 'avail', on: false });
    await c2.waitFor('nearest', (m) => m.officer === null, from);
    from = c2.mark();
    o2.json({ t: 'avail', on: true });
    expect(shown(await c2.waitFor('nearest', (m) => m.officer !== null, from))).toEqual(expected(at, P2));
    for (const x of [o2, c2, other]) x.close();
  });

  it('grants nothing for declined or expired connections, absent parties, or an officer not in the index', async () => {
    const Q = site(7);
    const oid = uid('o');
    const cid = uid('c');
    const o = await f.connect('officer', oid);
    const P = north(Q.lat, Q.lng, -33);
    const at = north(P.lat, P.lng, 1200);
    const c = await f.connect('citizen', cid);
    // The officer has a socket but no position yet (not in the index): an accept now grants nothing.
    f.bus.publish(nodeChannel(NODE_ID), { type: 'conn.update', conn: { id: 'x-0', status: 'accepted', officerId: oid, citizenId: cid } });
    await c.waitFor('conn', (m) => m.id === 'x-0');
    o.json({ t: 'loc', ...P });
    await o.sync();
    const updates = [
      { id: 'x-1', status: 'accepted', officerId: 'nobody', citizenId: cid },
      { id: 'x-2', status: 'accepted', officerId: oid, citizenId: 'not-here' },
      { id: 'x-3', status: 'accepted', officerId: cid, citizenId: oid }, // roles swapped
      { id: 'x-4', status: 'declined', officerId: oid, citizenId: cid },
      { id: 'x-5', status: 'expired', officerId: oid, citizenId: cid }, // the last: c is told, in order
    ] as const;
    for (const u of updates) f.bus.publish(nodeChannel(NODE_ID), { type: 'conn.update', conn: u });
    await c.waitFor('conn', (m) => m.id === 'x-5');
    expect(c.of('conn').map((m) => m.id)).toEqual(['x-0', 'x-1', 'x-4', 'x-5']);
    c.json({ t: 'loc', ...at });
    const got = await c.waitFor('nearest');
    expect(shown(got)).toEqual(expected(at, P));
    expect(got.officer!.precision).toBe(PRECISION);
    o.close();
    c.close();
  });
});

describe('OFFICER_PRECISION_M=0 turns the policy off', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture({ OFFICER_PRECISION_M: 0, MSG_RATE_PER_S: 1000, MSG_BURST: 1000 });
  });
  afterAll(() => f.close());

  it('exact position and distance everywhere, precision 0, and every move is pushed', async () => {
    const Q = site(8);
    const o = await f.connect('officer', 'off-o');
    const P = north(Q.lat, Q.lng, 37);
    o.json({ t: 'loc', ...P });
    await o.sync();
    const c = await f.connect('citizen', 'off-c');
    const at = north(P.lat, P.lng, 3210);
    c.json({ t: 'loc', ...at });
    const got = await c.waitFor('nearest');
    expect(shown(got)).toEqual({ lat: P.lat, lng: P.lng, precision: 0, dist: haversine(at.lat, at.lng, P.lat, P.lng) });
    expect(got.dist! % STEP).not.toBe(0);
    // The same sideways move the policy stays silent about is pushed here.
    const from = c.mark();
    const P2 = east(P, 30);
    o.json({ t: 'loc', ...P2 });
    expect(shown(await c.waitFor('nearest', () => true, from))).toMatchObject({ lat: P2.lat, lng: P2.lng, precision: 0 });
    o.close();
    c.close();
  });
});

describe('settings', () => {
  it('validate OFFICER_PRECISION_M, DISTANCE_STEP_M and MAP_MIN_CELL_COUNT with a readable message', () => {
    expect(loadConfig({ OFFICER_PRECISION_M: '0', DISTANCE_STEP_M: '1', MAP_MIN_CELL_COUNT: '1' })).toMatchObject({
      OFFICER_PRECISION_M: 0,
      DISTANCE_STEP_M: 1,
      MAP_MIN_CELL_COUNT: 1,
    });
    expect(loadConfig({ OFFICER_PRECISION_M: '100000', DISTANCE_STEP_M: '10000' })).toMatchObject({ OFFICER_PRECISION_M: 100_000, DISTANCE_STEP_M: 10_000 });
    const bad: [string, string][] = [
      ['OFFICER_PRECISION_M', '5'],
      ['OFFICER_PRECISION_M', '-200'],
      ['OFFICER_PRECISION_M', '200.5'],
      ['OFFICER_PRECISION_M', 'NaN'],
      ['OFFICER_PRECISION_M', '1e9'],
      ['OFFICER_PRECISION_M', 'coarse'],
      ['DISTANCE_STEP_M', '0'],
      ['DISTANCE_STEP_M', '-50'],
      ['DISTANCE_STEP_M', '20000'],
      ['DISTANCE_STEP_M', 'Infinity'],
      ['MAP_MIN_CELL_COUNT', '0'],
      ['MAP_MIN_CELL_COUNT', '2.5'],
      ['MAP_MIN_CELL_COUNT', 'three'],
    ];
    for (const [name, value] of bad) {
      let err: unknown;
      try {
        loadConfig({ [name]: value });
      } catch (e) {
        err = e;
      }
      expect(err, `${name}=${value}`).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems.join('\n'), `${name}=${value}`).toContain(`${name}=${JSON.stringify(value)}`);
    }
  });
});
