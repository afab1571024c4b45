// What a --processors run reads from its deployment: per node CPU and RSS (/proc, the harness
// knows the pids), sockets and replication counters (each processor's METRICS_PORT /metrics, read
// by metric name only), and Redis INFO. Snapshots are taken at phase boundaries; the results are
// deltas between two of them.
import { metricSum, sampleProc, scrapeMetrics } from '../system.js';
import type { Deployment } from './deployment.js';

export interface NodeSnapshot {
  node: string;
  cpuS: number;
  rssBytes: number;
  /** Open websockets (beacon_processor_sockets, every role); NaN for the orchestrator or a failed scrape. */
  sockets: number;
  /** beacon_processor_replication{what=…}, by `what`. */
  replication: Record<string, number>;
}

export interface FleetSnapshot {
  atMs: number;
  nodes: NodeSnapshot[];
  redis: Record<string, number>;
}

export async function snapshotFleet(d: Deployment): Promise<FleetSnapshot> {
  const nodes = await Promise.all(
    [d.orchestrator, ...d.processors].map(async (n): Promise<NodeSnapshot> => {
      const p = sampleProc(n.pid);
      // Phase-boundary snapshots: wait for an overloaded node (its event loop may lag by seconds).
      const m = n.metricsUrl ? await scrapeMetrics(n.metricsUrl, 15_000) : undefined;
      const replication: Record<string, number> = {};
      if (m) {
        for (const k of m.keys()) {
          const what = /^beacon_processor_replication\{.*what="([^"]+)"/.exec(k)?.[1];
          if (what) replication[what] = m.get(k)!;
        }
      }
      return { node: n.node, cpuS: p?.cpuS ?? NaN, rssBytes: p?.rssBytes ?? NaN, sockets: m ? metricSum(m, 'beacon_processor_sockets') : NaN, replication };
    }),
  );
  return { atMs: performance.now(), nodes, redis: await d.redisInfo() };
}

export interface PerNode {
  node: string;
  sockets: number | null;
  rssBytes: number | null;
  /**
   * (RSS after − RSS before) / sockets held at the end; null when the process shrank meanwhile (a
   * fresh node gives back start-up memory, tsx's compile among it, as it settles: the growth is
   * then hidden, and `grossPerSocketBytes` is the bound).
   */
  rssPerSocketBytes: number | null;
  /** RSS after / sockets held: start-up memory included, an upper bound per socket. */
  grossPerSocketBytes: number | null;
  cpuCoresAvg: number | null;
}

const num = (n: number): number | null => (Number.isFinite(n) ? n : null);
const round = (n: number | null, d = 0): number | null => (n === null ? null : Math.round(n * 10 ** d) / 10 ** d);

export function perNode(before: FleetSnapshot, after: FleetSnapshot): PerNode[] {
  const s = (after.atMs - before.atMs) / 1000;
  return after.nodes.map((a, i) => {
    const b = before.nodes[i];
    const sockets = num(a.sockets);
    return {
      node: a.node,
      sockets,
      rssBytes: num(a.rssBytes),
      rssPerSocketBytes: sockets && a.rssBytes > b.rssBytes ? round(num((a.rssBytes - b.rssBytes) / sockets)) : null,
      grossPerSocketBytes: sockets ? round(num(a.rssBytes / sockets)) : null,
      cpuCoresAvg: s > 0 ? round(num((a.cpuS - b.cpuS) / s), 3) : null,
    };
  });
}

export interface RedisFigures {
  usedMemoryBytes: number | null;
  /** Commands per second between the two snapshots (total_commands_processed). */
  opsPerSec: number | null;
  commands: number | null;
  netInBytes: number | null;
  netOutBytes: number | null;
}

export function redisFigures(before: FleetSnapshot, after: FleetSnapshot): RedisFigures {
  const s = (after.atMs - before.atMs) / 1000;
  const d = (k: string): number | null => num(after.redis[k] - before.redis[k]);
  const commands = d('total_commands_processed');
  return {
    usedMemoryBytes: num(after.redis.used_memory),
    opsPerSec: commands !== null && s > 0 ? Math.round(commands / s) : null,
    commands,
    netInBytes: d('total_net_input_bytes'),
    netOutBytes: d('total_net_output_bytes'),
  };
}

/** Replication counters summed over the processors between two snapshots (`published`, `received`, …). */
export function replicationDelta(before: FleetSnapshot, after: FleetSnapshot): Record<string, number> {
  const out: Record<string, number> = {};
  after.nodes.forEach((a, i) => {
    for (const [k, v] of Object.entries(a.replication)) out[k] = (out[k] ?? 0) + v - (before.nodes[i].replication[k] ?? 0);
  });
  return out;
}

export function devicesPerNode(nodes: PerNode[]): { max: number; mean: number; maxOverMean: number | null } | null {
  const xs = nodes.map((n) => n.sockets).filter((x): x is number => x !== null); // the orchestrator has none
  if (xs.length === 0) return null;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const max = Math.max(...xs);
  return { max, mean: Math.round(mean), maxOverMean: mean > 0 ? Math.round((max / mean) * 100) / 100 : null };
}
