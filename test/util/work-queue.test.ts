import { describe, expect, it } from 'vitest';
import { WorkQueue } from '../../src/util/work-queue.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('WorkQueue', () => {
  it('starts jobs in arrival order, never more than `concurrency` at once, and runs them all', async () => {
    const q = new WorkQueue(3, 100);
    const started: number[] = [];
    let running = 0;
    let peak = 0;
    for (let i = 0; i < 20; i++) {
      q.push(async () => {
        started.push(i);
        running++;
        peak = Math.max(peak, running);
        for (let k = 0; k < 1 + (i % 4); k++) await tick();
        running--;
        if (i % 5 === 0) throw new Error('a job that fails frees its slot too');
      });
    }
    expect(q.backlog).toBe(17);
    while (started.length < 20 || running > 0) await tick();
    expect(started).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(peak).toBe(3);
    expect(q.backlog).toBe(0);
  });

  it('refuses jobs past the backlog, and survives a job that throws before returning a promise', async () => {
    const q = new WorkQueue(1, 2);
    let release!: () => void;
    const ran: string[] = [];
    q.push(() => new Promise<void>((r) => (release = r)));
    expect(
      q.push(() => {
        throw new Error('sync');
      }),
    ).toBe(true);
    expect(q.push(async () => void ran.push('last'))).toBe(true);
    expect(q.push(async () => void ran.push('refused'))).toBe(false);
    expect(q.refused).toBe(1);
    release();
    for (let i = 0; i < 5; i++) await tick();
    expect(ran).toEqual(['last']);
  });
});
