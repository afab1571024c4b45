// Looks for coordinates devices sent in bytes at rest: files (the Redis AOF, DATA_DIR, logs) and
// every key and value of a live Redis. A coordinate is found in any rendering that would still
// locate someone: decimal text with ≥ 4 decimals (truncated or rounded, so "40.7123" catches
// 40.712345678, 40.71234 and 40.712346), scaled integers (1e6, 1e7), and IEEE-754 float64 /
// float32 bytes in either byte order (MessagePack, raw buffers), also of the rounded values.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createClient, RESP_TYPES } from 'redis';

export interface Needles {
  /** Decimal text, searched as substrings (without sign: "-74.0067" contains "74.0067"). */
  text: string[];
  /** Scaled integers, searched with non-digit boundaries (a timestamp must not match by chance). */
  ints: string[];
  binary: { label: string; bytes: Buffer }[];
}

const float = (v: number, bytes: 4 | 8, le: boolean): Buffer => {
  const b = Buffer.alloc(bytes);
  if (bytes === 8) {
    if (le) b.writeDoubleLE(v);
    else b.writeDoubleBE(v);
  } else if (le) b.writeFloatLE(v);
  else b.writeFloatBE(v);
  return b;
};

/** Every rendering of the values worth looking for. */
export function coordinateNeedles(values: number[]): Needles {
  const text = new Set<string>();
  const ints = new Set<string>();
  const binary: Needles['binary'] = [];
  for (const v of values) {
    const a = Math.abs(v);
    const s = String(a);
    const dot = s.indexOf('.');
    for (let k = 4; k <= 9; k++) {
      text.add(a.toFixed(k));
      if (dot >= 0 && s.length >= dot + 1 + k) text.add(s.slice(0, dot + 1 + k));
    }
    for (const scale of [1e5, 1e6, 1e7]) {
      ints.add(String(Math.round(a * scale)));
      ints.add(String(Math.trunc(a * scale)));
    }
    for (const x of [v, ...[4, 5, 6, 7].map((k) => Number(v.toFixed(k)))]) {
      for (const le of [false, true]) {
        binary.push({ label: `float64${le ? 'LE' : 'BE'}(${x})`, bytes: float(x, 8, le) });
        binary.push({ label: `float32${le ? 'LE' : 'BE'}(${x})`, bytes: float(x, 4, le) });
      }
    }
  }
  return { text: [...text], ints: [...ints], binary };
}

/** Which needles occur in `hay` (empty: none). */
export function findCoordinates(hay: Buffer, n: Needles): string[] {
  const found: string[] = [];
  const latin = hay.toString('latin1');
  for (const t of n.text) if (latin.includes(t)) found.push(`text ${t}`);
  for (const i of n.ints) if (new RegExp(`(?<![0-9])${i}(?![0-9])`).test(latin)) found.push(`int ${i}`);
  for (const b of n.binary) if (hay.includes(b.bytes)) found.push(b.label);
  return found;
}

/** Every regular file under `dir` (recursive) with what it contains of the needles. */
export async function scanFiles(dir: string, n: Needles): Promise<{ files: { path: string; bytes: number }[]; hits: string[] }> {
  const files: { path: string; bytes: number }[] = [];
  const hits: string[] = [];
  for (const ent of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!ent.isFile()) continue;
    const path = join(ent.parentPath, ent.name);
    const buf = await readFile(path);
    files.push({ path, bytes: buf.length });
    for (const h of findCoordinates(buf, n)) hits.push(`${path}: ${h}`);
  }
  return { files, hits };
}

/**
 * Every key of a live Redis (SCAN), its type, and its whole value as raw bytes (GET, HGETALL,
 * LRANGE, SMEMBERS, ZRANGE WITHSCORES, XRANGE); key names count too.
 */
export async function scanRedis(url: string, n: Needles): Promise<{ keys: Record<string, string>; hits: string[] }> {
  const client = createClient({ url });
  await client.connect();
  const bin = { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer, [RESP_TYPES.SIMPLE_STRING]: Buffer } };
  const send = (args: string[] | Buffer[]) => client.sendCommand(args as string[], bin) as Promise<unknown>;
  const flat = (v: unknown): Buffer[] =>
    Buffer.isBuffer(v) ? [v] : Array.isArray(v) ? v.flatMap(flat) : v === null || v === undefined ? [] : [Buffer.from(String(v))];
  const keys: Record<string, string> = {};
  const hits: string[] = [];
  try {
    let cursor = '0';
    do {
      const [next, batch] = (await send(['SCAN', cursor, 'COUNT', '1000'])) as [Buffer, Buffer[]];
      cursor = next.toString();
      for (const key of batch) {
        const type = String(await send([Buffer.from('TYPE'), key]));
        const cmd: Record<string, string[]> = {
          string: ['GET'],
          hash: ['HGETALL'],
          list: ['LRANGE', '0', '-1'],
          set: ['SMEMBERS'],
          zset: ['ZRANGE', '0', '-1', 'WITHSCORES'],
          stream: ['XRANGE', '-', '+'],
        };
        if (!cmd[type]) throw new Error(`key ${key.toString('latin1')}: type ${type} not dumped by the scan`);
        const [name, ...rest] = cmd[type];
        const value = await send([Buffer.from(name), key, ...rest.map((r) => Buffer.from(r))]);
        keys[key.toString('latin1')] = type;
        for (const h of findCoordinates(Buffer.concat([key, Buffer.from('\n'), ...flat(value)]), n)) hits.push(`${key.toString('latin1')} (${type}): ${h}`);
      }
    } while (cursor !== '0');
  } finally {
    await client.quit();
  }
  return { keys, hits };
}
