// One suite for every ConnectionStream (the embedded file stream and the Redis Stream): an append
// resolves once the event reads back whole, an id is written once however often and however
// concurrently it is appended, and distinct events are all kept, in call order. `make` returns a
// fresh, empty stream and a reader of what it holds. What the two do not share (closing: the Redis
// stream's connection belongs to its caller; `abandon`, Redis only; validation of malformed
// events, Redis only, where other writers share the stream) is tested beside each implementation.
import { expect, it } from 'vitest';
import type { ConnectionStream } from '../../src/coordination/index.js';
import type { EstablishedConnectionEvent } from '../../src/protocol/index.js';

export type StreamUnderTest = () => Promise<{ stream: ConnectionStream; events(): Promise<EstablishedConnectionEvent[]> }>;

const ev = (id: string, at = 1_767_225_600_000): EstablishedConnectionEvent => ({ id, officerId: `o-${id}`, citizenId: `c-${id}`, at, zip: '10036' });

export function connectionStreamContract(make: StreamUnderTest): void {
  it('an append resolves once the event reads back whole', async () => {
    const { stream, events } = await make();
    await stream.append(ev('e1'));
    expect(await events()).toEqual([ev('e1')]);
  });

  it('writes an id once: a retry after success and concurrent duplicates leave one copy', async () => {
    const { stream, events } = await make();
    await stream.append(ev('dup'));
    await stream.append(ev('dup'));
    await Promise.all(Array.from({ length: 10 }, () => stream.append(ev('race'))));
    expect((await events()).map((e) => e.id)).toEqual(['dup', 'race']);
  });

  it('keeps distinct events in call order, concurrent appends included', async () => {
    const { stream, events } = await make();
    const ids = Array.from({ length: 50 }, (_, i) => `c${i}`);
    await Promise.all(ids.map((id, i) => stream.append(ev(id, 1_767_225_600_000 + i))));
    const got = await events();
    expect(got.map((e) => e.id)).toEqual(ids);
    expect(got[7]).toEqual(ev('c7', 1_767_225_600_007));
  });

  it('tells events apart by id only: the same pair again under a new id is a new event', async () => {
    const { stream, events } = await make();
    const first = ev('p1');
    await stream.append(first);
    await stream.append({ ...first, id: 'p2' });
    expect((await events()).map((e) => e.id)).toEqual(['p1', 'p2']);
  });
}
