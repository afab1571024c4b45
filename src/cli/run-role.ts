// `beacon orchestrator` / `beacon processor` (`npm run orchestrator|processor`): one role of
// distributed mode in this process, configured by the environment. Prints one banner line when
// ready (tools wait for it), then runs until SIGTERM/SIGINT. Loaded only for these commands, so
// `beacon all` never loads the Redis code.
import { startOrchestratorRole, startProcessorRole } from '../distributed/index.js';
import { createLogger } from '../log.js';
import { exitOnStopSignals } from '../shutdown.js';
import { configOrExit, fail, printedHelp, refuseArguments, startedOrExit } from './exit.js';
import { ROLE_USAGE } from './usage.js';

export type RoleName = 'orchestrator' | 'processor';

export async function runRole(role: RoleName, args: readonly string[]): Promise<void> {
  if (printedHelp(args, ROLE_USAGE[role])) return;
  refuseArguments(args, `beacon ${role}`);
  const config = configOrExit();
  if (!config.REDIS_URL)
    fail(`beacon ${role} is distributed mode and needs REDIS_URL (redis://host:6379); for one process without Redis run \`beacon all\``, 2);
  const logger = createLogger(config.LOG_LEVEL, 'beacon');
  let running: { close(): Promise<void> };
  if (role === 'orchestrator') {
    const r = await startedOrExit(`beacon ${role}`, startOrchestratorRole(config, { logger }));
    process.stdout.write(`orchestrator ${r.url}  stream ${r.streamKey}\n`);
    running = r;
  } else {
    const r = await startedOrExit(`beacon ${role}`, startProcessorRole(config, { logger }));
    process.stdout.write(`processor ${r.nodeId} ${r.url}${r.metricsUrl ? `  metrics ${r.metricsUrl}` : ''}\n`);
    running = r;
  }
  exitOnStopSignals(logger, `stopping the ${role}`, () => running.close(), config.DRAIN_TIMEOUT_MS);
}
