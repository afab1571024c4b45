// `npm start`: Beacon in embedded mode (orchestrator + one processor, one process, no Redis).
// Configuration from the environment (`--help` lists it). Exit codes: 0 after a graceful stop,
// 1 when it could not start or stop cleanly, 2 for a configuration problem.
import { ConfigError, configHelp, loadConfig, type Config } from './config.js';
import { startEmbedded, type Embedded } from './embedded.js';
import { createLogger } from './log.js';
import { exitOnStopSignals } from './shutdown.js';
import { DOCS_PATH } from './orchestrator/index.js';

const USAGE = `Beacon — real-time proximity service (embedded mode: orchestrator + one processor, no Redis)

Usage: npm start                      (beacon all)
       npm start -- --help            this text

Mint a device token for trying it:  npm run token -- --role officer --sub o-1 [--name "Ofc. Diaz"]
Watch an officer and a citizen find each other:  npm run demo

Settings (environment variables):
`;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${USAGE}${configHelp()}\n`);
    return;
  }
  const unknown = args.filter((a) => a !== '--');
  if (unknown.length > 0) {
    process.stderr.write(`unknown argument ${unknown[0]}; settings come from environment variables (--help lists them)\n`);
    process.exit(2);
  }

  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  if (config.REDIS_URL) {
    process.stderr.write(
      'REDIS_URL is set: distributed mode runs orchestrators and processors as separate processes\n' +
        '(`npm run orchestrator` / `npm run processor`, or `npm run cluster -- --processors 3` for a local\n' +
        'deployment). `npm start` is embedded mode only; unset REDIS_URL to run everything in this process.\n',
    );
    process.exit(2);
  }

  const logger = createLogger(config.LOG_LEVEL, 'beacon');
  let beacon: Embedded;
  try {
    beacon = await startEmbedded(config, { logger });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`beacon could not start: ${(e as Error).message}\n`);
    process.exit(1);
  }

  const o = beacon.orchestratorUrl;
  const tls = config.TLS_CERT_FILE;
  process.stdout.write(
    [
      '',
      `  Beacon is running (embedded mode).`,
      `  orchestrator  ${o}   (socket assignment, connection requests)`,
      `  processor     ${beacon.processor.url}`,
      `  API docs      ${o}${DOCS_PATH}   OpenAPI ${o}/openapi.json   metrics ${o}/metrics${config.METRICS_TOKEN ? ' (bearer METRICS_TOKEN)' : ''}`,
      ...(tls ? [`  TLS           HTTPS and WSS only, certificate ${tls}`] : []),
      `  device tokens ${beacon.deviceKeys.source === 'DATA_DIR' ? `HS256, secret in ${beacon.deviceKeys.secretFile}` : `from ${beacon.deviceKeys.source}`}`,
      `  connections   ${beacon.streamDir}/ (one segment per UTC day)`,
      '',
      `  Try it:  npm run demo`,
      `           TOKEN=$(npm run -s token -- --role citizen --sub c-1)`,
      `           curl ${tls ? '--cacert <CA of the certificate> ' : ''}-H "Authorization: Bearer $TOKEN" "${o}/v1/citizens/socket?lat=40.758&lng=-73.9855"`,
      '',
    ].join('\n') + '\n',
  );

  exitOnStopSignals(logger, 'stopping: no new assignments, draining sockets, flushing the stream', () => beacon.close(), config.DRAIN_TIMEOUT_MS);
}

main().catch((e) => {
  process.stderr.write(`beacon failed: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
