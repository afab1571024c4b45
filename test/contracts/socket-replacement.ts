// One test body for every SocketRecordStore (memory and Redis): every orchestrator puts every
// socket.open, in any interleaving; a replacement is reported by exactly one put, and a late put
// of a socket that was replaced since neither overwrites its successor nor reports a replacement
// (it says `superseded`: that socket is to be closed, if it still is open).
import { expect } from 'vitest';
import type { SocketRecord, SocketRecordStore } from '../../src/coordination/index.js';

const rec = (node: string, at: number): SocketRecord => ({
  node,
  url: `ws://127.0.0.1/${node}`,
  role: 'officer',
  profileId: 'o-repl',
  zip: '10001',
  at,
  available: true,
});

/** `a` and `b` are two orchestrators' views of one store (the same object for the memory store). */
export async function replacementReportedOnce(a: SocketRecordStore, b: SocketRecordStore): Promise<void> {
  const first = rec('n1', 1000);
  const second = rec('n2', 2000);
  const third = rec('n1', 3000);
  expect(await a.put(first)).toEqual({});
  expect(await b.put(first)).toEqual({}); // the same socket again: not a replacement
  expect(await a.put(second)).toEqual({ replaced: first }); // reported once...
  expect(await b.put(second)).toEqual({}); // ...not by the second orchestrator
  // A late put of the replaced socket (an orchestrator that lagged): nothing written.
  expect(await b.put(first)).toEqual({ superseded: true });
  expect(await a.get('officer', 'o-repl')).toEqual(second);
  // Back on the first node; two late puts of the earlier sockets arrive after it.
  expect(await b.put(third)).toEqual({ replaced: second });
  expect(await a.put(second)).toEqual({ superseded: true });
  expect(await a.put(first)).toEqual({ superseded: true });
  expect(await b.get('officer', 'o-repl')).toEqual(third);
  expect(await a.remove(second)).toBe(false);
  expect(await a.remove(third)).toBe(true);
  expect(await b.get('officer', 'o-repl')).toBeUndefined();
}
