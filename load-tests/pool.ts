// Runs one set of generator workers through its phases (connect → warmup → steady → capacity, or connect →
// hold), merges their interval stats per phase and per second, and prints the live progress line.
// Every wait is bounded in time and an AbortSignal (Ctrl-C) cuts any of them short.
// Workers are threads of this process (one officer ring shared by all), or with `processes` child
// processes (worker-proc.ts), each under its own open-file limit: what >~19k sockets need. Each
// process then has its own ring, so officer move → re-push is sampled from the pushes of officers
// driven by the citizen's own process (about 1/processes of them, spread evenly over the city).
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { track } from './fleet/procs.js';
import { sampleProc } from './system.js';
import type { ProcessInitMessage } from './worker-proc.js';
import { newHistogram, decodeInto, summarize, type Histogram } from './hist.js';
import { emptyCounters, type Counters, type FromWorker, type HistName, type Phase, type ToWorker, type WorkerInit, type WorkerMode } from './messages.js';
import { OfficerRing } from './ring.js';
import type { ServerSampler } from './system.js';

export interface PhaseAgg {
  counters: Counters;
  hists: Record<HistName, Histogram>;
  seconds: number;
  eluMax: number;
  errCodes: Record<string, number>;
  serverCpu: number[];
  serverRssMax: number;
  genCpuCores: number;
}

export interface TimelinePoint {
  t: number;
  run: string;
  phase: Phase;
  connected: number;
  locPerSec: number;
  answersPerSec: number;
  pushesPerSec: number;
  framesInPerSec: number;
  framesOutPerSec: number;
  locP50: number | null;
  locP99: number | null;
  moveP99: number | null;
  serverCpu: number | null;
  serverRssMB: number | null;
  genCpu: number;
}

export interface PoolOptions {
  run: string;
  /** Run each worker as a child process instead of a thread. */
  processes?: boolean;
  mode: WorkerMode;
  target: string;
  officers: number;
  citizens: number;
  workers: number;
  seed: number;
  encoding: WorkerInit['encoding'];
  citizenMeanIntervalMs?: number;
  officerMeanIntervalMs?: number;
  secret: Uint8Array;
  idPrefix: string;
  sourceAddresses: string[];
  connectConcurrency: number;
  heartbeatMs: number;
  capacityGapMs: number;
  lean: boolean;
  area: WorkerInit['area'];
  phases: { phase: Phase; seconds: number }[];
  connectTimeoutMs: number;
  sampler?: ServerSampler;
  /** Awaited at each phase boundary while the sockets are open (`next` undefined: the last phase ended, before the stop). */
  onPhase?: (ended: Phase, next: Phase | undefined) => Promise<void>;
  signal: AbortSignal;
  timeline: TimelinePoint[];
  t0: number;
  progress: boolean;
  log: (line: string) => void;
}

export interface PoolResult {
  phases: Partial<Record<Phase, PhaseAgg>>;
  connected: number;
  connectFailed: number;
  connectSeconds: number;
  /** Every worker finished its connects (else `connected` counts only those that did: see `openAtEnd`). */
  allReported: boolean;
  /** Sockets open when the last phase ended (or the run was cut short), all workers together. */
  openAtEnd: number;
}

const newAgg = (): PhaseAgg => ({
  counters: emptyCounters(),
  hists: { assign: newHistogram(), connect: newHistogram(), loc: newHistogram(), move: newHistogram() },
  seconds: 0,
  eluMax: 0,
  errCodes: {},
  serverCpu: [],
  serverRssMax: 0,
  genCpuCores: 0,
});

function addCounters(into: Counters, c: Counters): void {
  for (const k of Object.keys(c) as (keyof Counters)[]) into[k] += c[k];
}

function split(total: number, parts: number, i: number): [number, number] {
  return [Math.floor((total * i) / parts), Math.floor((total * (i + 1)) / parts)];
}

