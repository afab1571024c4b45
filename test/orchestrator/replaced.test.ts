// The orchestrator's half of `bye: replaced` across nodes (issue #11), over the in-memory bus and
// stores: a socket.open that replaces another node's record sends socket.replaced to that node;
// a same-node replacement sends nothing (the processor did it at open); an open reported for a
// socket that was replaced already (a late put, or a node re-announcing after Redis lost the
// message) gets socket.replaced too, and the record stays the newer socket's.
import { afterEach, describe, expect, it } from 'vitest';
import { nodeChannel, type ToProcessor } from '../../src/coordination/index.js';
import { NODE, startOrch, type OrchFixture } from './fixture.js';
import { waitFor } from '../helpers/wait.js';

let f: OrchFixture;
afterEach(() => f?.shutdown());

const replacedOn = (msgs: ToProcessor[]) => msgs.filter((m): m is Extract<ToProcessor, { type: 'socket.replaced' }> => m.type === 'socket.replaced');

describe('socket.replaced', () => {
  it('goes to the old node once per replacement, never for a same-node one, and again for a superseded open', async () => {
    f = await startOrch();
    const onB: ToProcessor[] = [];
    f.bus.subscribe(nodeChannel('node-b'), (m) => onB.push(m as ToProcessor));

    const first = await f.open('officer', 'o-1', '10036', NODE.id);
    const second = await f.open('officer', 'o-1', '10036', 'node-b');
    await waitFor(() => replacedOn(f.toNode).length === 1);
    expect(replacedOn(f.toNode)[0].record).toEqual(first);

    // Same node: the processor replaced it itself at open.
    const third = await f.open('officer', 'o-1', '10036', 'node-b');
    // The first node re-announces its (replaced) socket: told again, the record stays the newest.
    f.publish({ type: 'socket.open', record: first, again: true });
    await waitFor(() => replacedOn(f.toNode).length === 2);
    expect(replacedOn(f.toNode)[1].record).toEqual(first);
    expect(await f.orch.records.get('officer', 'o-1')).toEqual(third);
    expect(replacedOn(onB)).toHaveLength(0); // third replaced second on node-b itself
    // And node-b's replaced socket, re-announced, is told on node-b's channel.
    f.publish({ type: 'socket.open', record: second, again: true });
    await waitFor(() => replacedOn(onB).length === 1);
    expect(replacedOn(onB)[0].record).toEqual(second);
    expect(await f.orch.records.get('officer', 'o-1')).toEqual(third);
  });

  it('a re-announcement replaces nobody: after Redis lost its data they arrive in any order', async () => {
    f = await startOrch();
    await f.open('citizen', 'c-1', '10036', NODE.id);
    const other = { node: 'node-b', url: 'ws://127.0.0.1:9/b', role: 'citizen' as const, profileId: 'c-1', zip: '10036', at: 500 };
    f.publish({ type: 'socket.open', record: other, again: true });
    await waitFor(async () => (await f.orch.records.get('citizen', 'c-1'))?.node === 'node-b', 5000, 'the re-announced record');
    // A sentinel open behind it on the bus: once recorded, the re-announcement was handled.
    await f.open('officer', 'o-sentinel');
    expect(replacedOn(f.toNode)).toHaveLength(0);
  });
});
