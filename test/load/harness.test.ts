// Unit tests of the harness's pure parts: argument bounds, loopback guard, seeded placement and
// movement, the scheduler heap, the officer-position ring and the simulated devices' tokens.
import { createServer, type Server } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ArgsError, parseArgs } from '../../load-tests/args.js';
import { TimeHeap } from '../../load-tests/heap.js';
import { assertLoopback, isLoopbackAddress } from '../../load-tests/loopback.js';
import { advance, newCitizen, newOfficer, nextInterval } from '../../load-tests/movement.js';
import { inNyc, nycCentroids } from '../../load-tests/areas.js';
import { deviceRandom, mulberry32 } from '../../load-tests/prng.js';
import { OfficerRing } from '../../load-tests/ring.js';
import { mintToken } from '../../load-tests/tokens.js';
import { resolveDeviceKeys, verifyJwt } from '../../src/auth/index.js';
import { metricSum, ServerSampler } from '../../load-tests/system.js';
import { snapToCell } from '../../src/geo/index.js';

describe('args', () => {
  it('has bounded defaults and parses the documented flags', () => {
    const a = parseArgs([], {});
    if (a === 'help') throw new Error('unexpected');
    expect(a).toMatchObject({ mode: 'load', officers: 100, citizens: 400, encoding: 'json', echo: true, warmupS: 5 });
    const b = parseArgs(
      ['--', '--officers', '10000', '--citizens=40000', '--duration', '60', '--rate', '20000', '--encoding', 'msgpack', '--no-echo', '--warmup', '0'],
      {},
    );
    expect(b).toMatchObject({ officers: 10000, citizens: 40000, durationS: 60, rate: 20000, encoding: 'msgpack', echo: false, warmupS: 0 });
    expect(parseArgs(['--officers', '100', '--officer-rate', '50'], {})).toMatchObject({ officerRate: 50 });
    expect(parseArgs(['--help'], {})).toBe('help');
  });

  it('refuses hostile or nonsense values', () => {
    for (const argv of [
      ['--officers', 'NaN'],
      ['--officers', '-1'],
      ['--officers', '1e12'],
      ['--duration', '0'],
      ['--duration', '99999'],
      ['--warmup', '-1'],
      ['--warmup', '601'],
      ['--warmup', 'soon'],
      ['--citizens', '1.5'],
      ['--workers', '1000'],
      ['--encoding', 'xml'],
      ['--mode', 'chaos'],
      ['--rate', '5000', '--citizens', '10'],
      ['--officer-rate', '5000', '--officers', '10'],
      ['--officer-rate', '0'],
      ['--officer-rate', 'NaN'],
      ['--frobnicate', '1'],
      ['stray'],
      ['--officers'],
      ['--officers', '0', '--citizens', '0'],
    ]) {
      expect(() => parseArgs(argv, {}), argv.join(' ')).toThrow(ArgsError);
    }
  });

  it('takes --processors and a --metrics-url list, and refuses --processors with --target', () => {
    const a = parseArgs(['--processors', '6', '--mode', 'connections', '--sockets', '100000'], {});
    expect(a !== 'help' && a.processors).toBe(6);
    const b = parseArgs(['--target', 'http://127.0.0.1:1', '--metrics-url', 'http://127.0.0.1:2/metrics,http://127.0.0.1:3/metrics'], {});
    expect(b !== 'help' && b.metricsUrls).toEqual(['http://127.0.0.1:2/metrics', 'http://127.0.0.1:3/metrics']);
    for (const argv of [
      ['--processors', '0'],
      ['--processors', '33'],
      ['--processors', 'x'],
      ['--processors', '2', '--target', 'http://127.0.0.1:1'],
    ]) {
      expect(() => parseArgs(argv, {}), argv.join(' ')).toThrow(ArgsError);
    }
  });

  it('takes the JWT secret from the environment when no flag is given', () => {
    const a = parseArgs([], { JWT_SECRET: 's'.repeat(32) });
    expect(a !== 'help' && a.jwtSecret).toBe('s'.repeat(32));
  });
});

describe('loopback guard', () => {
  it('accepts only 127.0.0.0/8 and ::1', async () => {
    for (const ok of ['127.0.0.1', '127.5.6.7', '::1', '::ffff:127.0.0.1']) expect(isLoopbackAddress(ok), ok).toBe(true);
    for (const bad of ['10.0.0.1', '0.0.0.0', '192.168.1.1', '::', '128.0.0.1', 'localhost', '']) expect(isLoopbackAddress(bad), bad).toBe(false);
    await expect(assertLoopback('http://127.0.0.1:8080')).resolves.toBeUndefined();
    await expect(assertLoopback('http://[::1]:8080')).resolves.toBeUndefined();
    await expect(assertLoopback('http://localhost:8080')).resolves.toBeUndefined();
    await expect(assertLoopback('http://2130706689/')).resolves.toBeUndefined(); // 127.0.1.1 in decimal
    for (const bad of ['http://10.0.0.1:8080', 'http://0.0.0.0:8080', 'http://[::]:80', 'ftp://127.0.0.1', 'not a url', 'http://167772161/']) {
      await expect(assertLoopback(bad), bad).rejects.toThrow();
    }
  });
});

