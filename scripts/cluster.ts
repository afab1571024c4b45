// `npm run cluster -- --processors 3 [--port 8080] [--redis-port 0]`: a local distributed
// deployment on one machine, for trying distributed mode and for the load harness: a
// redis-server it starts (AOF on, in a temp dir), one orchestrator and N processors, each a
// separate OS process (node --import tsx src/cli.ts <role>). Ctrl-C stops them all.
// Secrets: JWT_SECRET / TICKET_SECRET / REPLICATION_KEY from the environment, else random for
// this run (JWT_SECRET printed so `npm run token` can mint device tokens for it). Each processor
// serves its metrics on a METRICS_PORT of its own (printed), never on the device port.
import { startDeployment } from '../load-tests/fleet/deployment.js';
import { killAll } from '../load-tests/fleet/procs.js';
import { intOption, parseOptions, usageError } from '../load-tests/options.js';

const USAGE = 'npm run cluster -- [--processors N (default 3, max 32)] [--port ORCHESTRATOR_PORT (default 8080)] [--redis-port P (default: a free one)]';

function options(argv: string[]): { processors: number; port: number; redisPort: number } {
  const v = parseOptions(argv, { processors: { type: 'string' }, port: { type: 'string' }, 'redis-port': { type: 'string' } }, USAGE);
  try {
    return {
      processors: intOption('processors', v.processors, 3, 1, 32),
      port: intOption('port', v.port, 8080, 0, 65535),
      redisPort: intOption('redis-port', v['redis-port'], 0, 0, 65535),
    };
  } catch (e) {
    usageError(e, USAGE);
  }
}

async function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  let stopping = false;
  let stopAll: (() => Promise<void>) | undefined;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    // Roles first (graceful: they leave the registry and drain), Redis last; temp dir removed.
    void (stopAll ?? (async () => killAll()))().finally(() => process.exit(code));
  };
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  process.once('exit', killAll);
  try {
    const d = await startDeployment({
      processors: o.processors,
      port: o.port,
      redisPort: o.redisPort,
      // AOF with fsync every second: the established-connections stream survives a Redis restart.
      appendfsync: 'everysec',
      env: { HOST: process.env.HOST || '127.0.0.1', LOG_LEVEL: process.env.LOG_LEVEL || 'warn' },
      secrets: { JWT_SECRET: process.env.JWT_SECRET, TICKET_SECRET: process.env.TICKET_SECRET, REPLICATION_KEY: process.env.REPLICATION_KEY },
      echo: true,
    });
    stopAll = () => d.stop();
    const orchUrl = d.orchestrator.url;
    const metrics = d.processors.map((p) => p.metricsUrl).filter(Boolean);
    process.stdout.write(
      [
        '',
        `  Beacon distributed mode: 1 orchestrator, ${o.processors} processor(s), redis-server ${d.redisUrl} (AOF on, ${d.redisDir})`,
        `  orchestrator  ${orchUrl}   (readyz ${orchUrl}/readyz, metrics ${orchUrl}/metrics)`,
        ...d.processors.map((p) => `  ${p.line}`),
        '',
        `  Tokens:  JWT_SECRET=${d.secrets.JWT_SECRET} npm run -s token -- --role citizen --sub c-1`,
        `  Socket:  curl -H "Authorization: Bearer $TOKEN" "${orchUrl}/v1/citizens/socket?lat=40.758&lng=-73.9855"`,
        `  Stream:  redis-cli -p ${d.redisPort} XRANGE 'beacon:{beacon:established}' - +`,
        `  Load:    JWT_SECRET=${d.secrets.JWT_SECRET} npm run load -- --target ${orchUrl} --metrics-url ${[`${orchUrl}/metrics`, ...metrics].join(',')}`,
        '',
        '  Ctrl-C stops everything.',
        '',
      ].join('\n') + '\n',
    );
  } catch (e) {
    process.stderr.write(`cluster failed to start: ${(e as Error).message}\n`);
    stop(1);
  }
}

void main();
