// LiveIndex on its own (pure logic, no sockets): the seam distributed mode will use for officers
// whose sockets are on other nodes, and coalescing with a hand-driven flush.
import { describe, expect, it } from 'vitest';
import { haversine, roundToStep, snapToCell } from '../../src/geo/index.js';
import { LiveIndex } from '../../src/processor/index.js';
import type { NearestMessage, NearMessage } from '../../src/protocol/index.js';

const P = { lat: 40.75, lng: -73.99 };
const at = (m: number) => ({ lat: P.lat + m / 111_195, lng: P.lng });

function setup(precision = 0) {
  const out: { to: string; msg: NearestMessage | NearMessage; reply: boolean }[] = [];
  let pending: (() => void) | null = null;
  let hold = false;
  const live = new LiveIndex(
    {
      searchRadius: 5000,
      alertRadius: 250,
      // Most tests here are about the seam and coalescing: exact positions (policy off).
      precision,
      distanceStep: 50,
      mono: () => performance.now(),
      schedule: (fn) => {
        pending = fn;
        return () => (pending = null);
      },
    },
    {
      nearest: (to, msg, reply) => {
        if (!reply && hold) return false;
        out.push({ to, msg, reply });
        return true;
      },
      near: (to, msg, reply) => void out.push({ to, msg, reply }),
    },
  );
  const flush = () => {
    const fn = pending;
    pending = null;
    fn?.();
  };
  return { live, out, flush, setHold: (h: boolean) => (hold = h), scheduled: () => pending !== null };
}

