// The `beacon` command's entry (bin/beacon.js runs it, compiled as dist/cli.js or through tsx;
// `npm start`, `npm run orchestrator|processor` run it too). The commands are in src/cli/.
import { runCli } from './cli/dispatch.js';

runCli(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`beacon failed: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
