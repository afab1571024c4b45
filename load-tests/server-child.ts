// Child process for the servers the harness starts itself, so their CPU and RSS are their own:
// `beacon` (embedded mode, ports 0), `echo` (bare uWS), `fastify` (bare route). Reports its URLs
// over IPC, stops on a `stop` message or when the parent goes away.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type ChildKind = 'beacon' | 'echo' | 'fastify';
export interface ChildReady {
  type: 'ready';
  kind: ChildKind;
  pid: number;
  /** Orchestrator base URL (beacon), ws URL (echo), base URL (fastify). */
  url: string;
  processorUrl?: string;
}

const kind = process.argv[2] as ChildKind;
const send = (m: unknown): void => void process.send?.(m);

async function main(): Promise<void> {
  let close: () => Promise<void> | void;
  let ready: ChildReady;
  if (kind === 'beacon') {
    const { loadConfig } = await import('../src/config.js');
    const { startEmbedded } = await import('../src/embedded.js');
    const dataDir = mkdtempSync(join(tmpdir(), 'beacon-load-'));
    // The harness passes JWT_SECRET and any overrides in the environment; ports are always free ones.
    const config = loadConfig({ LOG_LEVEL: 'warn', ...process.env, HOST: '127.0.0.1', PORT: '0', PROCESSOR_PORT: '0', DATA_DIR: dataDir, REDIS_URL: '' });
    const b = await startEmbedded(config);
    close = async () => {
      await b.close();
      rmSync(dataDir, { recursive: true, force: true });
    };
    ready = { type: 'ready', kind, pid: process.pid, url: b.orchestratorUrl, processorUrl: b.processor.url };
  } else if (kind === 'echo') {
    const { startEchoServer } = await import('./baselines/echo-server.js');
    const e = await startEchoServer();
    close = () => e.close();
    ready = { type: 'ready', kind, pid: process.pid, url: e.url };
  } else if (kind === 'fastify') {
    const { startFastifyConstant } = await import('./baselines/fastify-constant.js');
    const f = await startFastifyConstant();
    close = () => f.close();
    ready = { type: 'ready', kind, pid: process.pid, url: f.url };
  } else {
    throw new Error(`unknown server kind ${kind}`);
  }
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const t = setTimeout(() => process.exit(1), 15_000);
    t.unref();
    try {
      await close();
    } finally {
      process.exit(0);
    }
  };
  process.on('message', (m: { type?: string }) => {
    if (m?.type === 'stop') void stop();
  });
  process.on('disconnect', () => void stop());
  process.on('SIGINT', () => {}); // the parent decides when to stop (Ctrl-C reaches the whole group)
  process.on('SIGTERM', () => void stop());
  send(ready);
}

main().catch((err) => {
  send({ type: 'fatal', message: String((err as Error)?.stack ?? err) });
  process.exit(1);
});
