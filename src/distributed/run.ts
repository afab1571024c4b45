// `npm run orchestrator` / `npm run processor`: one role of distributed mode in this process,
// configured by the environment (REDIS_URL, TICKET_SECRET, REPLICATION_KEY, JWT_*, PORT / PROCESSOR_PORT,
// PUBLIC_WS_URL, NODE_ID; `--help` lists them). SIGTERM/SIGINT stop gracefully.
// Exit codes: 0 after a graceful stop, 1 when it could not start or stop cleanly, 2 for a
// configuration problem.
import { ConfigError, configHelp, loadConfig, type Config } from '../config.js';
import { createLogger } from '../log.js';
import { exitOnStopSignals } from '../shutdown.js';
import { startOrchestratorRole } from './orchestrator-role.js';
import { startProcessorRole } from './processor-role.js';

const ROLES = ['orchestrator', 'processor'] as const;
type RoleName = (typeof ROLES)[number];

const USAGE = `Beacon distributed mode: one role per process, coordinated through Redis.

Usage: npm run orchestrator       (tsx src/distributed/run.ts orchestrator)
       npm run processor          (tsx src/distributed/run.ts processor)
       npm run cluster -- --processors 3    a local deployment with its own redis-server

Required: REDIS_URL, TICKET_SECRET and REPLICATION_KEY (shared by every node), one of JWT_SECRET / JWT_PUBLIC_KEY / JWKS_URL.

Settings (environment variables):
`;

async function main(): Promise<void> {
  const args = process.argv.slice(2).filter((a) => a !== '--');
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${USAGE}${configHelp()}\n`);
    return;
  }
  const role = args[0] as RoleName;
  if (args.length !== 1 || !ROLES.includes(role)) {
    process.stderr.write(`usage: tsx src/distributed/run.ts orchestrator|processor (--help for settings)\n`);
    process.exit(2);
  }
  let config: Config;
  try {
    config = loadConfig();
    if (!config.REDIS_URL) throw new ConfigError(['REDIS_URL is required for the distributed roles (npm start runs embedded mode without it)']);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const logger = createLogger(config.LOG_LEVEL, 'beacon');
  let running: { close(): Promise<void> };
  try {
    if (role === 'orchestrator') {
      const r = await startOrchestratorRole(config, { logger });
      process.stdout.write(`orchestrator ${r.url}  stream ${r.streamKey}\n`);
      running = r;
    } else {
      const r = await startProcessorRole(config, { logger });
      process.stdout.write(`processor ${r.nodeId} ${r.url}${r.metricsUrl ? `  metrics ${r.metricsUrl}` : ''}\n`);
      running = r;
    }
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`beacon ${role} could not start: ${(e as Error).message}\n`);
    process.exit(1);
  }

  exitOnStopSignals(logger, `stopping the ${role}`, () => running.close(), config.DRAIN_TIMEOUT_MS);
}

main().catch((e) => {
  process.stderr.write(`beacon failed: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
