// What kind a server text frame is, read from its first bytes without parsing it: the server
// writes `t` first (`{"t":"nearest",…}`), so the type is a fixed-offset compare. Anything else
// (another key order, whitespace, another type) is OTHER and goes to the full decoder.

export const OTHER = 0;
export const NEAREST = 1;
export const NEAR = 2;
export const LOC = 3;
export type FrameKind = typeof OTHER | typeof NEAREST | typeof NEAR | typeof LOC;

const HEAD = Buffer.from('{"t":"', 'latin1');
const NEAREST_T = Buffer.from('nearest"', 'latin1');
const NEAR_T = Buffer.from('near"', 'latin1');
const LOC_T = Buffer.from('loc"', 'latin1');

function has(buf: Buffer, at: number, end: number, what: Buffer): boolean {
  if (end - at < what.length) return false;
  for (let i = 0; i < what.length; i++) if (buf[at + i] !== what[i]) return false;
  return true;
}

/** The kind of the JSON text frame buf[start, end). */
export function frameKind(buf: Buffer, start: number, end: number): FrameKind {
  if (!has(buf, start, end, HEAD)) return OTHER;
  const t = start + HEAD.length;
  if (has(buf, t, end, NEAREST_T)) return NEAREST;
  if (has(buf, t, end, NEAR_T)) return NEAR;
  if (has(buf, t, end, LOC_T)) return LOC;
  return OTHER;
}
