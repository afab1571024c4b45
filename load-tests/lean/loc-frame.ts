// The one frame the lean generator sends on its hot path, `{"t":"loc","lat":…,"lng":…}`, as a
// masked websocket text frame written in place into a buffer the caller owns: the constant bytes
// are laid down once, each send patches the digits, the length byte and the masking. No string,
// no JSON.stringify, no per-frame allocation.
//
// Coordinates go out with six decimals (≈ 0.1 m). A caller that must know the exact value the
// server sees (the officer ring) quantizes first with quantize6: q / 1e6 is the double nearest to
// the decimal written (both the division and the server's parse round correctly), and writing it
// again writes the same digits.

const PREFIX = Buffer.from('{"t":"loc","lat":', 'latin1');
const MIDDLE = Buffer.from(',"lng":', 'latin1');
/** 2-byte header + 4-byte mask, then the payload. */
export const LOC_HEADER_BYTES = 6;
/** Longest payload: `{"t":"loc","lat":-90.000000,"lng":-180.000000}` (47 bytes, under 126: a 7-bit length). */
export const LOC_FRAME_MAX_BYTES = LOC_HEADER_BYTES + PREFIX.length + 10 + MIDDLE.length + 11 + 1;
const SCALE = 1e6;

/** A frame buffer for one socket: FIN + text opcode, mask bit, the given masking key, the constant prefix. */
export function newLocFrame(maskKey: Uint8Array): Buffer {
  if (maskKey.length !== 4) throw new RangeError('a websocket masking key is 4 bytes');
  const b = Buffer.alloc(LOC_FRAME_MAX_BYTES);
  b[0] = 0x81;
  b[2] = maskKey[0];
  b[3] = maskKey[1];
  b[4] = maskKey[2];
  b[5] = maskKey[3];
  return b;
}

/** The coordinate as this module puts it on the wire: rounded to six decimals, never -0. */
export function quantize6(v: number): number {
  return Math.round(v * SCALE) / SCALE + 0;
}

/**
 * Writes the loc frame for (lat, lng) into `b` (from newLocFrame) and returns its length; the
 * frame is b[0, length). RangeError for a non-finite or out-of-range coordinate (the buffer is
 * then unspecified).
 */
export function writeLocFrame(b: Buffer, lat: number, lng: number): number {
  if (!(lat >= -90 && lat <= 90) || !(lng >= -180 && lng <= 180)) throw new RangeError(`not a position: ${lat}, ${lng}`);
  let o = LOC_HEADER_BYTES;
  PREFIX.copy(b, o);
  o += PREFIX.length;
  const qLat = Math.round(lat * SCALE);
  o = writeFixed6(b, o, qLat);
  MIDDLE.copy(b, o);
  o += MIDDLE.length;
  const qLng = Math.round(lng * SCALE);
  o = writeFixed6(b, o, qLng);
  b[o++] = 0x7d; // }
  const len = o - LOC_HEADER_BYTES;
  b[1] = 0x80 | len;
  // Mask in place: payload[i] ^= key[i % 4].
  for (let i = 0; i < len; i++) b[LOC_HEADER_BYTES + i] ^= b[2 + (i & 3)];
  return o;
}

/** Writes q / 1e6 as [-]digits.dddddd (q an integer, |q| < 1e9); returns the offset after it. */
function writeFixed6(b: Buffer, o: number, q: number): number {
  if (q < 0) {
    b[o++] = 0x2d; // -
    q = -q;
  }
  const int = Math.floor(q / SCALE);
  let frac = q - int * SCALE;
  if (int >= 100) b[o++] = 0x30 + Math.floor(int / 100);
  if (int >= 10) b[o++] = 0x30 + (Math.floor(int / 10) % 10);
  b[o++] = 0x30 + (int % 10);
  b[o++] = 0x2e; // .
  for (let i = 5; i >= 0; i--) {
    b[o + i] = 0x30 + (frac % 10);
    frac = Math.floor(frac / 10);
  }
  return o + 6;
}
