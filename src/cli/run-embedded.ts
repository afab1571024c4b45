// `beacon all` (`npm start`): embedded mode, the orchestrator and one processor in this process,
// no Redis. Prints a banner with the addresses, then runs until SIGTERM/SIGINT.
import type { Config } from '../config.js';
import { startEmbedded, type Embedded } from '../embedded.js';
import { createLogger } from '../log.js';
import { DOCS_PATH } from '../orchestrator/index.js';
import { exitOnStopSignals } from '../shutdown.js';
import { configOrExit, fail, printedHelp, refuseArguments, startedOrExit } from './exit.js';
import { EMBEDDED_USAGE } from './usage.js';

export async function runEmbedded(args: readonly string[]): Promise<void> {
  if (printedHelp(args, EMBEDDED_USAGE)) return;
  refuseArguments(args, 'npm start --');
  const config = configOrExit();
  if (config.REDIS_URL) {
    fail(
      'REDIS_URL is set: distributed mode runs orchestrators and processors as separate processes\n' +
        '(`npm run orchestrator` / `npm run processor`, or `npm run cluster -- --processors 3` for a local\n' +
        'deployment). `npm start` is embedded mode only; unset REDIS_URL to run everything in this process.',
      2,
    );
  }
  const logger = createLogger(config.LOG_LEVEL, 'beacon');
  const beacon = await startedOrExit('beacon', startEmbedded(config, { logger }));
  process.stdout.write(banner(config, beacon));
  exitOnStopSignals(logger, 'stopping: no new assignments, draining sockets, flushing the stream', () => beacon.close(), config.DRAIN_TIMEOUT_MS);
}

function banner(config: Config, beacon: Embedded): string {
  const o = beacon.orchestratorUrl;
  const tls = config.TLS_CERT_FILE;
  const keys = beacon.deviceKeys.source === 'DATA_DIR' ? `HS256, secret in ${beacon.deviceKeys.secretFile}` : `from ${beacon.deviceKeys.source}`;
  return (
    [
      '',
      `  Beacon is running (embedded mode).`,
      `  orchestrator  ${o}   (socket assignment, connection requests)`,
      `  processor     ${beacon.processor.url}`,
      `  API docs      ${o}${DOCS_PATH}   OpenAPI ${o}/openapi.json   metrics ${o}/metrics${config.METRICS_TOKEN ? ' (bearer METRICS_TOKEN)' : ''}`,
      ...(tls ? [`  TLS           HTTPS and WSS only, certificate ${tls}`] : []),
      `  device tokens ${keys}`,
      `  connections   ${beacon.streamDir}/ (one segment per UTC day)`,
      '',
      `  Try it:  npm run demo`,
      `           TOKEN=$(npm run -s token -- --role citizen --sub c-1)`,
      `           curl ${tls ? '--cacert <CA of the certificate> ' : ''}-H "Authorization: Bearer $TOKEN" "${o}/v1/citizens/socket?lat=40.758&lng=-73.9855"`,
      '',
    ].join('\n') + '\n'
  );
}
