// The orchestrator's bare peer, the only one (assign-bench.ts measures against it): fastify as the
// orchestrator builds it (default options, no logger), one GET route on the assignment path, an
// async handler answering a constant body of an assignment's shape and size (a 306-character
// ticket, as the orchestrator seals for the benchmark's citizens; the URL carries it too), with
// fastify's default serializer. No auth, no zip lookup, no ticket sealing, no hooks, no metrics:
// the framework's floor on this machine.
import Fastify from 'fastify';
import { HTTP_PATHS, type SocketAssignment } from '../../src/protocol/index.js';

const TICKET = 'x'.repeat(306);
const BODY: SocketAssignment = { url: `ws://127.0.0.1:8081/ws?ticket=${TICKET}`, ticket: TICKET, zip: '10001', node: 'local', expiresAt: 1_800_000_000_000 };

export async function startFastifyConstant(host = '127.0.0.1', port = 0): Promise<{ url: string; close(): Promise<void> }> {
  const app = Fastify({ logger: false });
  app.get(HTTP_PATHS.citizenSocket, async () => BODY);
  const url = await app.listen({ host, port });
  return { url, close: () => app.close() };
}
