// The in-process bus against the Bus contract (the Redis bus runs the same suite in test/redis/bus.test.ts).
import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../src/adapters/memory/index.js';
import type { Logger } from '../../src/log.js';
import { busContract } from '../contracts/bus.js';

describe('MemoryBus: the Bus contract', () => {
  busContract(async () => {
    const bus = new MemoryBus();
    return { pub: bus, sub: bus, ready: async () => {} };
  });
});

describe('MemoryBus', () => {
  it('counts and logs a handler that throws', async () => {
    const logged: unknown[] = [];
    const logger = { error: (o: unknown) => logged.push(o) } as unknown as Logger;
    const bus = new MemoryBus({ logger });
    let after = 0;
    bus.subscribe('c', () => {
      throw new Error('handler bug');
    });
    bus.subscribe('c', () => after++);
    bus.publish('c', { type: 'socket.close', record: { node: 'n', url: 'ws://x', role: 'citizen', profileId: 'p', zip: '10001', at: 1 }, reason: 'closed' });
    await new Promise((r) => setImmediate(r));
    expect(after).toBe(1);
    expect(bus.handlerErrors).toBe(1);
    expect(logged).toHaveLength(1);
  });
});
