// Configuration from environment variables, validated at start. One table defines every
// setting: its default, its parser and its description (printed by `--help` and in the README).
import { isId, MAX_ID_LENGTH } from './protocol/index.js';
import { pairProblem, readCertificateFile, readPrivateKeyFile } from './tls.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}\nRun with --help for the list of settings.`);
    this.name = 'ConfigError';
  }
}

type Parser<T> = (raw: string) => T;

const int =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`must be an integer in [${min}, ${max}]`);
    return n;
  };
/** 0 (the feature is off) or an integer in [min, max]. */
const offOrInt =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || (n !== 0 && (n < min || n > max))) throw new Error(`must be 0 (off) or an integer in [${min}, ${max}]`);
    return n;
  };
const str: Parser<string> = (raw) => raw;
const optStr: Parser<string | undefined> = (raw) => (raw === '' ? undefined : raw);
/** An id as the protocol defines it (NODE_ID goes into tickets, channel names and Redis keys). */
const optId: Parser<string | undefined> = (raw) => {
  if (raw === '') return undefined;
  if (!isId(raw)) throw new Error(`must be at most ${MAX_ID_LENGTH} characters`);
  return raw;
};
const url =
  (protocols: string[]): Parser<string | undefined> =>
  (raw) => {
    if (raw === '') return undefined;
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw new Error('must be a URL');
    }
    if (!protocols.includes(u.protocol)) throw new Error(`must use ${protocols.join(' or ')}`);
    return raw;
  };
/** A raster tile URL template: http(s), with the {z}, {x} and {y} placeholders Leaflet fills in. */
const tilesUrl: Parser<string | undefined> = (raw) => {
  if (raw === '') return undefined;
  const missing = ['{z}', '{x}', '{y}'].filter((p) => !raw.includes(p));
  if (missing.length > 0) throw new Error(`must contain ${missing.join(', ')} (a tile URL template such as https://tile.example.org/{z}/{x}/{y}.png)`);
  // {s} (subdomain) may stand in the host: check the URL with it filled in.
  return url(['http:', 'https:'])(raw.replaceAll('{s}', 'a')) && raw;
};
const optPort: Parser<number | undefined> = (raw) => (raw === '' ? undefined : int(0, 65535)(raw));
const bool: Parser<boolean> = (raw) => {
  if (['1', 'true', 'yes'].includes(raw.toLowerCase())) return true;
  if (['', '0', 'false', 'no'].includes(raw.toLowerCase())) return false;
  throw new Error('must be 1/0, true/false or yes/no');
};
/** A PEM file that must exist and parse (checked at start: a bad file is a ConfigError, not a stack trace). */
const pemFile =
  (kind: 'certificate' | 'key'): Parser<string | undefined> =>
  (raw) => {
    if (raw === '') return undefined;
    if (kind === 'certificate') readCertificateFile(raw);
    else readPrivateKeyFile(raw);
    return raw;
  };
const level: Parser<string> = (raw) => {
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(raw)) throw new Error('must be a pino level');
  return raw;
};

/** Shortest REPLICATION_KEY accepted (bytes). */
export const MIN_REPLICATION_KEY_BYTES = 32;
/** Shortest METRICS_TOKEN accepted (characters). */
export const MIN_METRICS_TOKEN_LENGTH = 16;

interface Setting<T> {
  default: string;
  parse: Parser<T>;
  help: string;
}
const s = <T>(def: string, parse: Parser<T>, help: string): Setting<T> => ({ default: def, parse, help });

