// Command line of `npm run load`. Every number is bounded, so a typo cannot start a runaway run.
import { availableParallelism } from 'node:os';
import { parseArgs as parseCommandLine } from 'node:util';
import type { Encoding } from '../src/protocol/index.js';
import { AREA_NAMES, type AreaName } from './areas.js';

export const USAGE = `usage: npm run load -- [options]

  --mode load|connections   load (default): officers + citizens moving; connections: idle sockets
  --officers N              simulated officers (default 100)
  --citizens M              simulated citizens (default 400)
  --duration S              seconds of steady load (connections mode: seconds to hold) (default 20)
  --warmup S                seconds of the same load before it, reported apart (default 5; 0: none)
  --rate R                  total citizen loc/s: each every 0.5–1.5 × citizens/R s, no 10 m trigger
                            (default: each citizen every 2–5 s, or sooner after walking 10 m)
  --officer-rate R          total officer loc/s (default: each officer every 1–3 s)
  --target URL              a running Beacon orchestrator (loopback only); default: start one
  --metrics-url URL[,URL…]  where to read server RSS/CPU (Prometheus text) for --target, summed over
                            the list (distributed mode: the orchestrator's and every processor's
                            METRICS_PORT /metrics, as npm run cluster prints them); default
                            <target>/metrics; METRICS_TOKEN from the environment is sent as a bearer token
  --processors N            start a distributed deployment on loopback instead of embedded Beacon:
                            its own redis-server, one orchestrator, N processors (1–32), and the
                            generator in child processes (each under the open-file limit)
  --jwt-secret SECRET       HS256 device-token secret of --target (else JWT_SECRET, else DATA_DIR/jwt-secret)
  --seed K                  placement and movement seed (default 1)
  --workers W               generator threads (default: cores - 1, at least 1)
  --encoding json|msgpack   frame encoding (default json)
  --capacity S              closed-loop capacity phase seconds, Beacon and echo (default 5; 0: skip)
  --echo-duration S         steady seconds of the echo baseline (default min(duration, 10))
  --no-echo                 skip the bare uWS echo baseline
  --assign-seconds S        autocannon seconds per side, Beacon vs bare fastify (default 5; 0: skip)
  --assign-connections C    autocannon connections (default 50)
  --sockets N               connections mode: sockets to open (default 1000)
  --sources K               source addresses 127.x.y.z to spread sockets over (default: 1 per 16k sockets)
  --connect-concurrency C   connects in flight per worker (default 64)
  --lean                    lean generator for beacon and echo runs: own websocket client over
                            net, pre-encoded loc frames, frames read raw (json only); default:
                            the client library (BeaconClient on ws) for every frame
  --area nyc|us             where devices live: New York City's zips (default), or every US ZCTA
                            (officers over a sample of zips, citizens near them)
  --out DIR                 results directory (default load-tests/results)
  --ignore-fd-limit         start even when the open-file limit looks too low
  --quiet                   no live progress line
  --help`;

export interface LoadArgs {
  mode: 'load' | 'connections';
  officers: number;
  citizens: number;
  durationS: number;
  warmupS: number;
  rate?: number;
  officerRate?: number;
  target?: string;
  /** One or more /metrics URLs (comma-separated on the command line). */
  metricsUrls?: string[];
  processors?: number;
  jwtSecret?: string;
  seed: number;
  workers: number;
  encoding: Encoding;
  capacityS: number;
  echoDurationS: number;
  echo: boolean;
  assignSeconds: number;
  assignConnections: number;
  sockets: number;
  sources?: number;
  connectConcurrency: number;
  lean: boolean;
  area: AreaName;
  out: string;
  ignoreFdLimit: boolean;
  quiet: boolean;
}

export class ArgsError extends Error {}

const intIn = (name: string, raw: string, min: number, max: number): number => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ArgsError(`--${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(raw)}`);
  return n;
};

const FLAGS = ['no-echo', 'ignore-fd-limit', 'quiet', 'help', 'lean'] as const;
const VALUED = [
  'mode',
  'officers',
  'citizens',
  'duration',
  'warmup',
  'rate',
  'officer-rate',
  'target',
  'metrics-url',
  'processors',
  'jwt-secret',
  'seed',
  'workers',
  'encoding',
  'capacity',
  'echo-duration',
  'assign-seconds',
  'assign-connections',
  'sockets',
  'sources',
  'connect-concurrency',
  'out',
  'area',
] as const;
const OPTIONS = Object.fromEntries([...FLAGS.map((f) => [f, { type: 'boolean' }] as const), ...VALUED.map((v) => [v, { type: 'string' }] as const)]);

