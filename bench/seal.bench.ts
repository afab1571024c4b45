// npm run bench:seal [-- --quick --out path]
//
// The cost of sealing replicated officer positions (issue #10 §5), per replicated batch (one
// cell's batch of 1, 20 and 200 upserts), against the plain JSON the same batch cost before, in
// one run:
// * channel message: JSON.stringify → seal → open → JSON.parse, versus JSON.stringify →
//   JSON.parse (every receiver opens every message of its cells);
// * publisher: the message and one snapshot value per upsert sealed (each flush and each 2 s
//   refresh), versus the same stringified;
// * snapshot read: one value per officer opened (a node starting to listen to a cell).
// Seeded officers around NYC (bench/data.ts), a warm-up, repeated runs (bench/stats.ts). Prints µs
// per batch and the ratio, writes bench/results/seal.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sealer } from '../src/auth/index.js';
import { ReplicationWire, snapshotField, snapshotValue, type CellBatch } from '../src/distributed/wire.js';
import { makeOfficers } from './data.js';
import { measure, sink, type Rate } from './stats.js';
import { parseOptions } from '../load-tests/options.js';

const args = parseOptions(process.argv.slice(2), { quick: { type: 'boolean' }, out: { type: 'string' } }, 'npm run bench:seal [-- --quick] [--out path]');
const quick = args.quick === true;
const out = resolve(args.out ?? resolve(dirname(fileURLToPath(import.meta.url)), 'results/seal.json'));
const SIZES = [1, 20, 200];
const REPEATS = quick ? 3 : 7;
/** Batches per repeat: about the same work (~upserts) per size. */
const opsFor = (n: number) => Math.max(200, Math.round((quick ? 40_000 : 200_000) / n));

const wire = new ReplicationWire(new Sealer('bench-replication-key-0123456789abcdef-0123'), 'beacon', '450');
const cell = '2867:2362';
const channel = wire.channel(cell);
const key = wire.snapshotKey(cell);

function batchOf(n: number, seed: number): CellBatch {
  const o = makeOfficers(n, seed);
  return {
    n: 'processor-7',
    v: 1_760_000_000_000_000,
    u: o.ids.map((id, i) => [id, o.lat[i], o.lng[i], { name: `Ofc. ${id}`, badge: String(4000 + i), precinct: String(1 + (i % 77)) }]),
    r: [],
  };
}

interface Path {
  plain: Rate;
  sealed: Rate;
}
interface Row {
  upserts: number;
  bytes: { json: number; sealed: number };
  /** One channel message: every receiver opens it. */
  channel: Path;
  /** What one flush costs the publisher: the message and a snapshot value per upsert. */
  publish: Path;
  /** A node starting to listen to the cell: one snapshot value per officer. */
  snapshotRead: Path;
}

