// A local distributed deployment on loopback (procs.ts does the processes): one redis-server, one
// orchestrator and N processors, each processor with a METRICS_PORT of its own. Used by
// `npm run cluster` and by the load harness's --processors.
import { randomBytes } from 'node:crypto';
import { freePort, launchRedis, launchRole, redisInfo, sleep, stopAll, tempDir, type LaunchedRole } from './procs.js';

export interface NodeProc {
  /** NODE_ID (processor) or 'orchestrator'. */
  node: string;
  pid: number;
  /** Orchestrator base URL, or the processor's ws URL. */
  url: string;
  /** Processor: its METRICS_PORT /metrics URL. */
  metricsUrl?: string;
  /** The banner line it printed. */
  line: string;
  launched: LaunchedRole;
}

export interface Deployment {
  redisPort: number;
  redisUrl: string;
  redisDir: string;
  secrets: { JWT_SECRET: string; TICKET_SECRET: string; REPLICATION_KEY: string };
  orchestrator: NodeProc;
  processors: NodeProc[];
  /** used_memory, total_commands_processed, total_net_{input,output}_bytes, … from INFO. */
  redisInfo(): Promise<Record<string, number>>;
  /** Every process of the deployment, gracefully (bounded), and its temp dir. */
  stop(graceMs?: number): Promise<void>;
}

export interface DeploymentOptions {
  processors: number;
  /** Orchestrator port (0: a free one). */
  port?: number;
  redisPort?: number;
  appendfsync?: 'always' | 'everysec' | 'off';
  /** Extra environment for every role (after the defaults, before the secrets given). */
  env?: NodeJS.ProcessEnv;
  /** Environment for the processors only. */
  processorEnv?: NodeJS.ProcessEnv;
  secrets?: Partial<Deployment['secrets']>;
  /** Copy the roles' output after their banner to this process's stdout/stderr. */
  echo?: boolean;
}

export async function startDeployment(o: DeploymentOptions): Promise<Deployment> {
  const redisPort = o.redisPort || (await freePort());
  const redisDir = tempDir('beacon-cluster-');
  await launchRedis({ port: redisPort, dir: redisDir, appendfsync: o.appendfsync ?? 'everysec', stderr: o.echo ? 'inherit' : 'pipe' });
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const secrets = {
    JWT_SECRET: o.secrets?.JWT_SECRET || randomBytes(24).toString('hex'),
    TICKET_SECRET: o.secrets?.TICKET_SECRET || randomBytes(24).toString('hex'),
    REPLICATION_KEY: o.secrets?.REPLICATION_KEY || randomBytes(32).toString('hex'),
  };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    ...o.env,
    // This Redis is plain TCP on loopback: Redis TLS settings from the shell would be refused with it.
    REDIS_TLS_CA_FILE: '',
    REDIS_TLS_CERT_FILE: '',
    REDIS_TLS_KEY_FILE: '',
    REDIS_URL: redisUrl,
    ...secrets,
  };
  const node = (name: string, l: LaunchedRole, url: string, metricsUrl?: string): NodeProc => ({
    node: name,
    pid: l.proc.pid ?? -1,
    url,
    metricsUrl,
    line: l.line,
    launched: l,
  });
  const procs = await Promise.all(
    Array.from({ length: o.processors }, async (_, i) => {
      const l = await launchRole(
        'processor',
        { ...env, ...o.processorEnv, NODE_ID: `p${i + 1}`, PROCESSOR_PORT: '0', PUBLIC_WS_URL: '', METRICS_PORT: '0' },
        { echo: o.echo },
      );
      const parts = l.line.trim().split(/\s+/); // processor <id> <url>  metrics <url>
      return node(parts[1], l, parts[2], /\bmetrics (\S+)/.exec(l.line)?.[1]);
    }),
  );
  const ol = await launchRole('orchestrator', { ...env, PORT: String(o.port ?? 0) }, { echo: o.echo });
  const orchUrl = ol.line.trim().split(/\s+/)[1];
  await waitReady(orchUrl);
  return {
    redisPort,
    redisUrl,
    redisDir,
    secrets,
    orchestrator: node('orchestrator', ol, orchUrl),
    processors: procs,
    redisInfo: () => redisInfo(redisPort),
    stop: (graceMs) => stopAll(graceMs),
  };
}

/** Polls the orchestrator's /readyz (Redis, bus, registry view with a processor) until 200, ≤ 30 s. */
async function waitReady(base: string): Promise<void> {
  const end = Date.now() + 30_000;
  for (;;) {
    const ok = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > end) throw new Error(`orchestrator ${base} not ready within 30 s`);
    await sleep(200);
  }
}
