// npm run bench:geo [-- --sizes 10000,100000 --quick --radius 2000 --no-redis --no-rbush --out path]
//
// Officer position updates/s (moves of 1–50 m) and exact nearest queries/s at 10k, 100k and 1M
// officers around NYC's ZCTA centroids, in one run, for (a) Beacon's index, (b) rbush
// remove+insert and rbush-knn, (c) a real redis-server (GEOADD, GEOSEARCH … COUNT 1, pipelined)
// started here. Prints a table with ratios and writes bench/results/geo.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeMoves, makeOfficers, makeQueries, NYC_ZIPS } from './data.js';
import { benchBeacon, type PeerRun } from './peers/beacon.js';
import { benchRbush } from './peers/rbush.js';
import { startRedis, type RedisPeer } from './peers/redis.js';
import { fmt, fmtRate, sink } from './stats.js';
import { checked, intOption, parseOptions } from '../load-tests/options.js';

const USAGE = 'npm run bench:geo [-- --quick] [--sizes 10000,100000,1000000] [--radius M] [--no-redis] [--no-rbush] [--out path]';
const args = parseOptions(
  process.argv.slice(2),
  {
    quick: { type: 'boolean' },
    sizes: { type: 'string' },
    radius: { type: 'string' },
    out: { type: 'string' },
    'no-redis': { type: 'boolean' },
    'no-rbush': { type: 'boolean' },
  },
  USAGE,
);
const sizes = checked(USAGE, () => (args.sizes ?? '10000,100000,1000000').split(',').map((x) => intOption('sizes', x, 0, 1, 10_000_000)));
const quick = args.quick === true;
const radius = checked(USAGE, () => intOption('radius', args.radius, 2000, 1, 1_000_000));
const out = resolve(args.out ?? resolve(dirname(fileURLToPath(import.meta.url)), 'results/geo.json'));
const scale = quick ? 0.2 : 1;
const ops = (x: number) => Math.max(200, Math.round(x * scale));

/** Op counts per peer and size: Redis runs are bounded (a GEOSEARCH scans every member in the radius). */
function plan(n: number) {
  const repeats = quick ? 2 : 5;
  return {
    beacon: { updates: ops(2_000_000), nearest: ops(500_000), repeats },
    rbush: { updates: ops(n >= 1e6 ? 100_000 : 200_000), nearest: ops(n >= 1e6 ? 20_000 : 50_000), repeats: quick ? 2 : 3 },
    redis: { updates: ops(100_000), nearest: ops(n >= 1e6 ? 500 : n >= 1e5 ? 4_000 : 20_000), repeats: quick ? 2 : 3 },
  };
}

interface SizeResult {
  officers: number;
  beacon: PeerRun;
  rbush?: PeerRun;
  redis?: PeerRun;
  ops: ReturnType<typeof plan>;
}

async function main(): Promise<void> {
  console.log(`bench:geo — ${NYC_ZIPS.length} NYC ZCTA centroids, radius ${radius} m, sizes ${sizes.join(', ')}${quick ? ' (quick)' : ''}`);
  console.log(`node ${process.version}, ${cpus()[0]?.model ?? 'cpu'}; one JS thread (redis-server is its own process)\n`);
  let redis: RedisPeer | null = null;
  if (!args['no-redis']) redis = await startRedis();
  const results: SizeResult[] = [];
  try {
    for (const n of sizes) {
      const o = makeOfficers(n);
      const moves = makeMoves(n, 1 << 20);
      const q = makeQueries(1 << 16);
      const p = plan(n);
      process.stdout.write(`${fmt(n)} officers: beacon`);
      const r: SizeResult = { officers: n, beacon: await benchBeacon(o, moves, q, radius, p.beacon), ops: p };
      if (!args['no-rbush']) {
        process.stdout.write(', rbush');
        r.rbush = await benchRbush(o, moves, q, radius, p.rbush);
      }
      if (redis) {
        process.stdout.write(', redis');
        r.redis = await redis.bench(o, moves, q, radius, p.redis);
      }
      process.stdout.write('\n');
      results.push(r);
    }
  } finally {
    await redis?.stop();
  }
  print(results);
  write(results);
  console.log(`\nsink ${sink.value.toExponential(3)}; wrote ${out}`);
}