describe('placement and movement', () => {
  it('the same seed gives the same devices, in the city', () => {
    const a = newCitizen(deviceRandom(7, 1, 42));
    const b = newCitizen(deviceRandom(7, 1, 42));
    const c = newCitizen(deviceRandom(8, 1, 42));
    expect([a.lat, a.lng]).toEqual([b.lat, b.lng]);
    expect([a.lat, a.lng]).not.toEqual([c.lat, c.lng]);
    expect(nycCentroids().length).toBeGreaterThan(150);
  });

  it('walkers and drivers stay in NYC and report at the modelled intervals', () => {
    for (let i = 0; i < 200; i++) {
      const m = i % 2 ? newOfficer(deviceRandom(1, 0, i)) : newCitizen(deviceRandom(1, 1, i));
      for (let s = 0; s < 500; s++) {
        const dt = nextInterval(m);
        if (i % 2) expect(dt >= 1000 && dt <= 3000).toBe(true);
        else expect(dt >= 0 && dt <= 5000).toBe(true);
        advance(m, dt);
        expect(inNyc(m.lat, m.lng)).toBe(true);
      }
    }
  });

  it('a rate sets the report interval, whatever the walking distance (--rate, --officer-rate)', () => {
    // Citizens walk ~1.4 m/s: without --rate the 10 m trigger caps their interval near 7 s.
    const slow = newCitizen(deviceRandom(1, 1, 3), 20_000);
    const driver = newOfficer(deviceRandom(1, 0, 3), undefined, 10_000);
    for (let s = 0; s < 200; s++) {
      const c = nextInterval(slow);
      expect(c >= 10_000 && c <= 30_000, String(c)).toBe(true);
      const o = nextInterval(driver);
      expect(o >= 5_000 && o <= 15_000, String(o)).toBe(true);
    }
  });

  it('mulberry32 is deterministic and in [0, 1)', () => {
    const r1 = mulberry32(3);
    const r2 = mulberry32(3);
    for (let i = 0; i < 1000; i++) {
      const v = r1();
      expect(v).toBe(r2());
      expect(v >= 0 && v < 1).toBe(true);
    }
  });
});

describe('TimeHeap', () => {
  it('pops in time order and refuses double scheduling past capacity', () => {
    const h = new TimeHeap(100);
    const r = mulberry32(1);
    const times = Array.from({ length: 100 }, () => r() * 1000);
    times.forEach((t, i) => h.push(t, i));
    expect(() => h.push(1, 0)).toThrow(/full/);
    const out: number[] = [];
    while (h.size) out.push(times[h.pop()]);
    expect(out).toEqual([...times].sort((a, b) => a - b));
  });
});

describe('OfficerRing', () => {
  it('finds when a recent position was sent, and forgets old ones', () => {
    const { ring, ringSeq } = OfficerRing.allocate(3);
    const r = new OfficerRing(ring, ringSeq);
    for (let i = 0; i < 6; i++) r.record(1, 40.7 + i * 0.001, -73.9, 1000 + i);
    expect(r.sentAt(1, 40.705, -73.9)).toBe(1005);
    expect(r.sentAt(1, 40.702, -73.9)).toBe(1002);
    expect(r.sentAt(1, 40.7, -73.9)).toBeNaN(); // overwritten
    expect(r.sentAt(1, Math.fround(40.705), Math.fround(-73.9))).toBe(1005); // float32 round trip still matches
    expect(r.sentAt(2, 40.705, -73.9)).toBeNaN();
    expect(r.sentAt(99, 40.705, -73.9)).toBeNaN();
    expect(r.sentAt(-1, 40.705, -73.9)).toBeNaN();
  });

  it('matches a coarse push (a cell centre) to the latest position sent in that cell since the last push', () => {
    const { ring, ringSeq } = OfficerRing.allocate(2);
    const r = new OfficerRing(ring, ringSeq);
    const A = snapToCell(40.75, -73.99, 200); // a cell centre: ±0.0008° stays inside the cell
    const B = snapToCell(40.75 + 0.002, -73.99, 200); // the next row north
    r.record(0, A.lat + 0.0003, A.lng, 1000);
    r.record(0, A.lat - 0.0004, A.lng + 0.0005, 2000);
    r.record(0, B.lat, B.lng + 0.0002, 3000);
    expect(r.sentInCell(0, A.lat, A.lng, 200, 0)).toBe(2000); // the latest in A
    expect(r.sentInCell(0, A.lat, A.lng, 200, 1500)).toBe(2000);
    expect(r.sentInCell(0, A.lat, A.lng, 200, 2000)).toBeNaN(); // nothing in A since the last push
    expect(r.sentInCell(0, B.lat, B.lng, 200, 0)).toBe(3000);
    expect(r.sentInCell(0, A.lat + 0.0003, A.lng, 200, 0)).toBeNaN(); // not a centre
    expect(r.sentInCell(0, B.lat, B.lng, 1000, 0)).toBeNaN(); // another grid
    for (const [o, size] of [
      [1, 200],
      [5, 200],
      [-1, 200],
      [0, 0],
      [0, NaN],
    ] as const)
      expect(r.sentInCell(o, A.lat, A.lng, size, 0)).toBeNaN();
  });
});

