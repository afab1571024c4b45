// npm run bench:orchestrator [-- --seconds 10 --connections 50 --tokens 1000 --rounds 3 --quick --prof --out path]
//
// Socket assignments/s on the orchestrator (SPEC §5: ≥ 15,000/s, p99 ≤ 10 ms; issue #12: ≥ 0.6 ×
// bare fastify in the same run). The benchmark itself is load-tests/assign-bench.ts, the same code
// the load harness's "assignments" step runs, against the one bare peer
// (load-tests/baselines/fastify-constant.ts). This file repeats it over rounds, alternating which
// server goes first, and prints and stores the table. Both servers are children of the load
// harness (load-tests/server-child.ts): Beacon in embedded mode as `npm start` runs it
// (LOG_LEVEL=warn, ASSIGNMENTS_PER_MINUTE raised so every answer is a full assignment: the limiter
// still runs on each), so neither shares an event loop or a core's accounting with autocannon.
//
// `--prof` starts both children with --cpu-prof (profiles in bench/results/prof/).
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assignRequests, bodyBytes, compareWithBare, type Comparison, type CannonResult } from '../load-tests/assign-bench.js';
import { startChild, type Child } from '../load-tests/children.js';
import { checked, intOption, parseOptions } from '../load-tests/options.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const USAGE = 'npm run bench:orchestrator [-- --seconds 10 --connections 50 --tokens 1000 --rounds 3 --quick --prof --out path]';
const args = parseOptions(
  process.argv.slice(2),
  {
    seconds: { type: 'string' },
    connections: { type: 'string' },
    tokens: { type: 'string' },
    rounds: { type: 'string' },
    quick: { type: 'boolean' },
    prof: { type: 'boolean' },
    out: { type: 'string' },
  },
  USAGE,
);

const load = () => loadavg().map((x) => Math.round(x * 100) / 100);

