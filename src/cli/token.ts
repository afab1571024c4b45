// `beacon token --role officer --sub o-1 [...]` (also `npm run token`): mints a device token the
// way an identity provider would, with the key the server resolves (JWT_SECRET, else
// DATA_DIR/jwt-secret, created if missing). Prints only the token, so `TOKEN=$(beacon token ...)`
// works. `--role operator` mints a token for the operations map (/map), nothing else accepts it.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.js';
import { mintDeviceToken, resolveDeviceKeys } from '../auth/index.js';
import type { PublicProfile, Role } from '../protocol/index.js';

export const TOKEN_USAGE = `usage: npm run -s token -- --role officer|citizen|operator --sub <profile id> [--acct <account id>]
                          [--name <display name>] [--badge <badge>] [--precinct <precinct>] [--ttl <seconds>]
       (or: beacon token --role ... with the same options)`;

const ROLES = ['officer', 'citizen', 'operator'];

function fail(msg: string, code = 2): never {
  process.stderr.write(`${msg}\n`);
  process.exit(code);
}

const OPTIONS = {
  role: { type: 'string' },
  sub: { type: 'string' },
  acct: { type: 'string' },
  name: { type: 'string' },
  badge: { type: 'string' },
  precinct: { type: 'string' },
  ttl: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Strict: an unknown option, a stray argument or a missing value is a usage error (exit 2). */
function options(argv: string[]) {
  try {
    const { values } = parseArgs({ args: argv.filter((a) => a !== '--'), options: OPTIONS, strict: true, allowPositionals: false });
    if (values.help) fail(TOKEN_USAGE, 0);
    return values;
  } catch (e) {
    fail(`${(e as Error).message}\n${TOKEN_USAGE}`);
  }
}

async function mint(argv: string[]): Promise<void> {
  const args = options(argv);
  if (!args.role || !ROLES.includes(args.role)) fail(`--role must be officer, citizen or operator\n${TOKEN_USAGE}`);
  if (!args.sub) fail(`--sub (the profile id) is required\n${TOKEN_USAGE}`);
  const ttlS = args.ttl === undefined ? 3600 : Number(args.ttl);
  if (!Number.isInteger(ttlS) || ttlS < 1 || ttlS > 30 * 86400) fail('--ttl must be whole seconds between 1 and 2592000');

  const config = loadConfig();
  const keys = await resolveDeviceKeys(config, { generate: !config.REDIS_URL });
  if (!keys.secret) {
    fail(`device tokens are verified with ${keys.source}: they come from your identity provider; this command only signs HS256 tokens`);
  }
  const profile: PublicProfile = {};
  if (args.name) profile.name = args.name;
  if (args.badge) profile.badge = args.badge;
  if (args.precinct) profile.precinct = args.precinct;
  const token = await mintDeviceToken(keys.secret, {
    // 'operator' is not a device role (the wire contract knows only officer and citizen); the
    // map's own verifier accepts it and every device route refuses it.
    role: args.role as Role,
    sub: args.sub,
    acct: args.acct,
    profile,
    ttlS,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
  });
  process.stdout.write(`${token}\n`);
}

/** Runs the command; exits the process on every error (2 usage/configuration, 1 otherwise). */
export function runToken(argv: string[]): Promise<void> {
  return mint(argv).catch((e) => fail(e instanceof ConfigError ? e.message : `token: ${(e as Error).message}`, e instanceof ConfigError ? 2 : 1));
}
