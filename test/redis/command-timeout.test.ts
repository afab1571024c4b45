// A command without a reply within `commandTimeoutMs` is rejected as "store unavailable"
// (one sweep timer per connection, connect.ts), and answered commands are not touched by it.
// A BLPOP on an empty list is Redis never answering: it also holds up everything behind it. A
// reply that came in time but waited on the socket through an event loop stall is not a timeout.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandTimeoutError, connectRedis, type RedisConnection } from '../../src/adapters/redis/index.js';
import { StoreUnavailableError } from '../../src/coordination/index.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

describe('Redis command timeout', () => {
  let server: RedisServer;
  const conns: RedisConnection[] = [];
  const conn = async (commandTimeoutMs: number) => {
    const c = connectRedis({ url: server.url, name: 'timeout-test', commandTimeoutMs });
    conns.push(c);
    await c.ready();
    return c;
  };

  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await Promise.all(conns.map((c) => c.close()));
    await server?.dispose();
  });

  it('rejects a command left unanswered, and the ones queued behind it', async () => {
    const c = await conn(300);
    const blocked = c.send(['BLPOP', 'never-pushed', '0']).catch((e: unknown) => e);
    const behind = c.send(['SET', 'k', 'v']).catch((e: unknown) => e);
    for (const e of [await blocked, await behind]) {
      expect(e).toBeInstanceOf(StoreUnavailableError);
      expect((e as Error).cause).toBeInstanceOf(CommandTimeoutError);
    }
  });

  it('leaves answered commands alone, long after the timeout', async () => {
    const c = await conn(200);
    const replies = await Promise.all(Array.from({ length: 1000 }, (_, i) => c.send(['SET', `k${i}`, String(i)])));
    expect(replies.every((r) => r === 'OK')).toBe(true);
    await new Promise((r) => setTimeout(r, 500)); // several sweeps with nothing overdue
    expect(await c.send(['GET', 'k999'])).toBe('999');
  });

  it('does not time out a reply that arrived in time while the event loop was blocked', async () => {
    const c = await conn(200);
    const reply = c.send(['SET', 'during-stall', '1']).catch((e: unknown) => e);
    await new Promise((r) => setImmediate(r)); // node-redis writes the command in its own setImmediate, queued before this one
    const until = performance.now() + 600; // a stall 3× the timeout: the reply waits unread on the socket
    while (performance.now() < until);
    expect(await reply).toBe('OK');
  });

  it('never times out with commandTimeoutMs 0', async () => {
    const c = await conn(0);
    const blocked = c.send(['BLPOP', 'never-pushed-either', '0']).then(
      () => 'answered',
      (e: unknown) => e,
    );
    const outcome = await Promise.race([blocked, new Promise((r) => setTimeout(() => r('pending'), 600))]);
    expect(outcome).toBe('pending');
    await server.cli('RPUSH', 'never-pushed-either', 'x');
    expect(await blocked).toBe('answered');
  });
});
