// Rough figures for one processor (not the load harness): citizen `loc` → `nearest` round trip
// p50/p99 over real websockets, and officer updates/s the node handles on one core.
//
//   npx tsx scripts/processor-rtt.ts [officers=1000] [citizens=2000] [seconds=8]
//
// The processor runs in a child process pinned to CPU 0 (taskset when available); this process
// drives it from the other core with `ws` clients. Phase 1: every citizen keeps one `loc` in
// flight (closed loop) → RTT percentiles and locs/s. Phase 2: officers send moves as fast as the
// node takes them (citizens connected, so re-pushes happen) → officer updates/s from /metrics.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { ticketSigner } from '../src/auth/index.js';
import { loadConfig } from '../src/config.js';
import { MemoryBus } from '../src/adapters/memory/index.js';
import { createLogger } from '../src/log.js';
import { startProcessor } from '../src/processor/index.js';
import { mulberry32 } from '../load-tests/prng.js';

const NODE = 'rtt';
/** The node serves /metrics on its port to this bearer only. */
const METRICS_TOKEN = 'processor-rtt-metrics-token';

if (process.argv[2] === 'serve') {
  const secret = Buffer.from(process.argv[3], 'hex');
  const p = await startProcessor({
    // Citizens are placed anywhere in the box at once: the area and speed rules are off.
    config: {
      ...loadConfig({}),
      HOST: '127.0.0.1',
      PROCESSOR_PORT: 0,
      MSG_RATE_PER_S: 10_000,
      MSG_BURST: 100_000,
      IDLE_TIMEOUT_S: 960,
      CITIZEN_AREA_M: 0,
      MAX_SPEED_KMH: 0,
      METRICS_TOKEN,
      METRICS_PORT: undefined,
    },
    nodeId: NODE,
    ticketSecret: secret,
    bus: new MemoryBus(),
    logger: createLogger('warn', 'rtt'),
  });
  process.stdout.write(JSON.stringify({ url: p.url, port: p.port, epoch: p.epoch }) + '\n');
  process.on('SIGTERM', () => void p.close().then(() => process.exit(0)));
} else {
  await drive();
}

async function drive(): Promise<void> {
  const [officersN = 1000, citizensN = 2000, seconds = 8] = process.argv.slice(2).map(Number);
  const secret = randomBytes(32);
  const pin = spawnSync('taskset', ['--version']).status === 0;
  const args = ['--import', 'tsx', new URL(import.meta.url).pathname, 'serve', secret.toString('hex')];
  const child = pin
    ? spawn('taskset', ['-c', '0', process.execPath, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const { url, port, epoch } = await new Promise<{ url: string; port: number; epoch: number }>((resolve) =>
    child.stdout!.once('data', (d: Buffer) => resolve(JSON.parse(d.toString()))),
  );
  const sign = ticketSigner(secret);
  const rnd = mulberry32(7);
  const box = () => ({ lat: 40.7 + rnd() * 0.2, lng: -74.05 + rnd() * 0.25 });
  const open = (role: 'officer' | 'citizen', sub: string) =>
    new Promise<WebSocket>((resolve, reject) => {
      const now = Date.now();
      const t = sign({
        sub,
        acct: 'a',
        role,
        node: NODE,
        epoch,
        zip: '10001',
        profile: { name: sub },
        iat: now,
        exp: now + 60_000,
        tokenExp: now + 3_600_000,
        lat: 40.8,
        lng: -73.9,
        jti: `${sub}-${now}`,
      });
      const ws = new WebSocket(`${url}?ticket=${t}`);
      ws.once('message', () => resolve(ws)); // hello
      ws.once('error', reject);
    });
  const metric = async (name: string) => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    return Number(
      text
        .split('\n')
        .find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'))
        ?.split(' ')[1] ?? 0,
    );
  };

  const officers: WebSocket[] = [];
  for (let i = 0; i < officersN; i++) {
    const ws = await open('officer', `o${i}`);
    ws.send(JSON.stringify({ t: 'loc', ...box() }));
    officers.push(ws);
  }
  const citizens: WebSocket[] = [];
  for (let i = 0; i < citizensN; i++) citizens.push(await open('citizen', `c${i}`));
  console.log(`connected ${officersN} officers, ${citizensN} citizens; processor pinned to cpu0: ${pin}`);

  // Phase 1: closed-loop citizen locs.
  const rtts: number[] = [];
  let running = true;
  const sentAt = new Float64Array(citizensN);
  citizens.forEach((ws, i) => {
    const next = () => {
      if (!running) return;
      sentAt[i] = performance.now();
      ws.send(JSON.stringify({ t: 'loc', ...box() }));
    };
    ws.on('message', (d: Buffer) => {
      // Only replies to our loc count; pushes caused by officers are not round trips.
      if (sentAt[i] === 0 || !d.toString().startsWith('{"t":"nearest"')) return;
      rtts.push(performance.now() - sentAt[i]);
      sentAt[i] = 0;
      next();
    });
    next();
  });
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  running = false;
  const el = (performance.now() - t0) / 1000;
  rtts.sort((a, b) => a - b);
  const pct = (p: number) => rtts[Math.min(rtts.length - 1, Math.floor(rtts.length * p))].toFixed(2);
  console.log(
    `phase 1: ${Math.round(rtts.length / el)} citizen loc→nearest/s, RTT p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms, max ${rtts[rtts.length - 1].toFixed(1)} ms (n=${rtts.length})`,
  );
  await new Promise((r) => setTimeout(r, 500));

  // Phase 2: officers move as fast as the node accepts (bounded in-flight via sync pings).
  const in0 = await metric('beacon_processor_messages_in_total{type="loc"}');
  const push0 = await metric('beacon_processor_messages_out_total{type="nearest"}');
  running = true;
  const t1 = performance.now();
  await Promise.all(
    officers.map(async (ws) => {
      while (running) {
        for (let k = 0; k < 20; k++) ws.send(JSON.stringify({ t: 'loc', ...box() }));
        await new Promise<void>((r) => {
          ws.once('message', () => r());
          ws.send('{"t":"ping"}');
        });
        if (performance.now() - t1 > seconds * 1000) running = false;
      }
    }),
  );
  const el2 = (performance.now() - t1) / 1000;
  const in1 = await metric('beacon_processor_messages_in_total{type="loc"}');
  const push1 = await metric('beacon_processor_messages_out_total{type="nearest"}');
  console.log(`phase 2: ${Math.round((in1 - in0) / el2)} officer updates/s handled, ${Math.round((push1 - push0) / el2)} re-pushes/s`);
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  console.log(
    text
      .split('\n')
      .filter((l) => l.startsWith('beacon_processor_push_latency_seconds_bucket') || l.startsWith('beacon_processor_push_latency_seconds_count'))
      .join('\n'),
  );

  for (const ws of [...officers, ...citizens]) ws.terminate();
  child.kill('SIGTERM');
}