describe('device tokens', () => {
  const JWT_SECRET = 'load-test-secret-0123456789abcdef';
  const secret = new TextEncoder().encode(JWT_SECRET);

  it('pass the server verification, with the claims a device token carries', async () => {
    const keys = {
      keys: await resolveDeviceKeys({ JWT_SECRET, JWT_PUBLIC_KEY: undefined, JWKS_URL: undefined, DATA_DIR: '/nonexistent' }, { generate: false }),
    };
    const now = Date.now();
    const o = await verifyJwt(await mintToken(secret, 'officer', 'lt-o7'), keys, now);
    expect(o).toMatchObject({ sub: 'lt-o7', acct: 'acct-lt-o7', role: 'officer', name: 'Officer lt-o7', badge: 'lt-o7', precinct: '1' });
    expect(o.exp - (o.iat as number)).toBe(7200);
    const c = await verifyJwt(await mintToken(secret, 'citizen', 'lt-c1', 60), keys, now);
    expect(c).toMatchObject({ sub: 'lt-c1', role: 'citizen', name: 'Citizen lt-c1' });
    expect(c.badge).toBeUndefined();
    await expect(verifyJwt(await mintToken(secret, 'citizen', 'lt-c1', 60), keys, now + 61_000)).rejects.toMatchObject({ reason: 'expired' });
    await expect(verifyJwt(await mintToken(new TextEncoder().encode(`${JWT_SECRET}x`), 'citizen', 'lt-c1'), keys, now)).rejects.toMatchObject({
      reason: 'invalid',
    });
  });
});

describe('server sampling over several /metrics (a --target deployment)', () => {
  /** A stand-in /metrics whose CPU counter advances by `cpuStep` s per scrape. */
  async function fakeMetrics(rss: number, cpuStep: number): Promise<{ url: string; server: Server }> {
    let cpu = 0;
    const server = createServer((req, res) => {
      cpu += cpuStep;
      res.end(
        `# HELP x\nprocess_cpu_seconds_total ${cpu}\nprocess_resident_memory_bytes ${rss}\nbeacon_processor_sockets{role="officer"} 3\nbeacon_processor_sockets{role="citizen"} 4\n`,
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/metrics`, server };
  }

  it('sums CPU and RSS over every URL, and skips a sample when one of them does not answer', async () => {
    const a = await fakeMetrics(100e6, 1);
    const b = await fakeMetrics(50e6, 2);
    try {
      const s = new ServerSampler({ metricsUrls: [a.url, b.url] });
      expect((await s.sample())?.rssBytes).toBe(150e6);
      const second = await s.sample();
      // 3 CPU seconds more between two scrapes, over a few ms: far more than one core (summed, not the first URL's alone).
      expect(second?.cpuCores).toBeGreaterThan(3);
      b.server.close();
      await new Promise((r) => setTimeout(r, 50));
      expect(await s.sample()).toBeUndefined();
      const res = await fetch(a.url);
      const text = await res.text();
      const m = new Map(
        text
          .split('\n')
          .filter((l) => l && !l.startsWith('#'))
          .map((l) => [l.split(' ')[0], Number(l.split(' ')[1])] as [string, number]),
      );
      expect(metricSum(m, 'beacon_processor_sockets')).toBe(7);
      expect(metricSum(m, 'beacon_processor_sockets', 'role="citizen"')).toBe(4);
      expect(metricSum(m, 'absent')).toBeNaN();
    } finally {
      a.server.close();
      b.server.close();
    }
  });
});
