// --area placement and movement (inside the US, bounded, citizens beside officers), the shard
// balance report, and the --area / --lean options.
import { describe, expect, it } from 'vitest';
import { rendezvousOwner } from '../../src/coordination/index.js';
import { haversine } from '../../src/geo/index.js';
import { nearestZip, zipOf } from '../../src/geo/zip-lookup.js';
import { ArgsError, parseArgs } from '../../load-tests/args.js';
import { boxAround, HOME_RANGE_M, inBounds, inNyc, makeArea, SPREAD_M, usCentroids } from '../../load-tests/areas.js';
import { advance, newCitizen, newOfficer, nextInterval } from '../../load-tests/movement.js';
import { deviceRandom } from '../../load-tests/prng.js';
import { balanceOver, clusterIds, devicesPerZip, shardReport } from '../../load-tests/shard-balance.js';

describe('--area us', () => {
  it("places officers over zips across the country and every citizen in an officer's zip", () => {
    const officers = 300;
    const area = makeArea('us', 5, officers);
    const offs = Array.from({ length: officers }, (_, i) => newOfficer(deviceRandom(5, 0, i), area));
    const zips = new Set<string>();
    for (const o of offs) {
      const z = nearestZip(o.lat, o.lng);
      expect(z, `${o.lat},${o.lng}`).not.toBeNull();
      expect(z!.dist).toBeLessThanOrEqual(SPREAD_M + 1);
      zips.add(zipOf(o.lat, o.lng).slice(0, 1));
    }
    expect(zips.size).toBeGreaterThanOrEqual(9); // first zip digits 0-9: every region of the country
    expect(offs.filter((o) => inNyc(o.lat, o.lng)).length).toBeLessThan(officers / 10);
    for (let i = 0; i < 600; i++) {
      const c = newCitizen(deviceRandom(5, 1, i), undefined, area);
      const near = Math.min(...offs.map((o) => haversine(c.lat, c.lng, o.lat, o.lng)));
      expect(near, `citizen ${i}`).toBeLessThanOrEqual(2 * SPREAD_M + 1);
    }
  });

  it('is a function of (seed, kind, index): the same device in any worker, another seed elsewhere', () => {
    const a = newCitizen(deviceRandom(3, 1, 77), 2000, makeArea('us', 3, 50));
    const b = newCitizen(deviceRandom(3, 1, 77), 2000, makeArea('us', 3, 50));
    const c = newCitizen(deviceRandom(4, 1, 77), 2000, makeArea('us', 4, 50));
    expect([a.lat, a.lng]).toEqual([b.lat, b.lng]);
    expect([a.lat, a.lng]).not.toEqual([c.lat, c.lng]);
    // Without officers, citizens still land in the US.
    const alone = newCitizen(deviceRandom(3, 1, 1), undefined, makeArea('us', 3, 0));
    expect(nearestZip(alone.lat, alone.lng)!.dist).toBeLessThanOrEqual(SPREAD_M + 1);
  });

  it('keeps moving devices in their home box, valid coordinates included at the antimeridian', () => {
    const area = makeArea('us', 9, 40);
    const movers = [
      ...Array.from({ length: 40 }, (_, i) => newOfficer(deviceRandom(9, 0, i), area)),
      ...Array.from({ length: 40 }, (_, i) => newCitizen(deviceRandom(9, 1, i), undefined, area)),
    ];
    for (const m of movers) {
      for (let step = 0; step < 400; step++) {
        advance(m, nextInterval(m) * 5); // long steps: turn-backs happen
        expect(inBounds(m.bounds, m.lat, m.lng)).toBe(true);
        expect(m.lat >= -90 && m.lat <= 90 && m.lng >= -180 && m.lng <= 180).toBe(true);
      }
      expect(m.bounds.maxLat - m.bounds.minLat).toBeLessThanOrEqual((2 * HOME_RANGE_M) / 111_320 + 1e-9);
    }
    const west = usCentroids().reduce((a, b) => (Math.abs(b.lng) > Math.abs(a.lng) ? b : a));
    const box = boxAround(west.lat, west.lng, HOME_RANGE_M);
    expect(box.minLng).toBeGreaterThanOrEqual(-180);
    expect(box.maxLng).toBeLessThanOrEqual(180);
    expect(inBounds(box, west.lat, west.lng)).toBe(true);
  });

  it('leaves nyc as it was: the city box, city centroids', () => {
    const area = makeArea('nyc', 1, 100);
    for (let i = 0; i < 200; i++) {
      const m = newCitizen(deviceRandom(1, 1, i), undefined, area);
      const d = newCitizen(deviceRandom(1, 1, i)); // the default area
      expect([m.lat, m.lng]).toEqual([d.lat, d.lng]);
      expect(inNyc(m.lat, m.lng)).toBe(true);
    }
  });
});

