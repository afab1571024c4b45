// `beacon healthcheck [all|orchestrator|processor]`: the container HEALTHCHECK. Asks the local
// /healthz of the servers the role runs (orchestrator on PORT, processor on PROCESSOR_PORT) and
// exits 0 when all answer 200, 1 otherwise. Without a role argument it reads the role the
// container's main process was started with (/proc/1/cmdline), so one image and one HEALTHCHECK
// line serve every role.
//
// With TLS_CERT_FILE set both servers speak only TLS, so the check uses https:// and does not
// verify the certificate: it talks to 127.0.0.1, which no certificate for a public name covers,
// sends no credential and reads only a status code. The TLS handshake itself must still succeed.
import { readFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { ConfigError, loadConfig, type Config } from '../config.js';

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
  if (url.startsWith('https:')) return okLoopbackTls(url);
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    return r.status === 200;
  } catch {
    return false;
  }
}

/** GET over TLS to a loopback URL, certificate not verified (see the file comment). */
function okLoopbackTls(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpsGet(url, { rejectUnauthorized: false, timeout: TIMEOUT_MS }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** Exit code: 0 healthy, 1 unhealthy (or a configuration problem), 2 usage. */
export async function runHealthcheck(argv: string[]): Promise<number> {
  const arg = argv.find((a) => a !== '--');
  if (arg !== undefined && !(HEALTH_ROLES as readonly string[]).includes(arg)) {
    process.stderr.write(`healthcheck: unknown role ${arg} (one of ${HEALTH_ROLES.join(', ')})\n`);
    return 2;
  }
  const role = (arg as HealthRole | undefined) ?? roleOfInit() ?? 'all';
  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    // 1, not 2: Docker reserves exit code 2 of a HEALTHCHECK.
    process.stderr.write(`unhealthy (${role}): ${e.message}\n`);
    return 1;
  }
  // The servers bind HOST (0.0.0.0 in containers); loopback reaches them from inside.
  const scheme = config.TLS_CERT_FILE ? 'https' : 'http';
  const targets: string[] = [];
  if (role !== 'processor') targets.push(`${scheme}://127.0.0.1:${config.PORT}/healthz`);
  if (role !== 'orchestrator') targets.push(`${scheme}://127.0.0.1:${config.PROCESSOR_PORT}/healthz`);
  const results = await Promise.all(targets.map(ok));
  const bad = targets.filter((_, i) => !results[i]);
  if (bad.length > 0) {
    process.stderr.write(`unhealthy (${role}): no 200 from ${bad.join(', ')}\n`);
    return 1;
  }
  process.stdout.write(`healthy (${role})\n`);
  return 0;
}
