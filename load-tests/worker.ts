// One generator thread: connects its share of simulated devices and drives them by the movement
// model, measuring on the spot (loc → nearest, officer move → re-push, assignment, connect).
// Modes: `beacon` (the real contract through the client library), `echo` (the same frames to a
// bare echo server over the same transport), `connections` (idle sockets that only heartbeat).
// `lean` (--lean): the sockets are lean/socket.ts instead of `ws`; the client library still
// assigns, opens and reconnects, but locs go out as pre-encoded frames (lean/loc-frame.ts) and
// nearest/near/echo frames are read raw, parsed only when the phase's measurement needs them.
import { performance } from 'node:perf_hooks';
import { BeaconClient, BeaconHttpError, ConnectError } from '../src/client/index.js';
import { channel } from './channel.js';
import type { Transport, TransportFactory } from '../src/client/transport.js';
import { wsTransport } from '../src/client/ws-transport.js';
import { decodeServerFrame, encodeMessage, type NearestMessage, type Role } from '../src/protocol/index.js';
import { encodeHist, newHistogram, recordMs, type Histogram } from './hist.js';
import { TimeHeap } from './heap.js';
import { makeArea } from './areas.js';
import { frameKind, LOC, NEAR, NEAREST } from './lean/classify.js';
import { newLocFrame, quantize6, writeLocFrame } from './lean/loc-frame.js';
import { leanTransport, type LeanSocket } from './lean/socket.js';
import { emptyCounters, type HistName, type Phase, type ToWorker } from './messages.js';
import { advance, newCitizen, newOfficer, nextInterval, type Mover } from './movement.js';
import { deviceRandom } from './prng.js';
import { OfficerRing, sharedNow } from './ring.js';
import { mintToken } from './tokens.js';

const { init, post, onMessage } = channel();

const nOff = init.officers[1] - init.officers[0];
const nCit = init.citizens[1] - init.citizens[0];
const N = nOff + nCit;
const isOfficer = (d: number): boolean => d < nOff;
const globalIndex = (d: number): number => (d < nOff ? init.officers[0] + d : init.citizens[0] + d - nOff);
const officerPrefix = `${init.idPrefix}o`;

const ring = new OfficerRing(init.ring, init.ringSeq);
const area = makeArea(init.area, init.seed, init.officersTotal);
const movers: Mover[] = new Array(N);
for (let d = 0; d < N; d++) {
  const r = deviceRandom(init.seed, isOfficer(d) ? 0 : 1, globalIndex(d));
  movers[d] = isOfficer(d) ? newOfficer(r, area, init.officerMeanIntervalMs) : newCitizen(r, init.citizenMeanIntervalMs, area);
}

const clients: (BeaconClient | undefined)[] = new Array(N);
const raw: (Transport | undefined)[] = new Array(N);
const isOpen = new Uint8Array(N);
const inHeap = new Uint8Array(N);
const pendingLoc = new Float64Array(N).fill(NaN);
const lastSentAt = new Float64Array(N);
const lastDelay = new Float64Array(N);
const lastNearestAt = new Float64Array(N);
const lastOff = new Int32Array(N).fill(-1);
const lastOffLat = new Float64Array(N);
const lastOffLng = new Float64Array(N);
const lastOffDist = new Float64Array(N);
const heap = new TimeHeap(N);
const nextAt = new Float64Array(N);

let phase: Phase = 'connect';
let stopping = false;
let counters = emptyCounters();
let errCodes: Record<string, number> = {};
const hists: Record<HistName, Histogram> = { assign: newHistogram(), connect: newHistogram(), loc: newHistogram(), move: newHistogram() };

const lean = init.lean;
const leanSock: (LeanSocket | undefined)[] = new Array(N);
const locFrame: (Buffer | undefined)[] = new Array(N);
const transports: TransportFactory[] = (init.sourceAddresses.length ? init.sourceAddresses : ['']).map((a) => {
  const local = a ? { localAddress: a } : {};
  return lean ? leanTransport({ ...local, handshakeTimeoutMs: 30_000 }) : wsTransport({ ...local, handshakeTimeoutMs: 30_000, skipUTF8Validation: true });
});
function transportFor(d: number): TransportFactory {
  const t = transports[globalIndex(d) % transports.length];
  if (!lean) return t;
  return (url, h) => {
    const s = t(url, h) as LeanSocket;
    leanSock[d] = s;
    locFrame[d] = newLocFrame(s.maskKey);
    return s;
  };
}

// ------------------------------------------------------------------ measurement

function officerIndex(id: string): number {
  if (!id.startsWith(officerPrefix)) return -1;
  const n = Number(id.slice(officerPrefix.length));
  return Number.isInteger(n) ? n : -1;
}

