// Beacon's own index under the bench: upsert with the officer's zip (as the processor calls it)
// and nearestOne within the radius.
import { OfficerIndex } from '../../src/geo/index.js';
import type { Moves, Officers } from '../data.js';
import { measure, sink, usedBytes, type Rate } from '../stats.js';

export interface PeerRun {
  updates: Rate;
  nearest: Rate;
  bytesPerOfficer?: number;
}

export async function benchBeacon(
  o: Officers,
  moves: Moves,
  q: { lat: Float64Array; lng: Float64Array },
  radius: number,
  ops: { updates: number; nearest: number; repeats: number },
): Promise<PeerRun> {
  const lat = Float64Array.from(o.lat);
  const lng = Float64Array.from(o.lng);
  const before = usedBytes();
  const idx = new OfficerIndex();
  for (let i = 0; i < o.n; i++) idx.upsert(o.ids[i], lat[i], lng[i]);
  const bytesPerOfficer = (usedBytes() - before) / o.n;
  const index = idx;
  const { ids } = o;
  const { who, dLat, dLng } = moves;
  let cursor = 0;
  const updates = await measure(ops.updates, ops.repeats, (n) => {
    for (let j = 0; j < n; j++) {
      const m = cursor++ % moves.count;
      const i = who[m];
      const a = (lat[i] += dLat[m]);
      const b = (lng[i] += dLng[m]);
      index.upsert(ids[i], a, b);
    }
  });
  const qn = q.lat.length;
  const nearest = await measure(ops.nearest, ops.repeats, (n) => {
    let s = 0;
    for (let j = 0; j < n; j++) {
      const k = j % qn;
      const h = index.nearestOne(q.lat[k], q.lng[k], radius);
      if (h !== null) s += h.dist;
    }
    sink.value += s;
  });
  return { updates, nearest, bytesPerOfficer };
}