export const SETTINGS = {
  HOST: s('127.0.0.1', str, 'interface both servers bind to (0.0.0.0 in containers)'),
  PORT: s('8080', int(0, 65535), 'orchestrator HTTP port'),
  PROCESSOR_PORT: s('8081', int(0, 65535), 'processor websocket port'),
  PUBLIC_WS_URL: s('', url(['ws:', 'wss:']), 'websocket URL devices are told to open (default ws://HOST:PROCESSOR_PORT/ws, wss:// with TLS)'),
  TLS_CERT_FILE: s('', pemFile('certificate'), 'PEM server certificate (leaf first, then chain): HTTPS on PORT and WSS on PROCESSOR_PORT'),
  TLS_KEY_FILE: s('', pemFile('key'), 'PEM private key of TLS_CERT_FILE (unencrypted); set both or neither'),
  NODE_ID: s('', optId, 'processor node id (default: hostname-port)'),
  JWT_SECRET: s('', optStr, 'HS256 secret for device tokens (embedded mode generates one in DATA_DIR when unset)'),
  JWT_PUBLIC_KEY: s('', optStr, 'PEM public key (RS256/ES256) for device tokens from an identity provider'),
  JWKS_URL: s('', url(['http:', 'https:']), 'JWKS endpoint of the identity provider for device tokens'),
  JWT_ISSUER: s('', optStr, 'required `iss` of device tokens, when set'),
  JWT_AUDIENCE: s('', optStr, 'required `aud` of device tokens, when set'),
  TICKET_SECRET: s('', optStr, 'secret (≥ 16 bytes) sealing socket tickets, shared by orchestrators and processors (required with REDIS_URL)'),
  TICKET_TTL_MS: s('30000', int(1000, 600_000), 'lifetime of a socket ticket'),
  DATA_DIR: s('./data', str, 'embedded mode: token secret and established-connections segments'),
  REDIS_URL: s('', url(['redis:', 'rediss:']), 'switches to distributed mode'),
  REPLICATION_KEY: s(
    '',
    optStr,
    `secret (≥ ${MIN_REPLICATION_KEY_BYTES} bytes) sealing officer positions in Redis, the same on every node (required with REDIS_URL)`,
  ),
  REDIS_CLUSTER: s('0', bool, 'REDIS_URL is one node of a Redis Cluster (the others are discovered)'),
  REDIS_TLS_CA_FILE: s('', pemFile('certificate'), 'PEM CA certificate(s) a rediss:// server is verified against (default: the system CAs)'),
  REDIS_TLS_CERT_FILE: s('', pemFile('certificate'), 'PEM client certificate for rediss:// (Redis tls-auth-clients), with REDIS_TLS_KEY_FILE'),
  REDIS_TLS_KEY_FILE: s('', pemFile('key'), 'PEM private key of REDIS_TLS_CERT_FILE (unencrypted)'),
  OFFICER_WINDOW_MS: s('900000', int(1000, 24 * 3600_000), 'officer availability window (default 15 minutes)'),
  SEARCH_RADIUS_M: s('5000', int(0, 100_000), 'no officer farther than this is pushed as nearest'),
  ALERT_RADIUS_M: s('250', int(0, 100_000), 'a citizen this close to an available officer gets `near`'),
  OFFICER_PRECISION_M: s(
    '200',
    offOrInt(10, 100_000),
    '`nearest` shows an officer farther than ALERT_RADIUS_M at the centre of a grid cell this size (0: exact)',
  ),
  DISTANCE_STEP_M: s('50', int(1, 10_000), '`nearest` distance is rounded to this step while the position shown is coarse'),
  MAP_TILES_URL: s(
    '',
    tilesUrl,
    'operations map base layer: raster tiles, http(s) URL with {z}, {x} and {y} (e.g. https://tile.example.org/{z}/{x}/{y}.png); unset: offline US state and county outlines',
  ),
  MAP_TILES_ATTRIBUTION: s('', optStr, "attribution shown under MAP_TILES_URL tiles (the tile provider's terms usually require one)"),
  MAP_MIN_CELL_COUNT: s('3', int(1, 100_000), 'the operations map hides citizen cells with fewer citizens than this'),
  REQUEST_TTL_MS: s(
    '60000',
    int(1000, 3600_000),
    "a connection request not answered within this expires; an accepted one's stream append is retried this long",
  ),
  REQUESTS_PER_MINUTE: s('6', int(1, 10_000), 'connection requests a citizen may make per minute'),
  ASSIGNMENTS_PER_MINUTE: s('30', int(1, 100_000), 'socket assignments one token subject may get per minute (per orchestrator)'),
  CITIZEN_AREA_M: s('10000', int(0, 1_000_000), 'a citizen `loc` farther than this from its assignment position is refused (0: off)'),
  MAX_SPEED_KMH: s('250', int(0, 100_000), 'a citizen `loc` implying a faster move (beyond 100 m of GPS error) is refused (0: off)'),
  MSG_RATE_PER_S: s('20', int(1, 10_000), 'sustained frames per second per socket before `err: rate_limited`'),
  MSG_BURST: s('60', int(1, 100_000), 'burst of frames per socket allowed above the rate'),
  MAX_SOCKETS: s('100000', int(1, 10_000_000), 'sockets one processor accepts'),
  MAX_BACKPRESSURE_BYTES: s('262144', int(1024, 64 * 1024 * 1024), 'a socket with more unsent bytes than this is closed'),
  IDLE_TIMEOUT_S: s('120', int(8, 960), 'a socket that sends nothing for this long is closed (clients ping)'),
  DRAIN_TIMEOUT_MS: s('10000', int(1000, 600_000), 'SIGTERM exits within this; HTTP clients still open at half of it are cut off'),
  LOG_LEVEL: s('info', level, 'pino log level'),
  METRICS_TOKEN: s(
    '',
    optStr,
    `bearer token (≥ ${MIN_METRICS_TOKEN_LENGTH} chars) every /metrics then requires; a processor serves /metrics on its device port only with it`,
  ),
  METRICS_PORT: s('', optPort, 'distributed processor: /metrics and /healthz on this separate port instead (unset: off; 0: any free port)'),
  METRICS_HOST: s('', optStr, 'interface METRICS_PORT binds to (default HOST)'),
} as const;

export type SettingName = keyof typeof SETTINGS;
export type Config = { [K in SettingName]: ReturnType<(typeof SETTINGS)[K]['parse']> };