function onAnswer(d: number, now: number): boolean {
  const pend = pendingLoc[d];
  if (pend !== pend) return false; // NaN: nothing pending, so this is a push
  recordMs(hists.loc, now - pend);
  counters.answers++;
  pendingLoc[d] = NaN;
  if (phase === 'capacity') schedule(d, Math.max(now, lastSentAt[d] + init.capacityGapMs));
  return true;
}

function onNearest(d: number, m: NearestMessage): void {
  const now = sharedNow();
  const answered = onAnswer(d, now);
  const o = m.officer;
  if (!answered) {
    counters.pushes++;
    if (o && o.precision > 0) counters.pushesCoarse++;
  }
  if (o) {
    const idx = officerIndex(o.id);
    if (!answered && idx >= 0) {
      // Exact positions are matched to the position sent; coarse ones (disclosure policy,
      // precision > 0: a cell centre) to the latest position sent in that cell since the last push.
      const coarse = o.precision > 0;
      const sent = coarse ? ring.sentInCell(idx, o.lat, o.lng, o.precision, lastNearestAt[d]) : ring.sentAt(idx, o.lat, o.lng);
      const same = lastOff[d] === idx;
      const moved = !same || lastOffLat[d] !== o.lat || lastOffLng[d] !== o.lng || (coarse && lastOffDist[d] !== m.dist);
      // Same officer at a new position: its move caused this push. Another officer: only when its
      // position is news since the citizen last heard and the previous nearest has not moved since
      // (else the previous one moving away may have caused the push, and the sample would measure
      // the new officer's idle time, not a re-push).
      const prev = lastOff[d];
      // (prev's latest 0: an officer of another generator process, unknown here: no sample.)
      const prevAt = prev < 0 ? 0 : ring.latestAt(prev);
      const causal = same || (sent > lastNearestAt[d] && (prev < 0 || (prevAt > 0 && prevAt <= sent)));
      if (sent === sent && moved && causal) recordMs(hists.move, now - sent);
    }
    lastOff[d] = idx;
    lastOffLat[d] = o.lat;
    lastOffLng[d] = o.lng;
    lastOffDist[d] = m.dist ?? NaN;
  } else lastOff[d] = -1;
  lastNearestAt[d] = now;
}

function parseJson(buf: Buffer, start: number, end: number): unknown {
  try {
    return JSON.parse(buf.toString('utf8', start, end));
  } catch {
    return undefined;
  }
}

/**
 * Lean mode: the frames measured, straight off the socket. A nearest is parsed only in the phases
 * whose re-push matching needs its officer (not in capacity, where only the answer time counts);
 * an echoed loc is parsed where Beacon's nearest would be, so both runs do the same work.
 * Anything else goes on to the client (false).
 */
function onLeanFrame(d: number, buf: Buffer, start: number, end: number, binary: boolean): boolean {
  if (binary) return false;
  const kind = frameKind(buf, start, end);
  if (kind === NEAREST) {
    if (phase === 'capacity') {
      if (!onAnswer(d, sharedNow())) counters.pushes++;
    } else {
      const m = parseJson(buf, start, end) as NearestMessage | undefined;
      if (!m || (m.officer !== null && typeof m.officer?.id !== 'string')) return false; // the client's decoder judges it
      onNearest(d, m);
    }
  } else if (kind === NEAR) counters.near++;
  else if (kind === LOC) {
    if (phase !== 'capacity' && parseJson(buf, start, end) === undefined) return false;
    if (!isOfficer(d)) onAnswer(d, sharedNow());
  } else return false;
  counters.framesIn++;
  return true;
}

// ------------------------------------------------------------------ sending

function schedule(d: number, at: number): void {
  if (inHeap[d] || stopping) return;
  inHeap[d] = 1;
  nextAt[d] = at;
  heap.push(at, d);
}

function send(d: number, lat: number, lng: number): boolean {
  if (!isOpen[d]) return false;
  const s = leanSock[d];
  if (s) {
    const b = locFrame[d]!;
    // Queued rather than taken by the kernel: the buffer is the socket's now, patch a fresh one next.
    if (!s.writeRaw(b, writeLocFrame(b, lat, lng))) locFrame[d] = newLocFrame(s.maskKey);
    counters.framesOut++;
    return true;
  }
  const c = clients[d];
  if (c) return c.sendLocation(lat, lng, { force: true });
  const t = raw[d];
  if (!t) return false;
  t.send(encodeMessage({ t: 'loc', lat, lng }, init.encoding));
  counters.framesOut++;
  return true;
}

