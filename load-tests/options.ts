// Command-line options of the tools (load harness, chaos, benches, scripts): node:util parseArgs,
// strict (an unknown option or a missing value is an error), `--` (npm's separator) ignored.
import { parseArgs } from 'node:util';

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; default?: string | boolean; multiple?: false }>;

type WithHelp<O> = O & { help: { type: 'boolean'; short: 'h' } };
type Config<O> = { args: string[]; options: WithHelp<O>; strict: true; allowPositionals: false };

/** The parsed values; a usage error prints the message and `usage` and exits 2; `--help` prints usage and exits 0. */
export function parseOptions<const O extends OptionSpec>(
  argv: readonly string[],
  options: O,
  usage: string,
): ReturnType<typeof parseArgs<Config<O>>>['values'] {
  const config: Config<O> = {
    args: argv.filter((a) => a !== '--'),
    options: { ...options, help: { type: 'boolean', short: 'h' } },
    strict: true,
    allowPositionals: false,
  };
  let values: ReturnType<typeof parseArgs<Config<O>>>['values'];
  try {
    values = parseArgs(config).values;
  } catch (e) {
    usageError(e, usage);
  }
  if ((values as { help?: boolean }).help) {
    process.stdout.write(`usage: ${usage}\n`);
    process.exit(0);
  }
  return values;
}

/** An integer option in [min, max]; `dflt` when absent. Throws with the option's name otherwise. */
export function intOption(name: string, raw: string | undefined, dflt: number, min: number, max: number): number {
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < min || n > max)
    throw new Error(`--${name} needs an integer in [${min}, ${max}], not ${JSON.stringify(raw)}`);
  return n;
}

/** Prints a bad option value's message and the usage, exits 2. */
export function usageError(e: unknown, usage: string): never {
  process.stderr.write(`${(e as Error).message}\nusage: ${usage}\n`);
  process.exit(2);
}

/** Runs the option checks in `f`; a thrown error is a usage error (message, usage, exit 2). */
export function checked<T>(usage: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    usageError(e, usage);
  }
}