describe('LiveIndex', () => {
  it('remote officers go through applyOfficer like local ones', () => {
    const { live, out, flush } = setup();
    live.addCitizen('c');
    live.citizenLoc('c', P.lat, P.lng);
    expect(out.pop()!.msg).toEqual({ t: 'nearest', officer: null, dist: null });
    live.applyOfficer('remote-1', at(100), { profile: { name: 'R' }, remote: true });
    flush();
    expect(out.map((o) => o.msg.t)).toEqual(['nearest', 'near']);
    expect(out[0].msg).toMatchObject({ officer: { id: 'remote-1', profile: { name: 'R' } } });
    out.length = 0;
    live.applyOfficer('remote-1', null, { profile: {} });
    flush();
    expect(out).toEqual([{ to: 'c', msg: { t: 'nearest', officer: null, dist: null }, reply: false }]);
  });

  it('dropReplica removes a remote entry only; a replica removal never removes a local officer', () => {
    const { live, out, flush } = setup();
    live.addCitizen('c');
    live.citizenLoc('c', P.lat, P.lng);
    live.applyOfficer('o', at(100), { profile: {}, remote: true });
    flush();
    out.length = 0;
    live.dropReplica('o'); // a local socket of `o` opened here
    flush();
    expect(out).toEqual([{ to: 'c', msg: { t: 'nearest', officer: null, dist: null }, reply: false }]);
    live.citizenLoc('c', P.lat, P.lng); // asked again: the replica is gone from the index
    expect(out.at(-1)!.msg).toEqual({ t: 'nearest', officer: null, dist: null });
    live.applyOfficer('o', at(120), { profile: {} }); // its first loc
    live.dropReplica('o');
    live.applyOfficer('o', null, { profile: {}, remote: true }); // the other node's late removal
    flush();
    expect(out.filter((o) => o.msg.t === 'nearest').at(-1)!.msg).toMatchObject({ officer: { id: 'o', ...at(120) } });
    // The local officer is still served: a citizen loc finds it.
    live.citizenLoc('c', P.lat, P.lng);
    expect(out.at(-1)!.msg).toMatchObject({ t: 'nearest', officer: { id: 'o' } });
  });

  it('coalesces many moves into one push carrying the latest position', () => {
    const { live, out, flush } = setup();
    live.addCitizen('c');
    live.citizenLoc('c', P.lat, P.lng);
    live.applyOfficer('o', at(1000), { profile: {} });
    for (let m = 999; m >= 900; m--) live.applyOfficer('o', at(m), { profile: {} });
    out.length = 0;
    flush();
    expect(out).toHaveLength(1);
    expect((out[0].msg as NearestMessage).officer).toMatchObject(at(900));
  });

  it('re-arms near when the officer leaves the index and comes back', () => {
    const { live, out, flush } = setup();
    live.addCitizen('c');
    live.citizenLoc('c', P.lat, P.lng);
    live.applyOfficer('o', at(100), { profile: {} });
    flush();
    live.applyOfficer('o', at(110), { profile: {} });
    flush();
    expect(out.filter((o) => o.msg.t === 'near')).toHaveLength(1);
    live.applyOfficer('o', null, { profile: {} });
    live.applyOfficer('o', at(100), { profile: {} });
    flush();
    expect(out.filter((o) => o.msg.t === 'near')).toHaveLength(2);
  });

  it('a held push is retried with the latest state when marked again', () => {
    const { live, out, flush, setHold } = setup();
    live.addCitizen('c');
    live.citizenLoc('c', P.lat, P.lng);
    setHold(true);
    live.applyOfficer('o', at(1000), { profile: {} });
    flush();
    live.applyOfficer('o', at(2000), { profile: {} });
    flush();
    expect(out.filter((o) => !o.reply)).toHaveLength(0);
    setHold(false);
    live.markDirty('c');
    flush();
    const pushes = out.filter((o) => !o.reply);
    expect(pushes).toHaveLength(1);
    expect((pushes[0].msg as NearestMessage).officer).toMatchObject(at(2000));
  });

  it('forgets a citizen completely on remove', () => {
    const { live, out, flush, scheduled } = setup();
    live.addCitizen('c');
    live.citizenLoc('c', P.lat, P.lng);
    live.removeCitizen('c');
    out.length = 0;
    live.applyOfficer('o', at(10), { profile: {} });
    expect(scheduled()).toBe(false);
    flush();
    expect(out).toHaveLength(0);
    expect(live.citizenCount).toBe(0);
  });

  it('disclosure: a remote officer is coarse like a local one; a grant ends when its replica leaves', () => {
    const { live, out, flush } = setup(200);
    live.addCitizen('c');
    live.citizenLoc('c', P.lat, P.lng);
    const O = at(1000);
    const coarse = { id: 'r', ...snapToCell(O.lat, O.lng, 200), precision: 200 };
    live.applyOfficer('r', O, { profile: {}, remote: true });
    flush();
    expect(out.pop()!.msg).toEqual({
      t: 'nearest',
      officer: { ...coarse, profile: {} },
      dist: roundToStep(haversine(P.lat, P.lng, coarse.lat, coarse.lng), 50),
    });
    expect(live.grantExact('c', 'r')).toBe(true);
    flush();
    expect((out.pop()!.msg as NearestMessage).officer).toMatchObject({ ...O, precision: 0 });
    // The replica is removed (the remote socket closed, or it left that node's index) and comes back.
    live.applyOfficer('r', null, { profile: {}, remote: true });
    live.applyOfficer('r', O, { profile: {}, remote: true });
    flush();
    expect((out.pop()!.msg as NearestMessage).officer).toMatchObject(coarse);
  });

  it('disclosure: a local socket taking over from a remote replica ends the grant (another socket)', () => {
    const { live, out, flush } = setup(200);
    live.addCitizen('c');
    live.citizenLoc('c', P.lat, P.lng);
    const O = at(1000);
    live.applyOfficer('o', O, { profile: {}, remote: true });
    expect(live.grantExact('c', 'o')).toBe(true);
    flush();
    expect((out.pop()!.msg as NearestMessage).officer).toMatchObject({ precision: 0 });
    out.length = 0;
    live.applyOfficer('o', O, { profile: {} }); // same spot, now a local socket
    flush();
    expect(out.map((x) => (x.msg as NearestMessage).officer)).toEqual([expect.objectContaining({ ...snapToCell(O.lat, O.lng, 200), precision: 200 })]);
    expect(live.snapshot(() => 'x').officers).toEqual([{ id: 'o', ...O, remote: false }]);
    // And no grant for ids that are not here.
    expect(live.grantExact('c', 'nobody')).toBe(false);
    expect(live.grantExact('nobody', 'o')).toBe(false);
  });
});
