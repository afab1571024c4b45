// The orchestrator's peer: a bare fastify route on the same path returning a constant JSON body
// of the same shape as an assignment. No auth, no zip lookup, no ticket signing: the framework's
// floor on this machine.
import Fastify from 'fastify';
import { HTTP_PATHS, type SocketAssignment } from '../../src/protocol/index.js';

const BODY: SocketAssignment = { url: 'ws://127.0.0.1:8081/ws', ticket: 'x'.repeat(300), zip: '10001', node: 'local', expiresAt: 0 };

export async function startFastifyConstant(host = '127.0.0.1', port = 0): Promise<{ url: string; close(): Promise<void> }> {
  const app = Fastify({ logger: false });
  app.get(HTTP_PATHS.citizenSocket, async () => BODY);
  const url = await app.listen({ host, port });
  return { url, close: () => app.close() };
}