/** The command line as option → value ('true' for a flag), strict: unknown options and missing values are errors. */
function tokens(argv: string[]): Record<string, string> {
  let values: Record<string, unknown>;
  try {
    values = parseCommandLine({ args: argv.filter((a) => a !== '--'), options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new ArgsError((e as Error).message);
  }
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) if (v !== undefined && v !== false) raw[k] = String(v);
  return raw;
}

export function parseArgs(argv: string[], env: Record<string, string | undefined> = process.env): LoadArgs | 'help' {
  const raw = tokens(argv);
  if (raw.help) return 'help';

  const mode = raw.mode ?? 'load';
  if (mode !== 'load' && mode !== 'connections') throw new ArgsError('--mode must be load or connections');
  const encoding = raw.encoding ?? 'json';
  if (encoding !== 'json' && encoding !== 'msgpack') throw new ArgsError('--encoding must be json or msgpack');
  if (raw.lean && encoding !== 'json') throw new ArgsError('--lean speaks json frames only; drop --encoding msgpack or --lean');
  const area = raw.area ?? 'nyc';
  if (!(AREA_NAMES as readonly string[]).includes(area)) throw new ArgsError(`--area must be one of ${AREA_NAMES.join(', ')}`);
  const durationS = raw.duration === undefined ? 20 : intIn('duration', raw.duration, 1, 3600);
  const citizens = raw.citizens === undefined ? 400 : intIn('citizens', raw.citizens, 0, 1_000_000);
  const rate = raw.rate === undefined ? undefined : intIn('rate', raw.rate, 1, 2_000_000);
  if (rate !== undefined && citizens > 0 && rate > citizens * 10)
    throw new ArgsError(`--rate ${rate} asks more than 10 loc/s per citizen; the server rate-limits each socket (MSG_RATE_PER_S)`);
  const officers = raw.officers === undefined ? 100 : intIn('officers', raw.officers, 0, 1_000_000);
  const officerRate = raw['officer-rate'] === undefined ? undefined : intIn('officer-rate', raw['officer-rate'], 1, 2_000_000);
  if (officerRate !== undefined && officers > 0 && officerRate > officers * 10)
    throw new ArgsError(`--officer-rate ${officerRate} asks more than 10 loc/s per officer; the server rate-limits each socket (MSG_RATE_PER_S)`);
  const out: LoadArgs = {
    mode,
    officers,
    citizens,
    durationS,
    warmupS: raw.warmup === undefined ? 5 : intIn('warmup', raw.warmup, 0, 600),
    rate,
    officerRate,
    target: raw.target,
    metricsUrls: raw['metrics-url']?.split(',').filter(Boolean),
    processors: raw.processors === undefined ? undefined : intIn('processors', raw.processors, 1, 32),
    jwtSecret: raw['jwt-secret'] ?? env.JWT_SECRET ?? undefined,
    seed: raw.seed === undefined ? 1 : intIn('seed', raw.seed, 0, 2 ** 31 - 1),
    workers: raw.workers === undefined ? Math.max(1, Math.min(8, availableParallelism() - 1)) : intIn('workers', raw.workers, 1, 64),
    encoding,
    capacityS: raw.capacity === undefined ? 5 : intIn('capacity', raw.capacity, 0, 600),
    echoDurationS: raw['echo-duration'] === undefined ? Math.min(durationS, 10) : intIn('echo-duration', raw['echo-duration'], 1, 3600),
    echo: !raw['no-echo'],
    assignSeconds: raw['assign-seconds'] === undefined ? 5 : intIn('assign-seconds', raw['assign-seconds'], 0, 600),
    assignConnections: raw['assign-connections'] === undefined ? 50 : intIn('assign-connections', raw['assign-connections'], 1, 10_000),
    sockets: raw.sockets === undefined ? 1000 : intIn('sockets', raw.sockets, 1, 2_000_000),
    sources: raw.sources === undefined ? undefined : intIn('sources', raw.sources, 1, 250),
    connectConcurrency: raw['connect-concurrency'] === undefined ? 64 : intIn('connect-concurrency', raw['connect-concurrency'], 1, 10_000),
    lean: !!raw.lean,
    area: area as AreaName,
    out: raw.out ?? 'load-tests/results',
    ignoreFdLimit: !!raw['ignore-fd-limit'],
    quiet: !!raw.quiet,
  };
  if (out.processors !== undefined && out.target) throw new ArgsError('--processors starts its own deployment: not with --target');
  if (out.metricsUrls && out.metricsUrls.length > 64) throw new ArgsError('--metrics-url: at most 64 URLs');
  if (out.mode === 'load' && out.officers + out.citizens === 0) throw new ArgsError('nothing to simulate: --officers and --citizens are both 0');
  return out;
}
