// Every metric the Grafana dashboard and the alerting rules query is one a running Beacon exports:
// scraped from embedded mode (one /metrics) and from distributed mode (orchestrator /metrics and a
// processor's METRICS_PORT, real processes on a real redis-server). Also the metrics added for the
// alerts: readiness per check (Redis down), assignments refused for want of an owner, MAX_SOCKETS.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config.js';
import { startEmbedded, type Embedded } from '../../src/embedded.js';
import { createLogger } from '../../src/log.js';
import { HTTP_PATHS } from '../../src/protocol/index.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { spawnNode, token, type NodeProcess } from '../distributed/nodes.js';
import { dashboardExprs, exportedNames, metricsIn, ruleExprs } from './promql.js';
import { waitFor } from '../helpers/wait.js';

const DEPLOY = join(import.meta.dirname, '../../deploy');
/** Exported only where cross-node replication exists (a distributed processor). */
const DISTRIBUTED_ONLY = new Set(['beacon_processor_replication']);

const dashboard = () => JSON.parse(readFileSync(join(DEPLOY, 'grafana/beacon.json'), 'utf8')) as unknown;
const alerts = () => parse(readFileSync(join(DEPLOY, 'prometheus/alerts.yml'), 'utf8')) as Parameters<typeof ruleExprs>[0];

/** Metric names the expressions read that `exported` lacks, with the expression for the message. */
function missing(exprs: string[], exported: Set<string>, except = new Set<string>()): string[] {
  return exprs.flatMap((e) =>
    metricsIn(e)
      .filter((m) => !exported.has(m) && !except.has(m))
      .map((m) => `${m} (in ${e})`),
  );
}

const scrape = async (url: string) => {
  const r = await fetch(url);
  expect(r.status, url).toBe(200);
  return r.text();
};
const sample = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
};

let dataDir: string;
let embedded: Embedded;
let redis: RedisServer;
const nodes: NodeProcess[] = [];
let embeddedText = '';
let distributedText = '';

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'beacon-deploy-metrics-'));
  embedded = await startEmbedded(
    loadConfig({ HOST: '127.0.0.1', PORT: '0', PROCESSOR_PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'silent', MAX_SOCKETS: '1234' }),
    {
      logger: createLogger('silent', 'test'),
    },
  );
  redis = await startRedis();
}, 60_000);

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.kill9()));
  await redis?.dispose();
  await embedded?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('metrics a running Beacon exports', { timeout: 180_000 }, () => {
  it('embedded mode: one /metrics with the orchestrator, processor and process families', async () => {
    embeddedText = await scrape(`${embedded.orchestratorUrl}${HTTP_PATHS.metrics}`);
    expect(sample(embeddedText, 'beacon_processor_max_sockets')).toBe(1234);
    expect(sample(embeddedText, 'beacon_orchestrator_ready{check="processor_nodes"}')).toBe(1);
    expect(sample(embeddedText, 'beacon_orchestrator_ready{check="draining"}')).toBe(1);
    expect(sample(embeddedText, 'beacon_orchestrator_assignments_unowned_total')).toBe(0);
  });

  it('distributed mode: an orchestrator with no processor counts the assignments it refuses; then a processor joins', async () => {
    const env = { REDIS_URL: redis.url, MAX_SOCKETS: '777' };
    const orch = await spawnNode('orchestrator', env, 60_000);
    nodes.push(orch);
    const tok = await token('citizen', 'cit-1');
    const r = await fetch(`${orch.url}${HTTP_PATHS.citizenSocket}?lat=40.7484&lng=-73.9857`, { headers: { authorization: `Bearer ${tok}` } });
    expect(r.status).toBe(503);
    expect(((await r.json()) as { error: string }).error).toBe('no_processor');
    let text = await scrape(`${orch.url}${HTTP_PATHS.metrics}`);
    expect(sample(text, 'beacon_orchestrator_assignments_unowned_total')).toBe(1);
    expect(sample(text, 'beacon_orchestrator_nodes')).toBe(0);
    expect(sample(text, 'beacon_orchestrator_ready{check="processor_nodes"}')).toBe(0);
    expect(sample(text, 'beacon_orchestrator_ready{check="redis"}')).toBe(1);

    const proc = await spawnNode('processor', { ...env, METRICS_PORT: '0', NODE_ID: 'p1' }, 60_000);
    nodes.push(proc);
    await waitFor(async () => sample(await scrape(`${orch.url}${HTTP_PATHS.metrics}`), 'beacon_orchestrator_nodes') === 1, 20_000, 'the processor registered');
    text = await scrape(`${orch.url}${HTTP_PATHS.metrics}`);
    expect(sample(text, 'beacon_orchestrator_ready{check="processor_nodes"}')).toBe(1);
    const procText = await scrape(proc.metricsUrl!);
    expect(sample(procText, 'beacon_processor_max_sockets')).toBe(777);
    distributedText = `${text}\n${procText}`;

    // Redis down: the readiness gauge says which check fails (what BeaconRedisDown watches).
    await redis.stop();
    await waitFor(
      async () => sample(await scrape(`${orch.url}${HTTP_PATHS.metrics}`), 'beacon_orchestrator_ready{check="redis"}') === 0,
      15_000,
      'ready{check="redis"} 0',
    );
    await redis.restart();
    await waitFor(
      async () => sample(await scrape(`${orch.url}${HTTP_PATHS.metrics}`), 'beacon_orchestrator_ready{check="redis"}') === 1,
      30_000,
      'ready{check="redis"} 1 again',
    );
  });

  it('the dashboard queries only exported metrics, in both modes', () => {
    const exprs = dashboardExprs(dashboard());
    expect(exprs.length).toBeGreaterThan(15);
    expect(missing(exprs, exportedNames(distributedText))).toEqual([]);
    expect(missing(exprs, exportedNames(embeddedText), DISTRIBUTED_ONLY)).toEqual([]);
  });

  it('the alerting rules query only exported metrics, in both modes', () => {
    const exprs = ruleExprs(alerts());
    expect(exprs.length).toBeGreaterThanOrEqual(10);
    expect(missing(exprs, exportedNames(distributedText))).toEqual([]);
    expect(missing(exprs, exportedNames(embeddedText), DISTRIBUTED_ONLY)).toEqual([]);
  });

  it('a typo in a dashboard or a rule is caught', () => {
    const typoDash = JSON.parse(JSON.stringify(dashboard()).replace('beacon_processor_max_sockets', 'beacon_processor_max_socket')) as unknown;
    expect(missing(dashboardExprs(typoDash), exportedNames(distributedText))).toEqual([expect.stringContaining('beacon_processor_max_socket (in')]);
    const rules = alerts();
    rules.groups![0].rules![0].expr = 'beacon_orchestrator_node == 0';
    expect(missing(ruleExprs(rules), exportedNames(distributedText))).toEqual(['beacon_orchestrator_node (in beacon_orchestrator_node == 0)']);
  });
});
