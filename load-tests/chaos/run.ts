// `npm run chaos [-- --quick]`: a small distributed Beacon (redis-server, 2 orchestrators,
// 3 processors, each its own OS process) under steady device load through src/client, with a
// processor kill -9, a processor SIGSTOP, a Redis restart and an orchestrator kill -9 injected one
// after another. Then it drains and checks that nothing acknowledged was lost or duplicated, that
// every device is served again, and that every citizen's nearest is exact. Writes
// load-tests/results/chaos.json; exits 1 on any finding, 2 on bad arguments.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOptions } from '../options.js';
import { mintToken } from '../tokens.js';
import { checkExact, checkStream } from './check.js';
import { faults } from './faults.js';
import { Fleet } from './fleet.js';
import { killAll, restartNotes, SECRETS, sleep, startNode, startRedis, type BeaconNode } from './procs.js';
import { printTable, type ChaosResult } from './report.js';

const RESULTS = fileURLToPath(new URL('../results/chaos.json', import.meta.url));

interface Plan {
  out: string;
  officers: number;
  citizens: number;
  warmMs: number;
  settleMs: number;
  recoverTimeoutMs: number;
  stopMs: number;
}

function plan(argv: string[]): Plan {
  const v = parseOptions(argv, { quick: { type: 'boolean' }, out: { type: 'string' } }, 'npm run chaos [-- --quick] [--out results.json]');
  const out = v.out ?? RESULTS;
  return v.quick
    ? { out, officers: 8, citizens: 16, warmMs: 4000, settleMs: 3000, recoverTimeoutMs: 30_000, stopMs: 10_000 }
    : { out, officers: 40, citizens: 120, warmMs: 15_000, settleMs: 15_000, recoverTimeoutMs: 60_000, stopMs: 10_000 };
}

const t0 = Date.now();
const sinceStart = (t = Date.now()): number => Math.round((t - t0) / 100) / 10;
const log = (msg: string): void => void process.stderr.write(`[chaos ${sinceStart().toFixed(1)}s] ${msg}\n`);

async function waitFor(check: () => boolean, timeoutMs: number, everyMs = 250): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}

async function main(): Promise<number> {
  const p = plan(process.argv.slice(2));
  const redis = await startRedis();
  log(`redis-server on ${redis.port} (AOF, appendfsync always)`);
  const env = { REDIS_URL: redis.url };
  const [orchestrators, processors] = await Promise.all([
    Promise.all([1, 2].map((i) => startNode('orchestrator', `o${i}`, env))),
    Promise.all([1, 2, 3].map((i) => startNode('processor', `p${i}`, { ...env, NODE_ID: `chaos-p${i}` }))),
  ]);
  const streamKey = orchestrators[0].streamKey;
  if (!streamKey) throw new Error('the orchestrator did not print its stream key');
  log(`orchestrators ${orchestrators.map((o) => o.url).join(' ')}; processors ${processors.map((n) => n.nodeId).join(' ')}`);

  const urls = orchestrators.map((o) => o.url);
  const fleet = new Fleet(urls, 1);
  await fleet.connectAll(p.officers, p.citizens);
  log(`${fleet.devices.length} devices connected`);
  fleet.start();
  await sleep(p.warmMs);

  const results: ChaosResult['faults'] = [];
  for (const f of faults(redis, orchestrators, processors, p.stopMs)) {
    const at = Date.now();
    log(`inject: ${f.kind}`);
    await f.inject();
    const over = Date.now();
    log(`${f.kind}: fault over after ${((over - at) / 1000).toFixed(1)} s; waiting until every device is served again`);
    const ok = await waitFor(() => fleet.unservedSince(over).length === 0, p.recoverTimeoutMs);
    const recoveredS = ok ? Math.round((Date.now() - at) / 100) / 10 : null;
    const left = fleet.unservedSince(over);
    log(
      `${f.kind}: ${
        ok
          ? `every device served again ${recoveredS} s after the fault`
          : `NOT recovered: ${left.length} devices unserved (${left
              .slice(0, 5)
              .map((d) => `${d.id}:${d.client.state}`)
              .join(' ')})`
      }`,
    );
    results.push({ kind: f.kind, atS: sinceStart(at), recoveredS });
    await sleep(p.settleMs);
  }

  log('drain: load stopped, waiting for quiescence');
  fleet.stopLoad();
  const drainAt = Date.now();
  await sleep(2000); // answers in flight reach both parties
  const servedAtEnd = await waitFor(() => fleet.unservedSince(drainAt).length === 0, 15_000);
  let exact = checkExact(fleet.devices);
  await waitFor(() => (exact = checkExact(fleet.devices)).exact, 15_000, 500);

  const live = orchestrators.filter((o) => o !== orchestrators[1]);
  const secret = new TextEncoder().encode(SECRETS.JWT_SECRET);
  const stream = await checkStream(
    redis,
    streamKey,
    fleet.ledger,
    (id) => mintToken(secret, 'citizen', id),
    () => live[0].url,
  );
  fleet.closeAll();

  const recovered = results.map((r) => r.recoveredS).filter((s): s is number => s !== null);
  const result: ChaosResult = {
    faults: results,
    established: { acknowledged: stream.acknowledged, inStream: stream.inStream, lost: stream.lost, duplicated: stream.duplicated },
    devices: { total: fleet.devices.length, reservedAfterS: recovered.length === results.length ? Math.max(...recovered) : null, servedAtEnd },
    exactAtEnd: exact.exact,
    detail: {
      requested: fleet.ledger.requested,
      requestErrors: fleet.ledger.requestErrors,
      connFrames: fleet.ledger.statuses,
      unannouncedAccepted: stream.unannouncedAccepted,
      unexplained: stream.unexplained,
      mismatched: stream.mismatched,
      lostIds: stream.lostIds.slice(0, 20),
      duplicatedIds: stream.duplicatedIds.slice(0, 20),
      unexplainedIds: stream.unexplainedIds.slice(0, 20),
      wrongNearest: exact.wrong.slice(0, 20),
      restartNotes,
      durationS: sinceStart(),
    },
  };
  mkdirSync(dirname(p.out), { recursive: true });
  writeFileSync(p.out, JSON.stringify(result, null, 2) + '\n');
  printTable(result);
  process.stdout.write(`wrote ${p.out}\n`);
  const failed =
    stream.lost > 0 ||
    stream.duplicated > 0 ||
    stream.unexplained > 0 ||
    stream.mismatched > 0 ||
    !exact.exact ||
    !servedAtEnd ||
    results.some((r) => r.recoveredS === null);
  void (orchestrators satisfies BeaconNode[]);
  return failed ? 1 : 0;
}

process.once('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    killAll();
    process.exit(130);
  });
}

main().then(
  (code) => {
    killAll();
    process.exit(code);
  },
  (err) => {
    process.stderr.write(`chaos run failed: ${(err as Error).stack ?? err}\n`);
    killAll();
    process.exit(1);
  },
);
