// What the machine and the server processes cost: open-file limit, server CPU/RSS from /proc (a
// child we started) or from Prometheus `/metrics` (a --target), the generator's own CPU.
import { readFileSync } from 'node:fs';
import { HTTP_PATHS } from '../src/protocol/index.js';

/** Soft and hard RLIMIT_NOFILE of this process (Linux), or undefined elsewhere. */
export function fdLimit(): { soft: number; hard: number } | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const m = line && /Max open files\s+(\S+)\s+(\S+)/.exec(line);
    if (!m) return undefined;
    const n = (s: string): number => (s === 'unlimited' ? Infinity : Number(s));
    return { soft: n(m[1]), hard: n(m[2]) };
  } catch {
    return undefined;
  }
}

export interface ServerSample {
  /** CPU seconds consumed so far (user + system). */
  cpuS: number;
  rssBytes: number;
}

const CLK_TCK = 100; // Linux USER_HZ; /proc reports CPU in these ticks

export function sampleProc(pid: number): ServerSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // the command name may hold spaces
    const cpuS = (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime (fields 14, 15)
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /VmRSS:\s+(\d+) kB/.exec(status);
    return { cpuS, rssBytes: rss ? Number(rss[1]) * 1024 : NaN };
  } catch {
    return undefined;
  }
}

/** A Prometheus text page as `name{labels}` → value (`name` alone without labels), or undefined. */
/** `timeoutMs`: a node queueing under load answers late; the per-second sampler keeps it short. */
export async function scrapeMetrics(baseUrl: string, timeoutMs = 2000): Promise<Map<string, number> | undefined> {
  try {
    const url = baseUrl.endsWith(HTTP_PATHS.metrics) ? baseUrl : baseUrl.replace(/\/$/, '') + HTTP_PATHS.metrics;
    // A server run with METRICS_TOKEN wants it as a bearer token on every scrape.
    const token = process.env.METRICS_TOKEN;
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: token ? { authorization: `Bearer ${token}` } : {} });
    if (!res.ok) return undefined;
    const out = new Map<string, number>();
    for (const line of (await res.text()).split('\n')) {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) ([0-9.eE+-]+|NaN)$/.exec(line);
      if (m) out.set(m[1], Number(m[2]));
    }
    return out;
  } catch {
    return undefined;
  }
}

/** Sum of a metric over its label sets (`name` and every `name{…}`), NaN when absent. */
export function metricSum(m: Map<string, number>, name: string, labels = ''): number {
  let sum = NaN;
  for (const [k, v] of m) if ((k === name || k.startsWith(`${name}{`)) && k.includes(labels)) sum = (sum === sum ? sum : 0) + v;
  return sum;
}

export async function sampleMetrics(baseUrl: string): Promise<ServerSample | undefined> {
  const m = await scrapeMetrics(baseUrl);
  if (!m) return undefined;
  const cpuS = metricSum(m, 'process_cpu_seconds_total');
  const rssBytes = metricSum(m, 'process_resident_memory_bytes');
  if (Number.isNaN(cpuS) && Number.isNaN(rssBytes)) return undefined;
  return { cpuS, rssBytes };
}

/** Samples a server once a second: CPU as cores used over the last interval, RSS. Several
 *  processes (a distributed deployment: orchestrator + processors) are summed. */
export class ServerSampler {
  private prev?: { at: number; s: ServerSample };
  last?: { cpuCores: number; rssBytes: number };
  private readonly pids: number[];
  private readonly urls: string[];

  constructor(source: { pid: number } | { pids: number[] } | { metricsUrl: string } | { metricsUrls: string[] }) {
    this.pids = 'pid' in source ? [source.pid] : 'pids' in source ? source.pids : [];
    this.urls = 'metricsUrl' in source ? [source.metricsUrl] : 'metricsUrls' in source ? source.metricsUrls : [];
  }

  async sample(): Promise<{ cpuCores: number; rssBytes: number } | undefined> {
    const parts = this.pids.length ? this.pids.map(sampleProc) : await Promise.all(this.urls.map(sampleMetrics));
    // A part missing (a scrape failed) would make the sum jump: skip the whole sample.
    if (parts.length === 0 || parts.some((p) => !p)) return undefined;
    const s = { cpuS: 0, rssBytes: 0 };
    for (const p of parts as ServerSample[]) {
      s.cpuS += p.cpuS;
      s.rssBytes += p.rssBytes;
    }
    const at = performance.now();
    const cpuCores = this.prev ? (s.cpuS - this.prev.s.cpuS) / ((at - this.prev.at) / 1000) : NaN;
    this.prev = { at, s };
    this.last = { cpuCores, rssBytes: s.rssBytes };
    return this.last;
  }
}

/** CPU of this whole process (main thread + generator workers), as cores used since `since`. */
export function generatorCpu(since: { cpu: NodeJS.CpuUsage; at: number }): number {
  const d = process.cpuUsage(since.cpu);
  return (d.user + d.system) / 1000 / (performance.now() - since.at);
}