/** Resolves after `ms` or on abort, whichever first. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export async function runPool(o: PoolOptions): Promise<PoolResult> {
  const { ring, ringSeq } = OfficerRing.allocate(o.officers);
  const nWorkers = Math.max(1, Math.min(o.workers, o.officers + o.citizens));
  const aggs: Partial<Record<Phase, PhaseAgg>> = { connect: newAgg() };
  let phase: Phase = 'connect';
  let connectedNow = 0;
  let connectedOk = 0;
  let connectFailed = 0;
  let connectedWorkers = 0;
  let readyWorkers = 0;
  let stoppedWorkers = 0;
  let fatal: string | undefined;
  // Per-second accumulator for the timeline.
  let sec = { counters: emptyCounters(), loc: newHistogram(), move: newHistogram() };

  const workers: Worker[] = [];
  const children: ChildProcess[] = [];
  for (let i = 0; i < nWorkers; i++) {
    const init: WorkerInit = {
      workerId: i,
      mode: o.mode,
      target: o.target,
      encoding: o.encoding,
      seed: o.seed,
      officers: split(o.officers, nWorkers, i),
      citizens: split(o.citizens, nWorkers, i),
      citizenMeanIntervalMs: o.citizenMeanIntervalMs,
      officerMeanIntervalMs: o.officerMeanIntervalMs,
      secret: o.secret,
      idPrefix: o.idPrefix,
      ring,
      ringSeq,
      sourceAddresses: o.sourceAddresses,
      connectConcurrency: o.connectConcurrency,
      heartbeatMs: o.heartbeatMs,
      capacityGapMs: o.capacityGapMs,
      lean: o.lean,
      area: o.area,
      officersTotal: o.officers,
    };
    const w = o.processes ? startProcess(init, o.officers) : startThread(init);
    w.on('message', (m: FromWorker) => {
      if (m.type === 'stats') {
        const agg = (aggs[m.phase] ??= newAgg());
        addCounters(agg.counters, m.counters);
        addCounters(sec.counters, m.counters);
        connectedNow += m.counters.connected - m.counters.disconnected;
        agg.eluMax = Math.max(agg.eluMax, m.elu);
        for (const [k, v] of Object.entries(m.errCodes)) agg.errCodes[k] = (agg.errCodes[k] ?? 0) + v;
        for (const [k, b64] of Object.entries(m.hists) as [HistName, string][]) {
          decodeInto(agg.hists[k], b64);
          if (k === 'loc') decodeInto(sec.loc, b64);
          if (k === 'move') decodeInto(sec.move, b64);
        }
      } else if (m.type === 'ready') readyWorkers++;
      else if (m.type === 'connected') {
        connectedWorkers++;
        connectedOk += m.ok;
        connectFailed += m.failed;
      } else if (m.type === 'stopped') stoppedWorkers++;
      else if (m.type === 'fatal') fatal = m.message;
    });
    w.on('error', (err: Error) => (fatal = String(err?.stack ?? err)));
    if (w instanceof Worker) workers.push(w);
    else {
      w.once('exit', (code, sig) => {
        if (stoppedWorkers < nWorkers && !fatal) fatal = `generator process ${i} exited (${code ?? sig}) before it stopped`;
      });
      children.push(w);
    }
  }
  const broadcast = (m: ToWorker): void => {
    workers.forEach((w) => w.postMessage(m));
    children.forEach((c) => c.connected && c.send(m));
  };
  /** CPU seconds of the generator: this process (all threads) and its generator processes. */
  const genCpuS = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6 + children.reduce((a, c) => a + (sampleProc(c.pid ?? -1)?.cpuS ?? 0), 0);
  };

  // Once a second: server sample, timeline point, progress line.
  let phaseStart = performance.now();
  let cpuMark = { cpuS: genCpuS(), at: performance.now() };
  const ticker = setInterval(async () => {
    const s = await o.sampler?.sample().catch(() => undefined);
    const cpuNow = genCpuS();
    const at = performance.now();
    const genCpu = ((cpuNow - cpuMark.cpuS) * 1000) / (at - cpuMark.at);
    cpuMark = { cpuS: cpuNow, at };
    const agg = aggs[phase];
    if (agg && s) {
      if (Number.isFinite(s.cpuCores)) agg.serverCpu.push(s.cpuCores);
      agg.serverRssMax = Math.max(agg.serverRssMax, s.rssBytes || 0);
    }
    const ls = summarize(sec.loc);
    const ms = summarize(sec.move);
    const c = sec.counters;
    const p: TimelinePoint = {
      t: Math.round((at - o.t0) / 100) / 10,
      run: o.run,
      phase,
      connected: connectedNow,
      locPerSec: c.locSent,
      answersPerSec: c.answers,
      pushesPerSec: c.pushes,
      framesInPerSec: c.framesIn,
      framesOutPerSec: c.framesOut,
      locP50: ls.count ? ls.p50 : null,
      locP99: ls.count ? ls.p99 : null,
      moveP99: ms.count ? ms.p99 : null,
      serverCpu: s && Number.isFinite(s.cpuCores) ? Math.round(s.cpuCores * 100) / 100 : null,
      serverRssMB: s ? Math.round(s.rssBytes / 1048576) : null,
      genCpu: Math.round(genCpu * 100) / 100,
    };
    o.timeline.push(p);
    sec.loc.destroy();
    sec.move.destroy();
    sec = { counters: emptyCounters(), loc: newHistogram(), move: newHistogram() };
    if (o.progress) {
      const el = Math.round((at - phaseStart) / 1000);
      const errs = c.errFrames + c.assignFailures + c.connectFailures + c.drops;
      const line =
        `[${o.run} ${phase} ${el}s] sockets ${p.connected}/${o.officers + o.citizens}  loc/s ${p.locPerSec}  ans/s ${p.answersPerSec}  push/s ${p.pushesPerSec}` +
        `  loc p99 ${p.locP99 ?? '-'}ms  move p99 ${p.moveP99 ?? '-'}ms  errs ${errs}  srv cpu ${p.serverCpu ?? '-'} rss ${p.serverRssMB ?? '-'}MB  gen cpu ${p.genCpu}`;
      if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${line}`);
      else o.log(line);
    }
  }, 1000);

  const waitUntil = async (cond: () => boolean, ms: number): Promise<boolean> => {
    const end = performance.now() + ms;
    while (!cond() && !fatal && !o.signal.aborted && performance.now() < end) await sleep(25, o.signal);
    return cond();
  };

  const closePhase = (): void => {
    const agg = aggs[phase];
    if (!agg) return;
    agg.seconds = (performance.now() - phaseStart) / 1000;
    agg.genCpuCores = ((genCpuS() - phaseCpu.cpuS) * 1000) / (performance.now() - phaseCpu.at);
  };
  let phaseCpu = { cpuS: genCpuS(), at: performance.now() };

  let connectSeconds: number;
  let openAtEnd: number;
  try {
    // The connect clock starts when every thread has loaded its code (tsx compiles it on start,
    // seconds on a busy machine), so connectSeconds and the connect phase's CPU are the storm's.
    await waitUntil(() => readyWorkers === nWorkers, 120_000);
    if (fatal) throw new Error(`generator worker failed: ${fatal}`);
    if (readyWorkers < nWorkers && !o.signal.aborted) throw new Error(`generator workers not ready after 120 s (${readyWorkers}/${nWorkers})`);
    aggs.connect = newAgg();
    phaseStart = performance.now();
    phaseCpu = { cpuS: genCpuS(), at: phaseStart };
    broadcast({ type: 'connect' });
    const ok = await waitUntil(() => connectedWorkers === nWorkers, o.connectTimeoutMs);
    connectSeconds = (performance.now() - phaseStart) / 1000;
    if (fatal) throw new Error(`generator worker failed: ${fatal}`);
    if (!ok && !o.signal.aborted)
      o.log(`\nconnect phase cut at ${Math.round(o.connectTimeoutMs / 1000)} s: ${connectedOk} sockets up, still connecting the rest`);
    await sleep(1000, o.signal); // let the officers' first positions settle into the index
    for (const step of o.phases) {
      if (o.signal.aborted) break;
      closePhase(); // workers flush their stats on the switch, so every sample lands in one phase
      await o.onPhase?.(phase, step.phase);
      phase = step.phase;
      aggs[phase] ??= newAgg();
      phaseStart = performance.now();
      phaseCpu = { cpuS: genCpuS(), at: performance.now() };
      broadcast({ type: 'phase', phase });
      await sleep(step.seconds * 1000, o.signal);
      if (fatal) throw new Error(`generator worker failed: ${fatal}`);
    }
  } finally {
    openAtEnd = connectedNow;
    // Also after a Ctrl-C: what the deployment holds at that moment is worth reporting (bounded scrapes).
    await o.onPhase?.(phase, undefined).catch((err) => o.log(`phase hook failed: ${(err as Error).message}`));
    closePhase();
    broadcast({ type: 'stop' });
    await waitUntil(() => stoppedWorkers === nWorkers || !!fatal, 10_000).catch(() => false);
    // After an abort the wait above returns at once; still give workers a moment to flush.
    if (o.signal.aborted) {
      const end = performance.now() + 5000;
      while (stoppedWorkers < nWorkers && performance.now() < end) await new Promise((r) => setTimeout(r, 25));
    }
    clearInterval(ticker);
    if (o.progress && process.stderr.isTTY) process.stderr.write('\n');
    await Promise.all([...workers.map((w) => w.terminate()), ...children.map(endProcess)]);
  }
  return { phases: aggs, connected: connectedOk, connectFailed, connectSeconds, allReported: connectedWorkers === nWorkers, openAtEnd };
}

function startThread(init: WorkerInit): Worker {
  // worker-boot.mjs registers tsx in the new thread (its loader is not inherited), then loads worker.ts.
  // LOAD_WORKER_PROF=<dir> writes a V8 CPU profile per worker (to see what bounds the generator).
  const prof = process.env.LOAD_WORKER_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.LOAD_WORKER_PROF}`] : [];
  return new Worker(new URL('./worker-boot.mjs', import.meta.url), { workerData: init, execArgv: prof });
}

function startProcess(init: WorkerInit, officersTotal: number): ChildProcess {
  const prof = process.env.LOAD_WORKER_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.LOAD_WORKER_PROF}`] : [];
  // 'advanced': the token secret is a Uint8Array. The ring is not sent (it cannot cross processes).
  const p = track(
    fork(fileURLToPath(new URL('./worker-proc.ts', import.meta.url)), [], {
      execArgv: ['--import', 'tsx', ...prof],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  const { ring: _r, ringSeq: _s, ...rest } = init;
  const m: ProcessInitMessage = { type: 'init', init: rest, officersTotal };
  p.send(m);
  return p;
}

/** Waits (≤ 5 s) for a generator process to exit after its stop, then kills it. */
function endProcess(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    if (p.connected) p.disconnect();
  });
}
