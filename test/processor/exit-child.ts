// Child process for exit.test.ts: starts a processor with a socket open, drains or closes it, and
// must then exit on its own (no lingering timers, listen sockets or uWS handles).
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { ticketSigner } from '../../src/auth/index.js';
import { ticketClaims } from './fixture.js';
import { loadConfig } from '../../src/config.js';
import { MemoryBus } from '../../src/adapters/memory/index.js';
import { createLogger } from '../../src/log.js';
import { startProcessor } from '../../src/processor/index.js';

const secret = randomBytes(32);
const bus = new MemoryBus();
const p = await startProcessor({
  config: { ...loadConfig({}), HOST: '127.0.0.1', PROCESSOR_PORT: 0 },
  nodeId: 'exit',
  ticketSecret: secret,
  bus,
  logger: createLogger('silent', 'exit'),
});
const ticket = ticketSigner(secret)(ticketClaims('exit', p.epoch, 'officer', 'o'));
const ws = new WebSocket(`${p.url}?ticket=${ticket}`);
await new Promise((r) => ws.once('message', r));
ws.send(JSON.stringify({ t: 'loc', lat: 40.7, lng: -73.9 }));
await new Promise((r) => setTimeout(r, 50));
if (process.argv[2] === 'drain') await p.drain();
else await p.close();
await new Promise((r) => ws.once('close', r));
await bus.close();
process.stdout.write('stopped\n');
