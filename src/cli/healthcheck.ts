// `beacon healthcheck [all|orchestrator|processor]`: the container HEALTHCHECK. Asks the local
// /healthz of the servers the role runs (orchestrator on PORT, processor on PROCESSOR_PORT) and
// exits 0 when all answer 200, 1 otherwise. Without a role argument it reads the role the
// container's main process was started with (/proc/1/cmdline), so one image and one HEALTHCHECK
// line serve every role.
import { readFileSync } from 'node:fs';
import { loadConfig } from '../config.js';

export const HEALTH_ROLES = ['all', 'orchestrator', 'processor'] as const;
export type HealthRole = (typeof HEALTH_ROLES)[number];

const TIMEOUT_MS = 3000;

/** The role in PID 1's command line (`node bin/beacon.js processor`), else undefined. */
export function roleOfInit(cmdline?: string): HealthRole | undefined {
  let raw = cmdline;
  if (raw === undefined) {
    try {
      raw = readFileSync('/proc/1/cmdline', 'utf8');
    } catch {
      return undefined;
    }
  }
  const argv = raw.split('\0');
  const bin = argv.findIndex((a) => /beacon(\.js)?$|cli\.(js|ts)$/.test(a));
  if (bin < 0) return undefined;
  const sub = argv[bin + 1];
  if (sub === undefined || sub === '') return 'all';
  return (HEALTH_ROLES as readonly string[]).includes(sub) ? (sub as HealthRole) : undefined;
}

async function ok(url: string): Promise<boolean> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    return r.status === 200;
  } catch {
    return false;
  }
}

/** Exit code: 0 healthy, 1 unhealthy, 2 usage. */
export async function runHealthcheck(argv: string[]): Promise<number> {
  const arg = argv.find((a) => a !== '--');
  if (arg !== undefined && !(HEALTH_ROLES as readonly string[]).includes(arg)) {
    process.stderr.write(`healthcheck: unknown role ${arg} (one of ${HEALTH_ROLES.join(', ')})\n`);
    return 2;
  }
  const role = (arg as HealthRole | undefined) ?? roleOfInit() ?? 'all';
  const config = loadConfig();
  // The servers bind HOST (0.0.0.0 in containers); loopback reaches them from inside.
  const targets: string[] = [];
  if (role !== 'processor') targets.push(`http://127.0.0.1:${config.PORT}/healthz`);
  if (role !== 'orchestrator') targets.push(`http://127.0.0.1:${config.PROCESSOR_PORT}/healthz`);
  const results = await Promise.all(targets.map(ok));
  const bad = targets.filter((_, i) => !results[i]);
  if (bad.length > 0) {
    process.stderr.write(`unhealthy (${role}): no 200 from ${bad.join(', ')}\n`);
    return 1;
  }
  process.stdout.write(`healthy (${role})\n`);
  return 0;
}
