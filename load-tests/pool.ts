// Runs one set of generator workers through its phases (connect → warmup → steady → capacity, or connect →
// hold), merges their interval stats per phase and per second, and prints the live progress line.
// Every wait is bounded in time and an AbortSignal (Ctrl-C) cuts any of them short.
// Workers are threads of this process (one officer ring shared by all), or with `processes` child
// processes (worker-proc.ts), each under its own open-file limit: what >~19k sockets need. Each
// process then has its own ring, so officer move → re-push is sampled from the pushes of officers
// driven by the citizen's own process (about 1/processes of them, spread evenly over the city).
import type { ChildProcess } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { endProcess, startProcess, startThread } from './generator-procs.js';
import { sampleProc } from './system.js';
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

/** What the pool knows while it runs: fed by the workers' messages, read by the ticker and the phases. */
interface PoolState {
  aggs: Partial<Record<Phase, PhaseAgg>>;
  phase: Phase;
  phaseStart: number;
  connectedNow: number;
  connectedOk: number;
  connectFailed: number;
  connectedWorkers: number;
  readyWorkers: number;
  stoppedWorkers: number;
  fatal: string | undefined;
  /** Per-second accumulator for the timeline. */
  sec: { counters: Counters; loc: Histogram; move: Histogram };
}

/** The generator's workers (threads, or processes with `processes`), their messages folded into `st`. */
interface Generators {
  nWorkers: number;
  broadcast(m: ToWorker): void;
  /** CPU seconds of the generator: this process (all threads) and its generator processes. */
  cpuS(): number;
  end(): Promise<unknown>;
}

export async function runPool(o: PoolOptions): Promise<PoolResult> {
  const st: PoolState = {
    aggs: { connect: newAgg() },
    phase: 'connect',
    phaseStart: performance.now(),
    connectedNow: 0,
    connectedOk: 0,
    connectFailed: 0,
    connectedWorkers: 0,
    readyWorkers: 0,
    stoppedWorkers: 0,
    fatal: undefined,
    sec: { counters: emptyCounters(), loc: newHistogram(), move: newHistogram() },
  };
  const gen = startGenerators(o, st);
  const ticker = startTicker(o, st, gen);
  const waitUntil = (cond: () => boolean, ms: number) => waitFor(o, st, cond, ms);
  let phaseCpu = { cpuS: gen.cpuS(), at: performance.now() };
  const closePhase = (): void => {
    const agg = st.aggs[st.phase];
    if (!agg) return;
    agg.seconds = (performance.now() - st.phaseStart) / 1000;
    agg.genCpuCores = ((gen.cpuS() - phaseCpu.cpuS) * 1000) / (performance.now() - phaseCpu.at);
  };
  const startPhase = (): void => {
    st.phaseStart = performance.now();
    phaseCpu = { cpuS: gen.cpuS(), at: st.phaseStart };
  };
  const failed = (): void => {
    if (st.fatal) throw new Error(`generator worker failed: ${st.fatal}`);
  };

  let connectSeconds: number;
  let openAtEnd: number;
  try {
    // The connect clock starts when every thread has loaded its code (tsx compiles it on start,
    // seconds on a busy machine), so connectSeconds and the connect phase's CPU are the storm's.
    await waitUntil(() => st.readyWorkers === gen.nWorkers, 120_000);
    failed();
    if (st.readyWorkers < gen.nWorkers && !o.signal.aborted) throw new Error(`generator workers not ready after 120 s (${st.readyWorkers}/${gen.nWorkers})`);
    st.aggs.connect = newAgg();
    startPhase();
    gen.broadcast({ type: 'connect' });
    const ok = await waitUntil(() => st.connectedWorkers === gen.nWorkers, o.connectTimeoutMs);
    connectSeconds = (performance.now() - st.phaseStart) / 1000;
    failed();
    if (!ok && !o.signal.aborted)
      o.log(`\nconnect phase cut at ${Math.round(o.connectTimeoutMs / 1000)} s: ${st.connectedOk} sockets up, still connecting the rest`);
    await sleep(1000, o.signal); // let the officers' first positions settle into the index
    for (const step of o.phases) {
      if (o.signal.aborted) break;
      closePhase(); // workers flush their stats on the switch, so every sample lands in one phase
      await o.onPhase?.(st.phase, step.phase);
      st.phase = step.phase;
      st.aggs[st.phase] ??= newAgg();
      startPhase();
      gen.broadcast({ type: 'phase', phase: st.phase });
      await sleep(step.seconds * 1000, o.signal);
      failed();
    }
  } finally {
    openAtEnd = st.connectedNow;
    // Also after a Ctrl-C: what the deployment holds at that moment is worth reporting (bounded scrapes).
    await o.onPhase?.(st.phase, undefined).catch((err) => o.log(`phase hook failed: ${(err as Error).message}`));
    closePhase();
    await stopGenerators(o, st, gen, ticker);
  }
  return {
    phases: st.aggs,
    connected: st.connectedOk,
    connectFailed: st.connectFailed,
    connectSeconds,
    allReported: st.connectedWorkers === gen.nWorkers,
    openAtEnd,
  };
}

/** Until `cond` holds, a worker failed, the run was aborted or `ms` passed; then `cond()`. */
async function waitFor(o: PoolOptions, st: PoolState, cond: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (!cond() && !st.fatal && !o.signal.aborted && performance.now() < end) await sleep(25, o.signal);
  return cond();
}

