// Peer (b): a plain rbush (bulk-loaded) with remove+insert per move, and rbush-knn for the
// nearest. rbush is planar, so x is longitude scaled by cos(40.7°) (right for a metro) and the
// kNN answer is checked with haversine against the radius, as Beacon's answer is.
import RBush from 'rbush';
import knn from 'rbush-knn';
import { haversine } from '../../src/geo/index.js';
import type { Moves, Officers } from '../data.js';
import { measure, sink, usedBytes } from '../stats.js';
import type { PeerRun } from './beacon.js';

interface Item {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  i: number;
}

const COS0 = Math.cos((40.7 * Math.PI) / 180);

export async function benchRbush(
  o: Officers,
  moves: Moves,
  q: { lat: Float64Array; lng: Float64Array },
  radius: number,
  ops: { updates: number; nearest: number; repeats: number },
): Promise<PeerRun> {
  const lat = Float64Array.from(o.lat);
  const lng = Float64Array.from(o.lng);
  const before = usedBytes();
  const items: Item[] = [];
  for (let i = 0; i < o.n; i++) {
    const x = lng[i] * COS0;
    items.push({ minX: x, minY: lat[i], maxX: x, maxY: lat[i], i });
  }
  const tree = new RBush<Item>(9).load(items);
  const bytesPerOfficer = (usedBytes() - before) / o.n;
  const { who, dLat, dLng } = moves;
  let cursor = 0;
  const updates = await measure(ops.updates, ops.repeats, (n) => {
    for (let j = 0; j < n; j++) {
      const m = cursor++ % moves.count;
      const i = who[m];
      const it = items[i];
      tree.remove(it);
      lat[i] += dLat[m];
      lng[i] += dLng[m];
      it.minX = it.maxX = lng[i] * COS0;
      it.minY = it.maxY = lat[i];
      tree.insert(it);
    }
  });
  // Planar degrees: the radius in degrees of latitude (x is already scaled to match).
  const maxDeg = radius / 111_195;
  const qn = q.lat.length;
  const nearest = await measure(ops.nearest, ops.repeats, (n) => {
    let s = 0;
    for (let j = 0; j < n; j++) {
      const k = j % qn;
      const res = knn(tree, q.lng[k] * COS0, q.lat[k], 1, undefined, maxDeg);
      if (res.length > 0) {
        const i = res[0].i;
        const d = haversine(q.lat[k], q.lng[k], lat[i], lng[i]);
        if (d <= radius) s += d;
      }
    }
    sink.value += s;
  });
  return { updates, nearest, bytesPerOfficer };
}
