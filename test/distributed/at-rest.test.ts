// Nothing readable at rest (issue #10 §5, and §6 for distributed mode): a distributed run
// (orchestrator + 2 processors as OS processes, redis-server with AOF on in a temp dir, devices
// over real HTTP and websockets) in which devices send KNOWN coordinates and officer positions
// replicate across the nodes; then every AOF file, every Redis key and value and every log line of
// every node (at trace level) is scanned for those coordinates in any rendering
// (coordinate-scan.ts): none. The scan is shown able to fail: the same scan finds the
// coordinates once a deliberately unsealed value (text and MessagePack) is written. The embedded
// twin is test/embedded/privacy.test.ts.
import { readFile } from 'node:fs/promises';
import { encode } from '@msgpack/msgpack';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coordinateNeedles, findCoordinates, scanFiles, scanRedis, type Needles } from '../helpers/coordinate-scan.js';
import { bruteNearest, startDeployment, waitExact, type Deployment } from './fixture.js';
import { connectDevice, http, token, type Device } from './nodes.js';

// Lower Manhattan, a few zips (so both processors hold devices), all within the search radius.
const OFFICERS = [
  { lat: 40.712345678, lng: -74.006789123 },
  { lat: 40.718765432, lng: -73.998123456 },
  { lat: 40.705432198, lng: -74.013579246 },
  { lat: 40.724681357, lng: -73.987654321 },
  { lat: 40.731357924, lng: -74.002468135 },
  { lat: 40.709876543, lng: -73.991234567 },
];
const CITIZENS = [
  { lat: 40.715975346, lng: -74.009517538 },
  { lat: 40.721593574, lng: -73.995173682 },
  { lat: 40.707418529, lng: -74.004826173 },
  { lat: 40.727384615, lng: -73.993826154 },
  { lat: 40.713692581, lng: -73.986429517 },
  { lat: 40.734567891, lng: -74.008765432 },
];
const MOVE = { lat: 40.716049382, lng: -74.003086419 };
const ALL = [...OFFICERS, ...CITIZENS, MOVE];
const needles: Needles = coordinateNeedles(ALL.flatMap((p) => [p.lat, p.lng]));

let d: Deployment;
const devices: Device[] = [];

beforeAll(async () => {
  // appendfsync always: every write is in the file when the scan reads it. No RDB preamble: a
  // rewritten base would be binary RDB, whose LZF-compressed strings a byte scan cannot see into
  // (the live keyspace scan covers the values either way).
  // LOG_LEVEL=trace: every line any node can write is written, and scanned too (issue #10 §6).
  d = await startDeployment({
    processors: 2,
    redisArgs: ['--appendonly', 'yes', '--appendfsync', 'always', '--aof-use-rdb-preamble', 'no'],
    env: { LOG_LEVEL: 'trace' },
  });
}, 90_000);

afterAll(async () => {
  for (const x of devices) x.client.close();
  await d?.stop();
});

describe('the scan itself', () => {
  it('finds the coordinates in every rendering it claims, and nothing in unrelated data', () => {
    const hit = (s: string | Buffer) => findCoordinates(Buffer.isBuffer(s) ? s : Buffer.from(s), needles);
    for (const s of [
      '40.712345678',
      '[40.71234,',
      'lat=40.7123&',
      '40.712346',
      '-74.006789',
      '"lng":-74.0068',
      'x40712346y',
      '407123457',
      Buffer.from(encode([40.712345678])),
    ]) {
      expect(hit(s), String(s)).not.toEqual([]);
    }
    const f32 = Buffer.alloc(4);
    f32.writeFloatLE(40.712345678);
    expect(hit(Buffer.concat([Buffer.from('abc'), f32]))).not.toEqual([]);
    for (const s of ['40.7', '40.71', '74.00', 'beacon:sock:{officer:o1}', '1740712346123', '{"zip":"10007","at":1700000000000}'])
      expect(hit(s), s).toEqual([]);
  });
});

