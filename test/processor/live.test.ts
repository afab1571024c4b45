import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haversine, roundToStep, snapToCell } from '../../src/geo/index.js';
import { mulberry32 } from '../../load-tests/prng.js';
import { north, startFixture, type Fixture, type TestClient } from './fixture.js';
import { waitFor } from '../helpers/wait.js';

const P = { lat: 40.75, lng: -73.99 };

describe('live re-pushes (SPEC §3)', () => {
  let f: Fixture;
  beforeAll(async () => {
    // Re-push mechanics on exact positions (disclosure policy off; it has its own tests, and the
    // randomized check below also runs with it on).
    f = await startFixture({ MSG_RATE_PER_S: 1000, MSG_BURST: 1000, OFFICER_PRECISION_M: 0 });
  });
  afterAll(() => f.close());

  it('an officer move re-pushes the citizens it affects and nobody else', async () => {
    const R = north(P.lat, P.lng, 3000);
    const o1 = await f.connect('officer', 'lv-o1');
    const o2 = await f.connect('officer', 'lv-o2');
    o1.json({ t: 'loc', ...P });
    o2.json({ t: 'loc', ...R });
    await o1.sync();
    await o2.sync();
    const cA = await f.connect('citizen', 'lv-a'); // near o1
    const cB = await f.connect('citizen', 'lv-b'); // far from everyone
    const cC = await f.connect('citizen', 'lv-c'); // near o2
    cA.json({ t: 'loc', ...north(P.lat, P.lng, 400) });
    cB.json({ t: 'loc', lat: 41.5, lng: -73.99 });
    cC.json({ t: 'loc', ...north(R.lat, R.lng, 400) });
    await cA.waitFor('nearest', (m) => m.officer?.id === 'lv-o1');
    await cB.waitFor('nearest', (m) => m.officer === null);
    await cC.waitFor('nearest', (m) => m.officer?.id === 'lv-o2');

    // o1 moves a little: only cA (whose nearest it is) hears about it.
    let mA = cA.mark(),
      mB = cB.mark(),
      mC = cC.mark();
    const p1 = north(P.lat, P.lng, 20);
    o1.json({ t: 'loc', ...p1 });
    const pushed = await cA.waitFor('nearest', () => true, mA);
    expect(pushed.officer).toMatchObject({ id: 'lv-o1', ...p1 });
    expect(pushed.dist).toBeCloseTo(380, -1);
    await cB.sync();
    await cC.sync();
    expect(cB.of('nearest', mB)).toHaveLength(0);
    expect(cC.of('nearest', mC)).toHaveLength(0);

    // The same position again changes nothing for anyone.
    mA = cA.mark();
    o1.json({ t: 'loc', ...p1 });
    await o1.sync();
    await cA.sync();
    expect(cA.of('nearest', mA)).toHaveLength(0);

    // o1 moves next to cC: cC switches to o1 (with a `near`), cA falls back to o2.
    mA = cA.mark();
    mB = cB.mark();
    mC = cC.mark();
    const p2 = north(R.lat, R.lng, 350);
    o1.json({ t: 'loc', ...p2 });
    const c2 = await cC.waitFor('nearest', () => true, mC);
    expect(c2.officer?.id).toBe('lv-o1');
    expect(c2.dist).toBeCloseTo(50, -1);
    expect(await cC.waitFor('near', () => true, mC)).toMatchObject({ officer: { id: 'lv-o1' } });
    const a2 = await cA.waitFor('nearest', () => true, mA);
    expect(a2.officer?.id).toBe('lv-o2');
    await cB.sync();
    expect(cB.of('nearest', mB)).toHaveLength(0);

    // A new officer appears near cB; then leaves by closing.
    mB = cB.mark();
    const o3 = await f.connect('officer', 'lv-o3');
    o3.json({ t: 'loc', ...north(41.5, -73.99, 1000) });
    expect((await cB.waitFor('nearest', () => true, mB)).officer?.id).toBe('lv-o3');
    mB = cB.mark();
    o3.close();
    expect((await cB.waitFor('nearest', () => true, mB)).officer).toBeNull();
    for (const c of [o1, o2, cA, cB, cC]) c.close();
    await waitFor(() => f.processor.stats().busy === 0);
  });

  it('records push latency in the metrics', async () => {
    expect(await f.metric('beacon_processor_push_latency_seconds_count')).toBeGreaterThan(0);
    expect(await f.metric('beacon_processor_loc_handling_seconds_count')).toBeGreaterThan(0);
  });

  it('randomized: at quiescence every citizen holds the brute-force nearest', () => randomized(f, 0));
});

describe('live re-pushes with the disclosure policy on (defaults)', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture({ MSG_RATE_PER_S: 1000, MSG_BURST: 1000 });
  });
  afterAll(() => f.close());

  it('randomized: at quiescence every citizen holds the coarse or exact view of the brute-force nearest', () => randomized(f, 200));
});

