// How the `beacon` commands end a process. Exit codes: 0 done or stopped gracefully, 1 could not
// start or stop cleanly, 2 usage or configuration.
import { ConfigError, configHelp, loadConfig, type Config } from '../config.js';

export function fail(message: string, code: 1 | 2): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

/** True (after printing `usage` and every setting) when the arguments ask for help. */
export function printedHelp(args: readonly string[], usage: string): boolean {
  if (!args.includes('--help') && !args.includes('-h')) return false;
  process.stdout.write(`${usage}${configHelp()}\n`);
  return true;
}

/** The servers take no arguments: settings come from the environment. */
export function refuseArguments(args: readonly string[], helpCommand: string): void {
  const extra = args.filter((a) => a !== '--');
  if (extra.length > 0) fail(`unknown argument ${extra[0]}; settings come from environment variables (${helpCommand} --help lists them)`, 2);
}

export function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message, 2);
    throw e;
  }
}

/** Awaits a start; a ConfigError exits 2, anything else exits 1 with `what could not start: …`. */
export async function startedOrExit<T>(what: string, start: Promise<T>): Promise<T> {
  try {
    return await start;
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message, 2);
    fail(`${what} could not start: ${(e as Error).message}`, 1);
  }
}
