import { afterAll, describe, expect, it } from 'vitest';
import { ping, startCluster, startRedis, type RedisCluster, type RedisServer } from '../helpers/redis-server.js';

describe('redis-server test helper', () => {
  let server: RedisServer | undefined;
  let cluster: RedisCluster | undefined;
  afterAll(async () => {
    await server?.dispose();
    await cluster?.stop();
  });

  it('starts, stops and restarts a server on the same port', async () => {
    server = await startRedis();
    expect(server.port).not.toBe(6379);
    expect(await ping(server.port)).toBe(true);
    await server.stop();
    expect(await ping(server.port)).toBe(false);
    await server.restart();
    expect(await ping(server.port)).toBe(true);
  });

  it('starts a 3-master cluster with every slot covered', async () => {
    cluster = await startCluster(3);
    const info = await cluster.nodes[1].cli('cluster', 'info');
    expect(info).toContain('cluster_state:ok');
    expect(info).toContain('cluster_size:3');
  });
});
