// Officer positions as sent, in shared memory, so a citizen in any worker can tell when the
// officer position it was just pushed was sent (officer move → re-push latency). Each officer has
// RING_SLOTS recent (lat, lng, sentAt) entries; sentAt is performance.timeOrigin + now(), a clock
// all threads of the process share. Torn reads are possible and harmless (a missed sample).
import { snapToCell } from '../src/geo/snap.js';
export const RING_SLOTS = 4;
const FIELDS = 3;
/** ~0.5 m: a server keeping coordinates as float32 still matches; reports are ≥ 1 m apart. */
const TOLERANCE_DEG = 5e-6;

export const sharedNow = (): number => performance.timeOrigin + performance.now();

export class OfficerRing {
  private readonly f: Float64Array;
  private readonly seq: Int32Array;

  constructor(buf: SharedArrayBuffer, seqBuf: SharedArrayBuffer) {
    this.f = new Float64Array(buf);
    this.seq = new Int32Array(seqBuf);
  }

  static allocate(officers: number): { ring: SharedArrayBuffer; ringSeq: SharedArrayBuffer } {
    return {
      ring: new SharedArrayBuffer(Math.max(1, officers) * RING_SLOTS * FIELDS * 8),
      ringSeq: new SharedArrayBuffer(Math.max(1, officers) * 4),
    };
  }

  record(officer: number, lat: number, lng: number, at: number): void {
    const slot = Atomics.add(this.seq, officer, 1) % RING_SLOTS;
    const o = (officer * RING_SLOTS + slot) * FIELDS;
    this.f[o + 2] = NaN; // invalidate while writing
    this.f[o] = lat;
    this.f[o + 1] = lng;
    this.f[o + 2] = at;
  }

  /** When `officer` last sent any position, or NaN. */
  latestAt(officer: number): number {
    if (!(officer >= 0) || (officer + 1) * RING_SLOTS * FIELDS > this.f.length) return NaN;
    let latest = NaN;
    for (let s = 0; s < RING_SLOTS; s++) {
      const t = this.f[(officer * RING_SLOTS + s) * FIELDS + 2];
      if (!(t <= latest)) latest = t; // NaN-safe max
    }
    return latest;
  }

  /**
   * For a coarse push (the disclosure policy shows the centre of the officer's `size` m cell):
   * when `officer` sent the latest of its recent positions that snaps to (lat, lng) and was sent
   * after `after` (the citizen's previous `nearest`), or NaN. The latest, because a coalesced push
   * shows the state as of the last move the server handled, as exact matching does.
   */
  sentInCell(officer: number, lat: number, lng: number, size: number, after: number): number {
    if (!(officer >= 0) || (officer + 1) * RING_SLOTS * FIELDS > this.f.length || !(size > 0)) return NaN;
    let best = NaN;
    for (let s = 0; s < RING_SLOTS; s++) {
      const o = (officer * RING_SLOTS + s) * FIELDS;
      const at = this.f[o + 2];
      if (!(at > after) || at <= best) continue; // NaN-safe: a slot being written is skipped
      const c = snapToCell(this.f[o], this.f[o + 1], size);
      if (c.lat === lat && c.lng === lng) best = at;
    }
    return best;
  }

  /** When `officer` sent (lat, lng), or NaN if it is not among its recent positions. */
  sentAt(officer: number, lat: number, lng: number): number {
    if (!(officer >= 0) || (officer + 1) * RING_SLOTS * FIELDS > this.f.length) return NaN;
    let best = NaN;
    let bestErr = TOLERANCE_DEG;
    for (let s = 0; s < RING_SLOTS; s++) {
      const o = (officer * RING_SLOTS + s) * FIELDS;
      const err = Math.max(Math.abs(this.f[o] - lat), Math.abs(this.f[o + 1] - lng));
      if (err < bestErr) {
        bestErr = err;
        best = this.f[o + 2];
      }
    }
    return best;
  }
}