function fire(d: number, now: number): void {
  const m = movers[d];
  if (isOfficer(d)) {
    advance(m, lastDelay[d]);
    if (lean) {
      // The ring must hold the position exactly as the lean frame carries it (six decimals).
      m.lat = quantize6(m.lat);
      m.lng = quantize6(m.lng);
    }
    ring.record(globalIndex(d), m.lat, m.lng, sharedNow()); // before the send: a push cannot beat it
    if (send(d, m.lat, m.lng)) counters.officerLocSent++;
    lastDelay[d] = nextInterval(m);
    schedule(d, now + lastDelay[d]);
    return;
  }
  if (phase === 'capacity') {
    // Closed loop: the next loc goes when the last one is answered (or after 2 s without answer).
    if (pendingLoc[d] === pendingLoc[d] && now - pendingLoc[d] < 2000) return schedule(d, pendingLoc[d] + 2000);
  } else if (phase !== 'steady' && phase !== 'warmup') return;
  advance(m, lastDelay[d] || 1000);
  if (pendingLoc[d] === pendingLoc[d]) counters.unanswered++;
  pendingLoc[d] = NaN;
  const at = sharedNow();
  if (send(d, m.lat, m.lng)) {
    pendingLoc[d] = at;
    lastSentAt[d] = at;
    counters.locSent++;
  }
  lastDelay[d] = nextInterval(m);
  if (phase === 'steady' || phase === 'warmup' || !isOpen[d]) schedule(d, now + lastDelay[d]);
  // in capacity the answer schedules the next send
}

let tickTimer: ReturnType<typeof setTimeout> | undefined;
function tick(): void {
  tickTimer = undefined;
  if (stopping) return;
  const now = sharedNow();
  let budget = 5000; // bounded work per turn: answers and stats must get the loop too
  while (heap.size > 0 && heap.peekTime() <= now && budget-- > 0) {
    const d = heap.pop();
    inHeap[d] = 0;
    fire(d, now);
  }
  const wait = budget <= 0 ? 0 : Math.min(50, Math.max(1, heap.peekTime() - sharedNow()));
  tickTimer = setTimeout(tick, wait);
}

// ------------------------------------------------------------------ connecting

function classify(err: unknown): void {
  if (err instanceof BeaconHttpError) {
    counters.assignFailures++;
    if (err.status >= 400) counters.refusals++;
    errCodes[`http:${err.status}:${err.code}`] = (errCodes[`http:${err.status}:${err.code}`] ?? 0) + 1;
  } else {
    counters.connectFailures++;
    const status = err instanceof ConnectError ? err.status : undefined;
    if (status !== undefined) counters.refusals++;
    const key = `connect:${status ?? (err as Error)?.message?.slice(0, 60) ?? 'unknown'}`;
    errCodes[key] = (errCodes[key] ?? 0) + 1;
  }
}

async function connectBeacon(d: number): Promise<void> {
  const role: Role = isOfficer(d) ? 'officer' : 'citizen';
  const sub = `${init.idPrefix}${role === 'officer' ? 'o' : 'c'}${globalIndex(d)}`;
  const c = new BeaconClient({
    baseUrl: init.target,
    role,
    token: () => mintToken(init.secret, role, sub),
    encoding: init.encoding,
    moveThresholdM: 0,
    heartbeatMs: init.heartbeatMs,
    helloTimeoutMs: 30_000,
    reconnect: { baseMs: 1000, maxMs: 8000, maxAttempts: 3 },
    transport: transportFor(d),
  });
  clients[d] = c;
  c.on('open', (e) => {
    isOpen[d] = 1;
    leanSock[d]?.tap(onLeanFrame, d);
    counters.connected++;
    recordMs(hists.assign, e.assignMs);
    recordMs(hists.connect, e.connectMs);
    if (role === 'officer' && !e.reconnect && phase !== 'hold') {
      const m = movers[d];
      ring.record(globalIndex(d), m.lat, m.lng, sharedNow());
      if (c.sendLocation(m.lat, m.lng, { force: true })) counters.officerLocSent++; // enters the index
      lastDelay[d] = nextInterval(m);
      schedule(d, sharedNow() + lastDelay[d]);
    }
  });
  c.on('nearest', (m) => onNearest(d, m));
  c.on('near', () => counters.near++);
  c.on('pong', () => counters.pongs++);
  c.on('err', (m) => {
    counters.errFrames++;
    errCodes[`err:${m.code}`] = (errCodes[`err:${m.code}`] ?? 0) + 1;
  });
  c.on('bye', (m) => (errCodes[`bye:${m.reason}`] = (errCodes[`bye:${m.reason}`] ?? 0) + 1));
  c.on('req', (m) => c.respond(m.id, false));
  c.on('reconnecting', () => counters.retries++);
  c.on('close', () => {
    if (!isOpen[d]) return;
    isOpen[d] = 0;
    counters.disconnected++;
    if (!stopping) counters.drops++;
  });
  c.on('error', (err) => {
    if (!stopping) classify(err);
  });
  await c.connect(movers[d].lat, movers[d].lng);
}