describe('a distributed run leaves no coordinate at rest', () => {
  it('neither the AOF nor any Redis key or value holds a coordinate a device sent', async () => {
    const orch = d.orchestrators[0].url;
    const officers = await Promise.all(OFFICERS.map((p, i) => connectDevice(orch, 'officer', `o${i}`, p)));
    const citizens = await Promise.all(CITIZENS.map((p, i) => connectDevice(orch, 'citizen', `c${i}`, p)));
    devices.push(...officers, ...citizens);
    for (const x of devices) x.client.json({ t: 'loc', lat: x.lat, lng: x.lng });

    // Replication really runs through Redis: both nodes hold devices and some citizen's nearest
    // officer sits on the other node.
    expect(new Set(devices.map((x) => x.assignment.node)).size).toBe(2);
    const cross = citizens.filter((c) => officers.find((o) => o.id === bruteNearest(c, officers)?.id)?.assignment.node !== c.assignment.node);
    expect(cross.length).toBeGreaterThan(0);
    await waitExact(citizens, officers);

    // An officer moves; a connection is established (stream entry).
    officers[0].lat = MOVE.lat;
    officers[0].lng = MOVE.lng;
    officers[0].client.json({ t: 'loc', lat: MOVE.lat, lng: MOVE.lng });
    await waitExact(citizens, officers);
    const r = await http(orch, 'POST', '/v1/connections', await token('citizen', citizens[0].id), { officerId: bruteNearest(citizens[0], officers)!.id });
    expect(r.status).toBe(202);
    const officer = officers.find((o) => o.id === bruteNearest(citizens[0], officers)!.id)!;
    const req = await officer.client.waitFor('req', (m) => m.id === r.body.id, 0, 10_000);
    officer.client.json({ t: 'resp', id: req.id, accept: true });
    await citizens[0].client.waitFor('conn', (m) => m.id === r.body.id, 0, 10_000);
    // Officers going off duty and back re-write their snapshot entries (HDEL, then HSET at the
    // same position) and publish each change: let them pass (seen in the stats).
    const published = async () =>
      (
        await Promise.all(
          d.processors.map(async (p) => Number(/beacon_processor_replication\{what="published"\} (\d+)/.exec(await (await fetch(p.metricsUrl!)).text())?.[1])),
        )
      ).reduce((a, b) => a + b, 0);
    const before = await published();
    for (const o of officers) o.client.json({ t: 'avail', on: false });
    await expect.poll(published, { timeout: 10_000 }).toBeGreaterThan(before + 2);
    const off = await published();
    for (const o of officers) o.client.json({ t: 'avail', on: true });
    await expect.poll(published, { timeout: 10_000 }).toBeGreaterThan(off + 2);

    const redis = await scanRedis(d.redis.url, needles);
    const files = await scanFiles(d.redis.dir, needles);
    // Not vacuous: the keyspace holds sealed snapshots, the stream, records; the AOF recorded them.
    const types = Object.entries(redis.keys);
    expect(types.filter(([k, t]) => k.startsWith('beacon:cellsnap:') && t === 'hash').length).toBeGreaterThan(0);
    expect(redis.keys['beacon:{beacon:established}']).toBe('stream');
    expect(types.length).toBeGreaterThan(5);
    const aof = files.files.filter((f) => f.path.includes('appendonlydir') && f.path.endsWith('.aof'));
    expect(aof.length).toBeGreaterThanOrEqual(2); // base + incr (Redis 7 multi-part AOF)
    const aofText = Buffer.concat(await Promise.all(aof.map((f) => readFile(f.path)))).toString('latin1');
    expect(aofText).toContain('beacon:cellsnap:');
    expect(aofText).toContain('XADD');

    expect(redis.hits).toEqual([]);
    expect(files.hits).toEqual([]);
    // Nor any log line of any node (at trace level; each wrote some).
    for (const n of [...d.orchestrators, ...d.processors]) {
      expect(
        n
          .output()
          .split('\n')
          .filter((l) => l.startsWith('{')).length,
        `${n.role} ${n.nodeId ?? ''} log lines`,
      ).toBeGreaterThan(3);
      expect(findCoordinates(Buffer.from(n.output(), 'latin1'), needles), `${n.role} ${n.nodeId ?? ''} logs`).toEqual([]);
    }

    // The same scan on the same Redis finds a deliberately unsealed value, in the AOF and the keyspace.
    const p = OFFICERS[0];
    await d.redis.cli('SET', 'beacon:control:text', JSON.stringify([p.lat, p.lng]));
    await d.redis.cli('HSET', 'beacon:control:rounded', 'pos', `${p.lat.toFixed(6)},${p.lng.toFixed(6)}`);
    const redis2 = await scanRedis(d.redis.url, needles);
    expect(redis2.hits.some((h) => h.startsWith('beacon:control:text'))).toBe(true);
    expect(redis2.hits.some((h) => h.startsWith('beacon:control:rounded'))).toBe(true);
    expect(redis2.hits.every((h) => h.startsWith('beacon:control:'))).toBe(true);
    const files2 = await scanFiles(d.redis.dir, needles);
    expect(files2.hits.some((h) => h.includes('text 40.712345678'))).toBe(true);
    expect(files2.hits.some((h) => h.includes('text 40.712346'))).toBe(true);
  }, 120_000);

  it('finds a binary (MessagePack float64) unsealed value too', async () => {
    const c = createClient({ url: d.redis.url });
    await c.connect();
    await c.sendCommand(['SET', 'beacon:control:msgpack', Buffer.from(encode([OFFICERS[1].lat, OFFICERS[1].lng])) as unknown as string]);
    await c.quit();
    const redis = await scanRedis(d.redis.url, needles);
    expect(redis.hits.filter((h) => h.startsWith('beacon:control:msgpack')).join('\n')).toContain('float64BE(40.718765432)');
    const files = await scanFiles(d.redis.dir, needles);
    expect(files.hits.join('\n')).toContain('float64BE(40.718765432)');
  }, 30_000);
});
