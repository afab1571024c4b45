// npm run bench:stream-start [-- --quick --cold --dir <parent> --out <path>]
//
// Start-up cost of the embedded established-connections stream (issue #11 §2): how long
// FileConnectionStream.open() takes on an empty DATA_DIR/established, on a 1 MB history and on a
// 1 GB history, spread over many daily segments (and, without --quick, on 1 GB written in a single
// day: the scan is bounded by the dedupe window, not by the size of the newest segment).
//
// The history is generated on disk (under --dir, default the OS temp dir: not a tmpfs here) with
// realistic event lines (16-char ids, officer and citizen ids, `at` spread over each day, zips),
// the clock set to 18:00 UTC of the newest day, the dedupe window 2 × the default REQUEST_TTL_MS
// (dedupeWindowFor(60 s) = 10 min). Each case: one warm-up open, then OPENS opens (each followed
// by close); the median, min and max are reported. --cold drops the page cache before every open
// (root only: writes /proc/sys/vm/drop_caches). Generated data is deleted at the end. Prints a
// table and writes bench/results/stream-start.json.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dedupeWindowFor, FileConnectionStream, segmentName } from '../src/adapters/memory/index.js';
import { parseOptions } from '../load-tests/options.js';

const args = parseOptions(
  process.argv.slice(2),
  { quick: { type: 'boolean' }, cold: { type: 'boolean' }, out: { type: 'string' }, dir: { type: 'string' } },
  'npm run bench:stream-start [-- --quick] [--cold] [--out path] [--dir parent-of-the-test-data]',
);
const quick = args.quick === true;
const cold = args.cold === true;
const out = resolve(args.out ?? join(dirname(fileURLToPath(import.meta.url)), 'results/stream-start.json'));
const parent = resolve(args.dir ?? tmpdir());
const OPENS = quick ? 5 : 9;
const MB = 1024 * 1024;
const DAY = 86_400_000;
/** 18:00 UTC of the newest generated day. */
const NOW = Date.UTC(2026, 11, 1, 18);
const WINDOW = dedupeWindowFor(60_000);

interface Case {
  name: string;
  bytes: number;
  days: number;
}
const CASES: Case[] = [
  { name: 'empty', bytes: 0, days: 0 },
  { name: '1 MB over 10 days', bytes: MB, days: 10 },
  quick ? { name: '100 MB over 100 days', bytes: 100 * MB, days: 100 } : { name: '1 GB over 400 days', bytes: 1024 * MB, days: 400 },
  ...(quick ? [] : [{ name: '1 GB in one day', bytes: 1024 * MB, days: 1 }]),
];

// Deterministic pseudo-random ids (xorshift), so runs compare.
let seed = 0x9e3779b9;
const rnd = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 0x1_0000_0000;
};
const ALPHA = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const randomId = () => {
  let s = '';
  for (let i = 0; i < 16; i++) s += ALPHA[Math.floor(rnd() * ALPHA.length)];
  return s;
};
const line = (at: number) =>
  `{"id":"${randomId()}","officerId":"o-${Math.floor(rnd() * 20_000)}","citizenId":"c-${Math.floor(rnd() * 2_000_000)}","at":${at},"zip":"${10001 + Math.floor(rnd() * 300)}"}\n`;
const AVG_LINE = Buffer.byteLength(line(NOW));

/** Writes `bytes` of history over `days` daily segments ending with today's (up to NOW). */
function generate(dir: string, c: Case): { lines: number; bytes: number } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let lines = 0;
  let bytes = 0;
  const perDay = c.bytes / Math.max(1, c.days);
  for (let d = c.days - 1; d >= 0; d--) {
    const dayStart = Math.floor(NOW / DAY) * DAY - d * DAY;
    const dayEnd = d === 0 ? NOW : dayStart + DAY;
    const n = Math.max(1, Math.round(perDay / AVG_LINE));
    const fd = openSync(join(dir, segmentName(dayStart)), 'w', 0o600);
    let chunk: string[] = [];
    let chunkLen = 0;
    for (let i = 0; i < n; i++) {
      const l = line(dayStart + Math.floor(((i + 1) / n) * (dayEnd - dayStart - 1)));
      chunk.push(l);
      chunkLen += l.length;
      if (chunkLen >= 4 * MB) {
        bytes += writeSync(fd, chunk.join(''));
        chunk = [];
        chunkLen = 0;
      }
    }
    bytes += writeSync(fd, chunk.join(''));
    closeSync(fd);
    lines += n;
  }
  return { lines, bytes };
}

function dropCaches(): void {
  execFileSync('sync');
  writeFileSync('/proc/sys/vm/drop_caches', '3');
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

const root = join(parent, `beacon-bench-stream-${process.pid}`);
const results: { case: string; segments: number; bytes: number; lines: number; idsInWindow: number; openMs: { median: number; min: number; max: number } }[] =
  [];
try {
  for (const c of CASES) {
    const dir = join(root, c.name.replace(/\W+/g, '-'), 'established');
    const t0 = performance.now();
    const { lines, bytes } = c.bytes ? generate(dir, c) : { lines: 0, bytes: 0 };
    // Flushed before timing, as an old history would be (else fsyncs at open wait for it).
    execFileSync('sync');
    if (c.bytes)
      process.stderr.write(`generated ${c.name}: ${(bytes / MB).toFixed(0)} MiB, ${lines} lines in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    let idsInWindow = 0;
    const times: number[] = [];
    for (let i = -1; i < OPENS; i++) {
      if (cold) dropCaches();
      const s0 = performance.now();
      const s = await FileConnectionStream.open(dir, { now: () => NOW, dedupeWindowMs: WINDOW });
      const ms = performance.now() - s0;
      idsInWindow = s.size;
      await s.close();
      if (i >= 0) times.push(ms); // the first open (it may create the directory) is a warm-up
    }
    results.push({
      case: c.name,
      segments: c.days,
      bytes,
      lines,
      idsInWindow,
      openMs: { median: +quantile(times, 0.5).toFixed(3), min: +Math.min(...times).toFixed(3), max: +Math.max(...times).toFixed(3) },
    });
    rmSync(join(root, c.name.replace(/\W+/g, '-')), { recursive: true, force: true });
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}

const pad = (s: string | number, n: number) => String(s).padStart(n);
console.log(
  `FileConnectionStream.open(), ${OPENS} opens per case${cold ? ', page cache dropped before each' : ', warm page cache'}; window ${WINDOW / 60_000} min\n`,
);
console.log(
  `${'history'.padEnd(22)}${pad('segments', 9)}${pad('MiB', 8)}${pad('lines', 11)}${pad('ids kept', 9)}${pad('median ms', 11)}${pad('min ms', 9)}${pad('max ms', 9)}`,
);
for (const r of results) {
  console.log(
    `${r.case.padEnd(22)}${pad(r.segments, 9)}${pad((r.bytes / MB).toFixed(1), 8)}${pad(r.lines, 11)}${pad(r.idsInWindow, 9)}${pad(r.openMs.median.toFixed(2), 11)}${pad(r.openMs.min.toFixed(2), 9)}${pad(r.openMs.max.toFixed(2), 9)}`,
  );
}
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify(
    {
      meta: {
        at: new Date().toISOString(),
        node: process.version,
        cpu: cpus()[0]?.model ?? 'unknown',
        quick,
        cold,
        opens: OPENS,
        dir: parent,
        dedupeWindowMs: WINDOW,
        clock: new Date(NOW).toISOString(),
      },
      results,
    },
    null,
    2,
  ) + '\n',
);
console.log(`\nwrote ${out}`);