/** Tells every worker to stop, waits for their last stats (bounded), then ends them and the ticker. */
async function stopGenerators(o: PoolOptions, st: PoolState, gen: Generators, ticker: NodeJS.Timeout): Promise<void> {
  gen.broadcast({ type: 'stop' });
  await waitFor(o, st, () => st.stoppedWorkers === gen.nWorkers || !!st.fatal, 10_000).catch(() => false);
  // After an abort the wait above returns at once; still give workers a moment to flush.
  if (o.signal.aborted) {
    const end = performance.now() + 5000;
    while (st.stoppedWorkers < gen.nWorkers && performance.now() < end) await new Promise((r) => setTimeout(r, 25));
  }
  clearInterval(ticker);
  if (o.progress && process.stderr.isTTY) process.stderr.write('\n');
  await gen.end();
}

/** Starts the workers, each with its share of the devices; their messages update `st`. */
function startGenerators(o: PoolOptions, st: PoolState): Generators {
  const { ring, ringSeq } = OfficerRing.allocate(o.officers);
  const nWorkers = Math.max(1, Math.min(o.workers, o.officers + o.citizens));
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
    w.on('message', (m: FromWorker) => onWorkerMessage(st, m));
    w.on('error', (err: Error) => (st.fatal = String(err?.stack ?? err)));
    if (w instanceof Worker) workers.push(w);
    else {
      w.once('exit', (code, sig) => {
        if (st.stoppedWorkers < nWorkers && !st.fatal) st.fatal = `generator process ${i} exited (${code ?? sig}) before it stopped`;
      });
      children.push(w);
    }
  }
  return {
    nWorkers,
    broadcast(m) {
      workers.forEach((w) => w.postMessage(m));
      children.forEach((c) => c.connected && c.send(m));
    },
    cpuS() {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1e6 + children.reduce((a, c) => a + (sampleProc(c.pid ?? -1)?.cpuS ?? 0), 0);
    },
    end: () => Promise.all([...workers.map((w) => w.terminate()), ...children.map(endProcess)]),
  };
}

function onWorkerMessage(st: PoolState, m: FromWorker): void {
  if (m.type === 'stats') {
    const agg = (st.aggs[m.phase] ??= newAgg());
    addCounters(agg.counters, m.counters);
    addCounters(st.sec.counters, m.counters);
    st.connectedNow += m.counters.connected - m.counters.disconnected;
    agg.eluMax = Math.max(agg.eluMax, m.elu);
    for (const [k, v] of Object.entries(m.errCodes)) agg.errCodes[k] = (agg.errCodes[k] ?? 0) + v;
    for (const [k, b64] of Object.entries(m.hists) as [HistName, string][]) {
      decodeInto(agg.hists[k], b64);
      if (k === 'loc') decodeInto(st.sec.loc, b64);
      if (k === 'move') decodeInto(st.sec.move, b64);
    }
  } else if (m.type === 'ready') st.readyWorkers++;
  else if (m.type === 'connected') {
    st.connectedWorkers++;
    st.connectedOk += m.ok;
    st.connectFailed += m.failed;
  } else if (m.type === 'stopped') st.stoppedWorkers++;
  else if (m.type === 'fatal') st.fatal = m.message;
}

/** Once a second: a server sample, a timeline point, a progress line. */
function startTicker(o: PoolOptions, st: PoolState, gen: Generators): NodeJS.Timeout {
  let cpuMark = { cpuS: gen.cpuS(), at: performance.now() };
  return setInterval(async () => {
    const s = await o.sampler?.sample().catch(() => undefined);
    const cpuNow = gen.cpuS();
    const at = performance.now();
    const genCpu = ((cpuNow - cpuMark.cpuS) * 1000) / (at - cpuMark.at);
    cpuMark = { cpuS: cpuNow, at };
    const agg = st.aggs[st.phase];
    if (agg && s) {
      if (Number.isFinite(s.cpuCores)) agg.serverCpu.push(s.cpuCores);
      agg.serverRssMax = Math.max(agg.serverRssMax, s.rssBytes || 0);
    }
    const ls = summarize(st.sec.loc);
    const ms = summarize(st.sec.move);
    const c = st.sec.counters;
    const p: TimelinePoint = {
      t: Math.round((at - o.t0) / 100) / 10,
      run: o.run,
      phase: st.phase,
      connected: st.connectedNow,
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
    st.sec.loc.destroy();
    st.sec.move.destroy();
    st.sec = { counters: emptyCounters(), loc: newHistogram(), move: newHistogram() };
    if (o.progress) progressLine(o, st, p, c, at);
  }, 1000);
}

function progressLine(o: PoolOptions, st: PoolState, p: TimelinePoint, c: Counters, at: number): void {
  const el = Math.round((at - st.phaseStart) / 1000);
  const errs = c.errFrames + c.assignFailures + c.connectFailures + c.drops;
  const line =
    `[${o.run} ${st.phase} ${el}s] sockets ${p.connected}/${o.officers + o.citizens}  loc/s ${p.locPerSec}  ans/s ${p.answersPerSec}  push/s ${p.pushesPerSec}` +
    `  loc p99 ${p.locP99 ?? '-'}ms  move p99 ${p.moveP99 ?? '-'}ms  errs ${errs}  srv cpu ${p.serverCpu ?? '-'} rss ${p.serverRssMB ?? '-'}MB  gen cpu ${p.genCpu}`;
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${line}`);
  else o.log(line);
}
