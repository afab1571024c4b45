// SIGTERM of a distributed orchestrator (a real process on a real redis-server) with slow and
// stuck HTTP clients: exits 0 within DRAIN_TIMEOUT_MS and closes every socket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_PATHS } from '../../src/protocol/index.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { idleKeepAlive, slowloris, tricklingBody, type SlowClient } from '../helpers/slow-clients.js';
import { spawnNode, token } from './nodes.js';

describe('SIGTERM with slow clients (distributed orchestrator)', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis?.dispose());

  it('exits 0 with DRAIN_TIMEOUT_MS=2000 and closes every slow socket', async () => {
    const orch = await spawnNode('orchestrator', { REDIS_URL: redis.url, DRAIN_TIMEOUT_MS: '2000' }, 60_000);
    const clients: SlowClient[] = [];
    try {
      for (let i = 0; i < 5; i++) clients.push(await tricklingBody(orch.url, HTTP_PATHS.connections, await token('citizen', `c-${i}`)));
      for (let i = 0; i < 3; i++) clients.push(await idleKeepAlive(orch.url));
      clients.push(await slowloris(orch.url));
      for (const c of clients.slice(0, 5)) expect(c.received()).toBe('');
      // Not a speed assertion: the test timeout only keeps a hang from stalling the suite.
      expect(await orch.stop(), orch.output()).toBe(0);
      await Promise.all(clients.map((c) => c.closed));
    } finally {
      for (const c of clients) c.stop();
      if (orch.proc.exitCode === null) await orch.kill9();
    }
  }, 90_000);
});
