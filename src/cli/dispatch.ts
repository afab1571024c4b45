// `beacon <command>`: picks the command and calls it. The server commands are imported only when
// asked for, so `beacon token` or `beacon healthcheck` load neither server and `beacon all` no
// Redis code.
import { configHelp } from '../config.js';
import { COMMANDS } from './commands.js';
import { fail } from './exit.js';
import { HEALTHCHECK_USAGE, USAGE } from './usage.js';

export async function runCli(argv: readonly string[]): Promise<void> {
  const [first, ...rest] = argv[0] === '--' ? argv.slice(1) : [...argv];
  // `beacon` alone and `beacon --some-flag` are the default command.
  const command = first === undefined || (first.startsWith('-') && first !== '--help' && first !== '-h') ? 'all' : first;
  const args = first === undefined || command === first ? rest : [...argv];
  const help = args.includes('--help') || args.includes('-h');
  switch (command) {
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(`${USAGE}${configHelp()}\n`);
      return;
    case 'all':
      return (await import('./run-embedded.js')).runEmbedded(args);
    case 'orchestrator':
    case 'processor':
      return (await import('./run-role.js')).runRole(command, args);
    case 'token': {
      const { runToken, TOKEN_USAGE } = await import('./token.js');
      if (help) process.stdout.write(`${TOKEN_USAGE}\n`);
      else await runToken(args);
      return;
    }
    case 'healthcheck':
      if (help) process.stdout.write(`${HEALTHCHECK_USAGE}\n`);
      else process.exitCode = await (await import('./healthcheck.js')).runHealthcheck(args);
      return;
    default:
      fail(`unknown command ${JSON.stringify(command)} (one of: ${COMMANDS.join(', ')})\n\n${USAGE}${configHelp()}`, 2);
  }
}