describe('shard balance', () => {
  it('counts every device once, on the node rendezvous hashing gives its zip', () => {
    const perZip = devicesPerZip('us', 2, 200, 800);
    let total = 0;
    for (const n of perZip.values()) total += n;
    expect(total).toBe(1000);
    const ids = ['node-a', 'node-b', 'node-c'];
    const b = balanceOver(perZip, ids);
    expect(b.perNode.reduce((s, n) => s + n.devices, 0)).toBe(1000);
    expect(b.perNode.reduce((s, n) => s + n.zips, 0)).toBe(perZip.size);
    for (const n of b.perNode) {
      let want = 0;
      for (const [zip, k] of perZip)
        if (
          rendezvousOwner(
            zip,
            ids.map((id) => ({ id })),
          )!.id === n.node
        )
          want += k;
      expect(n.devices).toBe(want);
    }
    expect(b.maxOverMean).toBeGreaterThanOrEqual(1);
    expect(b.maxDevices).toBe(Math.max(...b.perNode.map((n) => n.devices)));
  });

  it('reports N = 2..8 for the placement; one node holds everything', () => {
    const r = shardReport('nyc', 1, 100, 400, [1, 2, 8].map(clusterIds));
    expect(r.devices).toBe(500);
    expect(r.balance.map((b) => b.processors)).toEqual([1, 2, 8]);
    expect(r.balance[0]).toMatchObject({ maxOverMean: 1, maxDevices: 500 });
    expect(r.maxZipDevices).toBeGreaterThan(0);
  });
});

describe('--area and --lean options', () => {
  it('parses them, defaults to nyc and the client library', () => {
    const a = parseArgs([], {});
    expect(a).toMatchObject({ area: 'nyc', lean: false });
    expect(parseArgs(['--area', 'us', '--lean'], {})).toMatchObject({ area: 'us', lean: true });
  });

  it('refuses an unknown area, a valueless --area, and --lean with msgpack', () => {
    for (const argv of [['--area', 'mars'], ['--area', ''], ['--area'], ['--area', 'US'], ['--lean', '--encoding', 'msgpack'], ['--lean=yes']]) {
      expect(() => parseArgs(argv, {}), argv.join(' ')).toThrow(ArgsError);
    }
  });
});

describe('cpu per frame', () => {
  it("divides each side's CPU over the phase by the frames in and out", async () => {
    const { frameCpu } = await import('../../load-tests/report.js');
    const { emptyCounters } = await import('../../load-tests/messages.js');
    const agg = (framesIn: number, framesOut: number, serverCpu: number[], genCpuCores: number, seconds: number) =>
      ({ counters: { ...emptyCounters(), framesIn, framesOut }, serverCpu, genCpuCores, seconds }) as never;
    // 0.5 cores for 10 s over 50,000 frames = 100 µs; the generator 0.2 cores = 40 µs.
    expect(frameCpu(agg(30_000, 20_000, [0.4, 0.6], 0.2, 10))).toEqual({ framesPerSec: 5000, serverUs: 100, generatorUs: 40 });
    expect(frameCpu(agg(1000, 0, [], 0.1, 1))).toEqual({ framesPerSec: 1000, serverUs: null, generatorUs: 100 });
    expect(frameCpu(agg(0, 0, [1], 1, 5))).toBeNull();
    expect(frameCpu(agg(10, 10, [1], 1, 0))).toBeNull();
    expect(frameCpu(undefined)).toBeNull();
  });
});
