import { describe, expect, it } from 'vitest';
import { UndoStack } from '../../src/util/undo-stack.js';

describe('UndoStack', () => {
  it('undoes newest first, each step awaited before the next', async () => {
    const s = new UndoStack();
    const done: string[] = [];
    s.push(() => done.push('conn'));
    s.push(async () => {
      await new Promise((r) => setTimeout(r, 20));
      done.push('bus');
    });
    s.push(() => done.push('server'));
    await s.unwind();
    expect(done).toEqual(['server', 'bus', 'conn']);
  });

  it('runs every step when one fails, then rejects with that error; twice is once', async () => {
    const s = new UndoStack();
    const done: string[] = [];
    s.push(() => done.push('a'));
    s.push(() => {
      throw new Error('b failed');
    });
    s.push(() => done.push('c'));
    const first = s.unwind();
    await expect(first).rejects.toThrow('b failed');
    await expect(s.unwind()).rejects.toThrow('b failed');
    expect(done).toEqual(['c', 'a']);
    expect(() => s.push(() => {})).toThrow(/after unwind/);
  });

  it('reports several failures together', async () => {
    const s = new UndoStack();
    s.push(() => Promise.reject(new Error('x')));
    s.push(() => Promise.reject(new Error('y')));
    const e = await s.unwind().catch((err: unknown) => err);
    expect(e).toBeInstanceOf(AggregateError);
    expect((e as AggregateError).errors.map((x: Error) => x.message)).toEqual(['y', 'x']);
  });

  it('build: a failed start undoes what it had opened and rethrows the start error, not an undo error', async () => {
    const s = new UndoStack();
    const done: string[] = [];
    const start = s.build(async (stack) => {
      stack.push(() => done.push('opened first'));
      stack.push(() => {
        throw new Error('undo failed too');
      });
      throw new Error('listen failed');
    });
    await expect(start).rejects.toThrow('listen failed');
    expect(done).toEqual(['opened first']);
  });

  it('build: a good start returns its value and leaves the stack for close', async () => {
    const s = new UndoStack();
    const done: string[] = [];
    const v = await s.build(async (stack) => {
      stack.push(() => done.push('closed'));
      return 42;
    });
    expect(v).toBe(42);
    expect(done).toEqual([]);
    await s.unwind();
    expect(done).toEqual(['closed']);
  });
});