async function main(): Promise<void> {
  const quick = args.quick === true;
  const [seconds, connections, tokens, rounds] = checked(USAGE, () => [
    intOption('seconds', args.seconds, quick ? 4 : 10, 1, 600),
    intOption('connections', args.connections, 50, 1, 10_000),
    intOption('tokens', args.tokens, 1000, 1, 1_000_000),
    intOption('rounds', args.rounds, quick ? 1 : 3, 1, 100),
  ]);
  const out = resolve(args.out ?? join(HERE, 'results/orchestrator.json'));
  const prof = args.prof ? join(HERE, 'results/prof') : null;
  const profArgs = (kind: string): string[] => (prof ? ['--cpu-prof', '--cpu-prof-dir', join(prof, kind)] : []);

  console.log(
    `bench:orchestrator — autocannon ${seconds} s × ${connections} connections, ${tokens} citizen tokens, ${rounds} round(s)${quick ? ' (quick)' : ''}`,
  );
  // The figures mean little on a busy machine: the load average is printed and stored with them.
  const load0 = load();
  console.log(`node ${process.version}, ${cpus().length}× ${cpus()[0]?.model ?? 'cpu'}; each server one process of its own; load average ${load0.join(' ')}\n`);

  const secret = randomBytes(32).toString('base64url');
  const children: Child[] = [];
  const rows: (Comparison & { round: number })[] = [];
  let bytes: { beacon: number; bare: number };
  try {
    const beacon = await startChild('beacon', { JWT_SECRET: secret, ASSIGNMENTS_PER_MINUTE: '100000', LOG_LEVEL: 'warn' }, 60_000, profArgs('beacon'));
    children.push(beacon);
    const bare = await startChild('fastify', {}, 60_000, profArgs('bare'));
    children.push(bare);
    const requests = await assignRequests(new TextEncoder().encode(secret), 'bench-', 1, tokens);
    bytes = { beacon: await bodyBytes(beacon, requests[0]), bare: await bodyBytes(bare, requests[0]) };
    // Warm-up: JIT, the verified-token cache, the zip tree (built on first use).
    process.stdout.write('warm-up …');
    await compareWithBare(beacon, bare, requests, { seconds: 3, connections });
    console.log(' done');
    for (let r = 1; r <= rounds; r++) {
      process.stdout.write(`round ${r} …`);
      rows.push({ round: r, ...(await compareWithBare(beacon, bare, requests, { seconds, connections, bareFirst: r % 2 === 1 })) });
      console.log(' done');
    }
  } finally {
    for (const c of children) await c.stop();
  }

  const line = (name: string, x: CannonResult, ratio: string, perCore: string) =>
    `${name.padEnd(20)}${String(x.perSec).padStart(9)}${x.p50.toFixed(1).padStart(8)}${x.p99.toFixed(1).padStart(8)}${x.max.toFixed(0).padStart(7)}${(x.cpuUsPerReq?.toFixed(1) ?? '-').padStart(11)}${String(x.non2xx + x.errors + x.timeouts).padStart(6)}${ratio.padStart(8)}${perCore.padStart(10)}`;
  console.log(`\nanswer bytes: beacon ${bytes.beacon}, bare ${bytes.bare}`);
  console.log(
    `${'run'.padEnd(20)}${'req/s'.padStart(9)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}${'max'.padStart(7)}${'cpu µs/req'.padStart(11)}${'bad'.padStart(6)}${'× bare'.padStart(8)}${'per core'.padStart(10)}`,
  );
  for (const row of rows) {
    console.log(line(`#${row.round} bare fastify`, row.bare, '—', '—'));
    console.log(line(`#${row.round} beacon`, row.beacon, row.ratio.toFixed(2), row.perCoreRatio?.toFixed(2) ?? '-'));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const least = (xs: (number | null)[]) => (xs.every((x) => x !== null) ? Math.min(...(xs as number[])) : null);
  const bad = rows.reduce((a, r) => a + r.beacon.non2xx + r.beacon.errors + r.beacon.timeouts, 0);
  const summary = {
    perSec: median(rows.map((r) => r.beacon.perSec)),
    p99: Math.max(...rows.map((r) => r.beacon.p99)),
    ratio: median(rows.map((r) => r.ratio)),
    worstRatio: Math.min(...rows.map((r) => r.ratio)),
    perCoreRatio: rows.every((r) => r.perCoreRatio !== null) ? median(rows.map((r) => r.perCoreRatio as number)) : null,
    cpuUsPerAssignment: rows.every((r) => r.beacon.cpuUsPerReq !== null) ? median(rows.map((r) => r.beacon.cpuUsPerReq as number)) : null,
    // Another process on the machine only ever adds CPU time to a request (caches, migrations), so
    // the least of the rounds is the least disturbed estimate of each server's own cost.
    leastCpuUsPerReq: { beacon: least(rows.map((r) => r.beacon.cpuUsPerReq)), bare: least(rows.map((r) => r.bare.cpuUsPerReq)) },
    bad,
  };
  const pass = summary.perSec >= 15_000 && summary.p99 <= 10 && summary.ratio >= 0.6 && bad === 0;
  console.log(`\ntargets: ≥ 15,000/s, p99 ≤ 10 ms (SPEC §5), ≥ 0.6× bare fastify (issue #12), no errors — median of ${rows.length} round(s):`);
  console.log(
    `  load average at the end ${load().join(' ')}\n  beacon ${summary.perSec}/s, p99 (worst) ${summary.p99} ms, ${summary.ratio}× bare (worst ${summary.worstRatio}), per core ${summary.perCoreRatio ?? '-'}× bare, ` +
      `${summary.cpuUsPerAssignment ?? '-'} CPU µs per assignment, ${bad} bad → ${pass ? 'PASS' : 'MISS'}`,
  );
  const l = summary.leastCpuUsPerReq;
  if (l.beacon !== null && l.bare !== null) {
    console.log(`  least CPU µs per request over the rounds: beacon ${l.beacon}, bare ${l.bare} → per core ${(l.bare / l.beacon).toFixed(2)}× bare`);
  }
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, loadavg: { start: load0, end: load() }, seconds, connections, tokens, rounds, bytes, rows, summary }, null, 2)}\n`,
  );
  console.log(`\nwrote ${out}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
