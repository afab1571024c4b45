// `beacon <command>`: one entry point for every role (bin/beacon.js runs this, compiled or via tsx).
//   beacon [all]          embedded mode: orchestrator + one processor in one process (src/main.ts)
//   beacon orchestrator   distributed mode, the HTTP front door (REDIS_URL required)
//   beacon processor      distributed mode, one websocket node (REDIS_URL required)
//   beacon token          mints a device/operator token (src/cli/token.ts)
//   beacon healthcheck    the container HEALTHCHECK (src/cli/healthcheck.ts)
// Exit codes: 0 done / graceful stop, 1 could not start or stop cleanly, 2 usage or configuration.
import { ConfigError, configHelp, loadConfig, type Config } from './config.js';
import { COMMANDS } from './cli/commands.js';
import { runHealthcheck } from './cli/healthcheck.js';
import { runToken, TOKEN_USAGE } from './cli/token.js';


const USAGE = `Beacon — real-time proximity service

Usage: beacon [command] [--help]

Commands:
  all            (default) embedded mode: orchestrator + one processor in one process, no Redis
  orchestrator   distributed mode: HTTP socket assignment and connection requests (needs REDIS_URL)
  processor      distributed mode: one websocket node owning zip shards (needs REDIS_URL)
  token          mint a token: beacon token --role officer|citizen|operator --sub <id> [...]
  healthcheck    exit 0 when the local servers of a role answer /healthz (container HEALTHCHECK)
  help           this text

Settings come from environment variables:
`;

const ROLE_HELP: Record<'orchestrator' | 'processor', string> = {
  orchestrator: `Usage: beacon orchestrator

Distributed mode, orchestrator role: serves socket assignment and connection requests on PORT,
coordinates with processors through Redis (REDIS_URL, required), appends established connections
to the Redis Stream. Run as many as you like behind a load balancer. The operations map is at
/map (operator token: beacon token --role operator --sub ops-1).

Settings (environment variables):
`,
  processor: `Usage: beacon processor

Distributed mode, processor role: serves device websockets on PROCESSOR_PORT, registers itself in
Redis (REDIS_URL, required) under NODE_ID and owns the zip shards the registry assigns it. Devices
are told to open PUBLIC_WS_URL: set it to the address they can reach. Its metrics are served on
METRICS_PORT (a listener of its own) or, with METRICS_TOKEN, to that bearer on PROCESSOR_PORT;
with neither, not at all.

Settings (environment variables):
`,
};

/**
 * The distributed roles live in src/distributed/ (run.ts: start, banner, graceful stop on
 * SIGTERM/SIGINT, exit codes). Loaded only when asked for, so `beacon all` never loads Redis code;
 * false when this build has no distributed mode.
 */
async function runDistributed(role: 'orchestrator' | 'processor'): Promise<boolean> {
  // A variable specifier: the embedded build and its type-check do not depend on it.
  const spec = './distributed/run.js';
  process.argv = [process.argv[0], process.argv[1], role];
  try {
    await import(spec);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes('distributed')) return false;
    throw e;
  }
}

function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
}

async function runRole(role: 'orchestrator' | 'processor', args: string[]): Promise<void> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${ROLE_HELP[role]}${configHelp()}\n`);
    return;
  }
  const extra = args.filter((a) => a !== '--');
  if (extra.length > 0) {
    process.stderr.write(`unknown argument ${extra[0]}; settings come from environment variables (beacon ${role} --help lists them)\n`);
    process.exit(2);
  }
  const config = configOrExit();
  if (!config.REDIS_URL) {
    process.stderr.write(`beacon ${role} is distributed mode and needs REDIS_URL (redis://host:6379); for one process without Redis run \`beacon all\`\n`);
    process.exit(2);
  }
  if (!(await runDistributed(role))) {
    process.stderr.write(`beacon ${role}: distributed mode is not part of this build (src/distributed/ missing); run \`beacon all\`\n`);
    process.exit(1);
  }
}

export async function runCli(argv: string[]): Promise<void> {
  const [first, ...rest] = argv[0] === '--' ? argv.slice(1) : argv;
  // `beacon` alone and `beacon --some-flag` are the default command.
  const command = first === undefined || (first.startsWith('-') && first !== '--help' && first !== '-h') ? 'all' : first;
  const args = first === undefined || command === first ? rest : argv;
  switch (command) {
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(`${USAGE}${configHelp()}\n`);
      return;
    case 'all':
      // src/main.ts is the embedded implementation (also `npm start`); it reads process.argv.
      process.argv = [process.argv[0], process.argv[1], ...args];
      await import('./main.js');
      return;
    case 'orchestrator':
    case 'processor':
      return runRole(command, args);
    case 'token':
      if (args.includes('--help') || args.includes('-h')) {
        process.stdout.write(`${TOKEN_USAGE}\n`);
        return;
      }
      return runToken(args);
    case 'healthcheck':
      if (args.includes('--help') || args.includes('-h')) {
        process.stdout.write('Usage: beacon healthcheck [all|orchestrator|processor]   (default: the role of the container\'s main process)\n');
        return;
      }
      process.exitCode = await runHealthcheck(args);
      return;
    default:
      process.stderr.write(`unknown command ${JSON.stringify(command)} (one of: ${COMMANDS.join(', ')})\n\n${USAGE}${configHelp()}\n`);
      process.exit(2);
  }
}

runCli(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`beacon failed: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
