// The harness only ever loads this machine: a target must resolve to 127.0.0.0/8 or ::1.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

export function isLoopbackAddress(addr: string): boolean {
  const a = addr.startsWith('::ffff:') ? addr.slice(7) : addr;
  if (isIP(a) === 4) return a.split('.')[0] === '127';
  if (isIP(a) === 6) return a === '::1' || a === '0:0:0:0:0:0:0:1';
  return false;
}

/** Throws unless every address `url`'s host resolves to is loopback. */
export async function assertLoopback(url: string): Promise<void> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`--target ${JSON.stringify(url)} is not a URL`);
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol)) throw new Error(`--target must be http(s):// or ws(s)://, got ${u.protocol}`);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const addrs = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  if (addrs.length === 0 || !addrs.every(isLoopbackAddress)) {
    throw new Error(`refusing target ${u.host}: it resolves to ${addrs.join(', ') || 'nothing'}; the load harness only drives loopback (127.0.0.0/8, ::1)`);
  }
}