async function main(): Promise<void> {
  console.log(`bench:seal — AES-256-GCM (node:crypto), ${REPEATS} repeats after a warm-up${quick ? ' (quick)' : ''}`);
  console.log(`node ${process.version}, ${cpus()[0]?.model ?? 'cpu'}; peers measured in the same run\n`);
  const rows: Row[] = [];
  for (const n of SIZES) {
    const b = batchOf(n, n);
    const ops = opsFor(n);
    const ctx = `c:${channel}`;
    const fields = b.u.map((u) => snapshotField(b.n, u[0]));
    const plainValues = b.u.map((u) => snapshotValue(u[1], u[2], u[3], b.v));
    const sealedValues = b.u.map((u, j) => wire.sealSnapshotValue(key, fields[j], u[1], u[2], u[3], b.v));
    const run = (f: () => void) => (k: number) => {
      for (let i = 0; i < k; i++) f();
    };
    const row: Row = {
      upserts: n,
      bytes: { json: Buffer.byteLength(JSON.stringify(b)), sealed: wire.sealBatch(channel, b).length },
      channel: {
        plain: await measure(
          ops,
          REPEATS,
          run(() => (sink.value += (JSON.parse(JSON.stringify(b)) as CellBatch).u.length)),
        ),
        sealed: await measure(
          ops,
          REPEATS,
          run(() => {
            const o = wire.sealer.open(wire.sealBatch(channel, b), ctx);
            if (o.ok) sink.value += (JSON.parse(o.text) as CellBatch).u.length;
          }),
        ),
      },
      publish: {
        plain: await measure(
          ops,
          REPEATS,
          run(() => {
            sink.value += JSON.stringify(b).length;
            for (const u of b.u) sink.value += snapshotValue(u[1], u[2], u[3], b.v).length;
          }),
        ),
        sealed: await measure(
          ops,
          REPEATS,
          run(() => {
            sink.value += wire.sealBatch(channel, b).length;
            for (let j = 0; j < b.u.length; j++) sink.value += wire.sealSnapshotValue(key, fields[j], b.u[j][1], b.u[j][2], b.u[j][3], b.v).length;
          }),
        ),
      },
      snapshotRead: {
        plain: await measure(
          ops,
          REPEATS,
          run(() => {
            for (const v of plainValues) sink.value += (JSON.parse(v) as unknown[]).length;
          }),
        ),
        sealed: await measure(
          ops,
          REPEATS,
          run(() => {
            for (let j = 0; j < sealedValues.length; j++) {
              const o = wire.sealer.open(sealedValues[j], `s:${key}\n${fields[j]}`);
              if (o.ok) sink.value += (JSON.parse(o.text) as unknown[]).length;
            }
          }),
        ),
      },
    };
    rows.push(row);
    process.stdout.write(`  ${n} upserts done\n`);
  }
  print(rows);
  write(rows);
  console.log(`\n(sink ${sink.value})`);
}

const us = (r: Rate) => 1e6 / r.mean;
const usBest = (r: Rate) => 1e6 / r.best;
const PATHS = [
  ['channel', 'channel message: stringify+seal+open+parse vs stringify+parse'],
  ['publish', 'publisher: message + N snapshot values sealed vs stringified'],
  ['snapshotRead', 'snapshot read: N values opened+parsed vs parsed'],
] as const;

function print(rows: Row[]): void {
  const table: string[][] = [['upserts', 'path', 'plain µs/batch', 'sealed µs/batch', 'sealed − plain', 'ratio', 'message bytes json → sealed']];
  for (const r of rows) {
    for (const [k, name] of PATHS) {
      const p = r[k];
      table.push([
        String(r.upserts),
        name,
        `${us(p.plain).toFixed(2)} (best ${usBest(p.plain).toFixed(2)})`,
        `${us(p.sealed).toFixed(2)} (best ${usBest(p.sealed).toFixed(2)})`,
        (us(p.sealed) - us(p.plain)).toFixed(2),
        `${(us(p.sealed) / us(p.plain)).toFixed(2)}×`,
        k === 'channel' ? `${r.bytes.json} → ${r.bytes.sealed}` : '',
      ]);
    }
  }
  const w = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
  console.log('');
  for (const [i, row] of table.entries()) {
    console.log(row.map((cell, c) => cell.padEnd(w[c])).join('  '));
    if (i === 0) console.log(w.map((x) => '-'.repeat(x)).join('  '));
  }
  console.log('\nµs per batch from the mean rate over repeats (best repeat in brackets); ratio = sealed / plain.');
}

function write(rows: Row[]): void {
  const detail = (r: Rate) => ({
    usPerBatch: +us(r).toFixed(3),
    usPerBatchBest: +usBest(r).toFixed(3),
    batchesPerSec: Math.round(r.mean),
    std: Math.round(r.std),
    ops: r.ops,
    repeats: r.repeats,
  });
  const path = (p: Path) => ({
    plain: detail(p.plain),
    sealed: detail(p.sealed),
    ratio: +(us(p.sealed) / us(p.plain)).toFixed(2),
    extraUs: +(us(p.sealed) - us(p.plain)).toFixed(3),
  });
  const doc = {
    meta: {
      at: new Date().toISOString(),
      node: process.version,
      cpu: cpus()[0]?.model ?? 'unknown',
      quick,
      paths: Object.fromEntries(PATHS),
    },
    results: rows.map((r) => ({
      upserts: r.upserts,
      messageBytes: r.bytes,
      channel: path(r.channel),
      publish: path(r.publish),
      snapshotRead: path(r.snapshotRead),
    })),
  };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(doc, null, 2) + '\n');
  console.log(`\nwrote ${out}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