/** Reads and validates every setting; throws ConfigError listing all problems at once. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(SETTINGS) as [SettingName, Setting<unknown>][]) {
    const raw = env[name] ?? setting.default;
    try {
      out[name] = setting.parse(raw.trim());
    } catch (e) {
      problems.push(`${name}=${JSON.stringify(raw.length > 40 ? raw.slice(0, 40) + '…' : raw)}: ${(e as Error).message}`);
    }
  }
  const cfg = out as Config;
  if (problems.length === 0) {
    if (cfg.ALERT_RADIUS_M > cfg.SEARCH_RADIUS_M) problems.push('ALERT_RADIUS_M must not exceed SEARCH_RADIUS_M');
    if (cfg.REDIS_URL && !cfg.TICKET_SECRET) problems.push('TICKET_SECRET is required with REDIS_URL (every node must share it)');
    if (cfg.REDIS_URL && !cfg.JWT_SECRET && !cfg.JWT_PUBLIC_KEY && !cfg.JWKS_URL) {
      problems.push('with REDIS_URL set one of JWT_SECRET, JWT_PUBLIC_KEY or JWKS_URL is required');
    }
    problems.push(...tlsProblems(cfg));
    problems.push(...secretProblems(cfg));
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return cfg;
}

/**
 * The TLS settings together: certificate and key come in pairs and must match; a TLS processor
 * never tells devices a ws:// URL; REDIS_TLS_* with a plain redis:// URL is refused rather than
 * ignored, because the operator meant the connection to be encrypted and it would not be.
 */
function tlsProblems(cfg: Config): string[] {
  const out: string[] = [];
  const pair = (cert: SettingName, key: SettingName, what: string) => {
    const c = cfg[cert] as string | undefined;
    const k = cfg[key] as string | undefined;
    if (!c !== !k) out.push(`${cert} and ${key} go together: set both (${what}) or neither`);
    else if (c && k) {
      const p = pairProblem(c, k);
      if (p) out.push(`${key}: ${p}`);
    }
  };
  pair('TLS_CERT_FILE', 'TLS_KEY_FILE', 'HTTPS and WSS');
  pair('REDIS_TLS_CERT_FILE', 'REDIS_TLS_KEY_FILE', 'a Redis client certificate');
  if (cfg.TLS_CERT_FILE && cfg.PUBLIC_WS_URL?.startsWith('ws:')) {
    out.push('PUBLIC_WS_URL uses ws:// but TLS_CERT_FILE is set: the processor serves wss:// only; use a wss:// URL');
  }
  const redisTls = (['REDIS_TLS_CA_FILE', 'REDIS_TLS_CERT_FILE', 'REDIS_TLS_KEY_FILE'] as const).filter((n) => cfg[n]);
  if (redisTls.length > 0 && cfg.REDIS_URL && !cfg.REDIS_URL.startsWith('rediss:')) {
    out.push(
      `${redisTls.join(', ')} set but REDIS_URL is redis:// (unencrypted): use rediss:// for Redis over TLS, or unset ${redisTls.length > 1 ? 'them' : 'it'}`,
    );
  }
  return out;
}

/** Secrets are checked here, where the message can say what is wrong without echoing the value. */
function secretProblems(cfg: Config): string[] {
  const out: string[] = [];
  const key = cfg.REPLICATION_KEY;
  if (cfg.REDIS_URL && !key) out.push('REPLICATION_KEY is required with REDIS_URL: every node must share it (e.g. `openssl rand -hex 32`)');
  if (key && Buffer.byteLength(key) < MIN_REPLICATION_KEY_BYTES)
    out.push(`REPLICATION_KEY must be at least ${MIN_REPLICATION_KEY_BYTES} bytes (e.g. \`openssl rand -hex 32\`)`);
  if (key && key === cfg.TICKET_SECRET) out.push('REPLICATION_KEY must differ from TICKET_SECRET');
  if (cfg.TICKET_SECRET && Buffer.byteLength(cfg.TICKET_SECRET) < 16)
    out.push('TICKET_SECRET must be at least 16 bytes (32 random bytes recommended, e.g. `openssl rand -hex 32`)');
  const token = cfg.METRICS_TOKEN;
  if (token && (token.length < MIN_METRICS_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(token))) {
    out.push(`METRICS_TOKEN must be at least ${MIN_METRICS_TOKEN_LENGTH} visible ASCII characters without spaces (e.g. \`openssl rand -hex 24\`)`);
  }
  return out;
}

/** The settings as a text table, for `--help`. */
export function configHelp(): string {
  const rows = Object.entries(SETTINGS).map(([name, st]) => `  ${name.padEnd(24)} ${(st.default || '-').padEnd(10)} ${st.help}`);
  return [`  ${'VARIABLE'.padEnd(24)} ${'DEFAULT'.padEnd(10)} MEANING`, ...rows].join('\n');
}