function connectEcho(d: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = sharedNow();
    let opened = false;
    let lastErr: (Error & { status?: number }) | undefined;
    raw[d] = transportFor(d)(init.target, {
      open() {
        opened = true;
        isOpen[d] = 1;
        leanSock[d]?.tap(onLeanFrame, d);
        counters.connected++;
        recordMs(hists.connect, sharedNow() - t0);
        if (isOfficer(d)) {
          lastDelay[d] = nextInterval(movers[d]);
          schedule(d, sharedNow() + lastDelay[d]);
        }
        resolve();
      },
      message(data, binary) {
        counters.framesIn++;
        decodeServerFrame(data, binary); // same parsing work as a client of Beacon does
        if (!isOfficer(d)) onAnswer(d, sharedNow());
      },
      error(err) {
        lastErr = err;
      },
      close(code) {
        if (!opened) return reject(new ConnectError(`echo socket closed before open (${code}${lastErr ? `: ${lastErr.message}` : ''})`, lastErr?.status));
        if (!isOpen[d]) return;
        isOpen[d] = 0;
        counters.disconnected++;
        if (!stopping) counters.drops++;
      },
    });
  });
}

async function connectAll(): Promise<void> {
  let next = 0;
  let ok = 0;
  let failed = 0;
  const lane = async (): Promise<void> => {
    while (next < N && !stopping) {
      const d = next++;
      try {
        await (init.mode === 'echo' ? connectEcho(d) : connectBeacon(d));
        ok++;
      } catch (err) {
        failed++;
        if (!stopping) classify(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(init.connectConcurrency, N)) }, lane));
  post({ type: 'connected', workerId: init.workerId, ok, failed });
}

// ------------------------------------------------------------------ stats and control

let framesInSeen = 0;
let framesOutSeen = 0;
let elu = performance.eventLoopUtilization();

function flushStats(): void {
  if (init.mode !== 'echo') {
    let fin = 0;
    let fout = 0;
    for (let d = 0; d < N; d++) {
      const c = clients[d];
      if (c) {
        fin += c.framesIn;
        fout += c.framesOut;
      }
    }
    counters.framesIn += fin - framesInSeen;
    counters.framesOut += fout - framesOutSeen;
    framesInSeen = fin;
    framesOutSeen = fout;
  }
  const e = performance.eventLoopUtilization(elu);
  elu = performance.eventLoopUtilization();
  const encoded: Partial<Record<HistName, string>> = {};
  for (const [k, h] of Object.entries(hists) as [HistName, Histogram][]) {
    if (h.totalCount > 0) encoded[k] = encodeHist(h);
    h.reset();
  }
  post({ type: 'stats', workerId: init.workerId, phase, counters, hists: encoded, elu: e.utilization, errCodes });
  counters = emptyCounters();
  errCodes = {};
}

const statsTimer = setInterval(flushStats, 1000);

function enterPhase(p: Phase): void {
  flushStats(); // every sample belongs to exactly one phase
  const prev = phase;
  phase = p;
  const now = sharedNow();
  // warmup → steady is the same load going on: only the phase label of the samples changes.
  if (p === 'warmup' || (p === 'steady' && prev !== 'warmup')) {
    for (let d = nOff; d < N; d++) {
      const m = movers[d];
      lastDelay[d] = nextInterval(m);
      schedule(d, now + movers[d].r() * lastDelay[d]); // spread the first reports over one interval
    }
  } else if (p === 'capacity') {
    // Rebuild the schedule: officers keep their times, citizens start their closed loops now.
    heap.clear();
    inHeap.fill(0);
    for (let d = 0; d < N; d++) {
      if (isOfficer(d)) {
        if (nextAt[d] > 0) schedule(d, nextAt[d]);
      } else {
        pendingLoc[d] = NaN;
        schedule(d, now + movers[d].r() * init.capacityGapMs);
      }
    }
  }
  if (!tickTimer) tick();
}

async function stop(): Promise<void> {
  if (stopping) return;
  flushStats();
  stopping = true;
  clearInterval(statsTimer);
  if (tickTimer) clearTimeout(tickTimer);
  for (let d = 0; d < N; d++) {
    clients[d]?.close();
    raw[d]?.close(1000, 'done');
  }
  // Give the close handshakes a moment (bounded), so the server sees clean closes.
  const end = Date.now() + 3000;
  while (Date.now() < end && isOpen.includes(1)) await new Promise((r) => setTimeout(r, 50));
  post({ type: 'stopped', workerId: init.workerId });
  setTimeout(() => process.exit(0), 10).unref();
}

onMessage((m: ToWorker) => {
  if (m.type === 'connect') connectAll().catch((err) => post({ type: 'fatal', workerId: init.workerId, message: String((err as Error)?.stack ?? err) }));
  else if (m.type === 'phase') enterPhase(m.phase);
  else if (m.type === 'stop') void stop();
});

post({ type: 'ready', workerId: init.workerId });
