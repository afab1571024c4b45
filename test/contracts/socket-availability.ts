// One test body for every SocketRecordStore (memory and Redis): an officer's availability is
// recorded on its own socket's record only.
import { expect } from 'vitest';
import type { SocketRecord, SocketRecordStore } from '../../src/coordination/index.js';

const rec = (node: string, at: number): SocketRecord => ({
  node,
  url: `ws://127.0.0.1/${node}`,
  role: 'officer',
  profileId: 'o-avail',
  zip: '10001',
  at,
  available: true,
});

export async function availabilityFollowsTheSocket(s: SocketRecordStore): Promise<void> {
  expect(await s.setAvailable(rec('n1', 1000), false)).toBe(false); // no record yet
  await s.put(rec('n1', 1000));
  expect((await s.get('officer', 'o-avail'))?.available).toBe(true);
  expect(await s.setAvailable(rec('n1', 1000), false)).toBe(true);
  expect(await s.get('officer', 'o-avail')).toEqual({ ...rec('n1', 1000), available: false });
  expect(await s.setAvailable(rec('n1', 1000), true)).toBe(true);
  expect((await s.get('officer', 'o-avail'))?.available).toBe(true);
  // The officer reconnected elsewhere: a late report from the old socket changes nothing.
  await s.put(rec('n2', 2000));
  expect(await s.setAvailable(rec('n1', 1000), false)).toBe(false);
  expect(await s.get('officer', 'o-avail')).toEqual(rec('n2', 2000));
  // Same node, a newer socket: the old socket's report changes nothing either.
  await s.put(rec('n2', 3000));
  expect(await s.setAvailable(rec('n2', 2000), false)).toBe(false);
  expect((await s.get('officer', 'o-avail'))?.available).toBe(true);
}