/**
 * Random officers moving, toggling availability and citizens jumping; at quiescence every citizen
 * holds what brute force says it should see (exact with `precision` 0, else the policy's view).
 */
async function randomized(f: Fixture, precision: number): Promise<void> {
  const seed = Number(process.env.LIVE_SEED ?? 20240611);
  const rnd = mulberry32(seed);
  const N = 24;
  const M = 60;
  const ROUNDS = 30;
  const box = (): { lat: number; lng: number } => ({ lat: P.lat + (rnd() - 0.5) * 0.12, lng: P.lng + (rnd() - 0.5) * 0.16 });
  const officers: { c: TestClient; id: string; pos: { lat: number; lng: number } | null; avail: boolean }[] = [];
  const citizens: { c: TestClient; id: string; pos: { lat: number; lng: number } | null }[] = [];
  for (let i = 0; i < N; i++) officers.push({ c: await f.connect('officer', `r${precision}-o${i}`), id: `r${precision}-o${i}`, pos: null, avail: true });
  for (let i = 0; i < M; i++) citizens.push({ c: await f.connect('citizen', `r${precision}-c${i}`), id: `r${precision}-c${i}`, pos: null });
  const say = (c: TestClient, msg: object) => (rnd() < 0.5 ? c.json(msg) : c.pack(msg));

  for (let round = 0; round < ROUNDS; round++) {
    for (const o of officers) {
      const r = rnd();
      if (r < 0.5) {
        // Small moves mostly, sometimes a jump.
        o.pos = o.pos && rnd() < 0.8 ? { lat: o.pos.lat + (rnd() - 0.5) * 0.004, lng: o.pos.lng + (rnd() - 0.5) * 0.004 } : box();
        say(o.c, { t: 'loc', ...o.pos });
      } else if (r < 0.56) {
        o.avail = !o.avail;
        say(o.c, { t: 'avail', on: o.avail });
      }
    }
    for (const c of citizens) {
      if (rnd() < 0.3 || c.pos === null) {
        c.pos = box();
        say(c.c, { t: 'loc', ...c.pos });
      }
    }
    await new Promise((r) => setTimeout(r, 5 + rnd() * 10));
  }
  // Quiescence: officers' frames are handled (and their re-pushes flushed) before the
  // citizens' pings, and each citizen's pong comes after anything pushed to it before.
  await Promise.all(officers.map((o) => o.c.sync()));
  await Promise.all(citizens.map((c) => c.c.sync()));

  const live = officers.filter((o) => o.avail && o.pos);
  let withOfficer = 0;
  let coarse = 0;
  for (const c of citizens) {
    const last = c.c.last('nearest');
    expect(last, `citizen ${c.id} (seed ${seed})`).toBeDefined();
    let best: { id: string; dist: number } | null = null;
    for (const o of live) {
      const d = haversine(c.pos!.lat, c.pos!.lng, o.pos!.lat, o.pos!.lng);
      if (d <= 5000 && (!best || d < best.dist)) best = { id: o.id, dist: d };
    }
    if (best === null) {
      expect(last!.officer, `citizen ${c.id} (seed ${seed})`).toBeNull();
      continue;
    }
    withOfficer++;
    expect(last!.officer, `citizen ${c.id} (seed ${seed})`).not.toBeNull();
    const o = officers.find((x) => x.id === last!.officer!.id)!;
    // Same officer, or one at the same distance; and at its last position, as the citizen may see it.
    const exactDist = haversine(c.pos!.lat, c.pos!.lng, o.pos!.lat, o.pos!.lng);
    expect(last!.officer!.id === best.id || Math.abs(exactDist - best.dist) < 1e-6, `citizen ${c.id} (seed ${seed})`).toBe(true);
    if (precision === 0 || best.dist <= 250) {
      expect(last!.officer!.precision).toBe(0);
      expect(last!.officer!.lat).toBe(o.pos!.lat);
      expect(last!.officer!.lng).toBe(o.pos!.lng);
      expect(last!.dist).toBeCloseTo(best.dist, 6);
    } else {
      coarse++;
      expect(last!.officer, `citizen ${c.id} (seed ${seed})`).toMatchObject({ id: o.id, ...snapToCell(o.pos!.lat, o.pos!.lng, precision), precision });
      const centre = snapToCell(o.pos!.lat, o.pos!.lng, precision);
      expect(last!.dist, `citizen ${c.id} (seed ${seed})`).toBe(roundToStep(haversine(c.pos!.lat, c.pos!.lng, centre.lat, centre.lng), 50));
    }
  }
  expect(withOfficer).toBeGreaterThan(M / 4); // the scenario actually exercised officers
  if (precision > 0) expect(coarse).toBeGreaterThan(M / 8); // and the coarse view
  for (const x of [...officers, ...citizens]) x.c.close();
  await waitFor(() => f.processor.stats().busy === 0);
}