function ratio(a: number, b: number | undefined): string {
  return b ? `${(a / b).toFixed(1)}×` : '—';
}

function print(results: SizeResult[]): void {
  const rows: string[][] = [['officers', 'peer', 'updates/s best (mean±std)', 'nearest/s best (mean±std)', 'bytes/officer', 'ops (upd/nn × repeats)']];
  for (const r of results) {
    for (const [name, run, o] of [
      ['beacon', r.beacon, r.ops.beacon],
      ['rbush', r.rbush, r.ops.rbush],
      ['redis', r.redis, r.ops.redis],
    ] as const) {
      if (!run) continue;
      rows.push([
        fmt(r.officers),
        name,
        fmtRate(run.updates),
        fmtRate(run.nearest),
        run.bytesPerOfficer ? run.bytesPerOfficer.toFixed(0) : '—',
        `${fmt(o.updates)}/${fmt(o.nearest)} × ${o.repeats}`,
      ]);
    }
  }
  const w = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  console.log('');
  for (const [i, row] of rows.entries()) {
    console.log(row.map((cell, c) => cell.padEnd(w[c])).join('  '));
    if (i === 0) console.log(w.map((x) => '-'.repeat(x)).join('  '));
  }
  console.log('\nratios on mean rates (beacon / peer):');
  for (const r of results) {
    const b = r.beacon;
    console.log(
      `  ${fmt(r.officers).padEnd(5)} updates: ×rbush ${ratio(b.updates.mean, r.rbush?.updates.mean)}, ×redis ${ratio(b.updates.mean, r.redis?.updates.mean)};` +
        ` nearest: ×rbush ${ratio(b.nearest.mean, r.rbush?.nearest.mean)}, ×redis ${ratio(b.nearest.mean, r.redis?.nearest.mean)}`,
    );
  }
  const t = results.find((r) => r.officers === 100_000);
  if (t) {
    console.log(
      `\ntargets at 100k (SPEC §5): updates ${fmt(t.beacon.updates.mean)}/s ${t.beacon.updates.mean >= 1e6 ? '≥' : '<'} 1M/s; nearest ${fmt(t.beacon.nearest.mean)}/s ${t.beacon.nearest.mean >= 5e5 ? '≥' : '<'} 500k/s`,
    );
  }
}

function peerJson(run: PeerRun | undefined, withBytes: boolean) {
  if (!run) return null;
  return {
    updatesPerSec: Math.round(run.updates.mean),
    nearestPerSec: Math.round(run.nearest.mean),
    ...(withBytes && run.bytesPerOfficer !== undefined ? { bytesPerOfficer: Math.round(run.bytesPerOfficer) } : {}),
    detail: {
      updates: {
        best: Math.round(run.updates.best),
        mean: Math.round(run.updates.mean),
        std: Math.round(run.updates.std),
        ops: run.updates.ops,
        repeats: run.updates.repeats,
      },
      nearest: {
        best: Math.round(run.nearest.best),
        mean: Math.round(run.nearest.mean),
        std: Math.round(run.nearest.std),
        ops: run.nearest.ops,
        repeats: run.nearest.repeats,
      },
      ...(!withBytes && run.bytesPerOfficer !== undefined ? { bytesPerOfficer: Math.round(run.bytesPerOfficer) } : {}),
    },
  };
}

function write(results: SizeResult[]): void {
  const doc = {
    meta: {
      at: new Date().toISOString(),
      node: process.version,
      cpu: cpus()[0]?.model ?? 'unknown',
      radiusM: radius,
      quick,
      map: `${NYC_ZIPS.length} NYC ZCTA centroids, officers jittered ~700 m (σ) around them, moves of 1–50 m`,
      rates: 'ops/s, mean over repeats (best and std in detail); redis bytesPerOfficer is used_memory delta, beacon/rbush are JS heap + typed arrays',
    },
    results: results.map((r) => ({ officers: r.officers, beacon: peerJson(r.beacon, true), rbush: peerJson(r.rbush, false), redis: peerJson(r.redis, false) })),
  };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(doc, null, 2) + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
