// The lean generator's parts: the loc frame patcher (edge and hostile values, checked through the
// server's own decoder), the frame classifier, and the lean websocket client against real servers
// (uWS echo, `ws`) and raw TCP servers that misbehave.
import { createHash } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { startEchoServer, type EchoServer } from '../../load-tests/baselines/echo-server.js';
import { frameKind, LOC, NEAR, NEAREST, OTHER } from '../../load-tests/lean/classify.js';
import { LOC_FRAME_MAX_BYTES, LOC_HEADER_BYTES, newLocFrame, quantize6, writeLocFrame } from '../../load-tests/lean/loc-frame.js';
import { LeanSocket } from '../../load-tests/lean/socket.js';
import { mulberry32 } from '../../load-tests/prng.js';
import { refusedStatus } from '../../src/client/transport.js';
import { decodeClientFrame, encodeMessage } from '../../src/protocol/index.js';
import { waitFor } from '../helpers/wait.js';

/** Unmasks a frame written by writeLocFrame and decodes it with the server's decoder. */
function decodeLoc(b: Buffer, len: number): { raw: string; msg: unknown } {
  expect(b[0]).toBe(0x81);
  expect(b[1] & 0x80).toBe(0x80);
  const n = b[1] & 0x7f;
  expect(n).toBe(len - LOC_HEADER_BYTES);
  const payload = Buffer.alloc(n);
  for (let i = 0; i < n; i++) payload[i] = b[LOC_HEADER_BYTES + i] ^ b[2 + (i & 3)];
  const raw = payload.toString('latin1');
  const parsed = decodeClientFrame(raw, false);
  return { raw, msg: parsed.ok ? parsed.msg : parsed };
}

describe('loc frame patcher', () => {
  const key = Buffer.from([0x12, 0x34, 0xab, 0xcd]);

  it('writes what the server decodes as the quantized position, over the whole range and at the edges', () => {
    const b = newLocFrame(key);
    const r = mulberry32(7);
    const cases: [number, number][] = [
      [0, 0],
      [-0, -0],
      [90, 180],
      [-90, -180],
      [40.7128, -74.006],
      [-1e-7, 1e-7],
      [-4e-7, -6e-7],
      [89.9999996, 179.9999999],
      [-89.9999996, -179.9999996],
      [9.9999995, 99.9999995],
      [0.0000005, -0.0000015],
      [51.5, -0.1275],
    ];
    for (let i = 0; i < 2000; i++) cases.push([r() * 180 - 90, r() * 360 - 180]);
    for (const [lat, lng] of cases) {
      const len = writeLocFrame(b, lat, lng);
      expect(len).toBeLessThanOrEqual(LOC_FRAME_MAX_BYTES);
      const { raw, msg } = decodeLoc(b, len);
      expect(msg, raw).toEqual({ t: 'loc', lat: quantize6(lat), lng: quantize6(lng) });
      expect(Object.is(quantize6(lat), -0)).toBe(false);
      expect(Math.abs(quantize6(lat) - lat)).toBeLessThanOrEqual(5e-7 + 1e-12);
      // Writing the quantized value again writes the same digits (the officer ring relies on it).
      expect(decodeLoc(b, writeLocFrame(b, quantize6(lat), quantize6(lng))).raw).toBe(raw);
    }
  });

  it('carries rounding into the integer digits and writes the longest frame within its bound', () => {
    const b = newLocFrame(key);
    expect(decodeLoc(b, writeLocFrame(b, 89.9999996, -179.9999999)).raw).toBe('{"t":"loc","lat":90.000000,"lng":-180.000000}');
    expect(decodeLoc(b, writeLocFrame(b, 9.9999996, 99.99999951)).raw).toBe('{"t":"loc","lat":10.000000,"lng":100.000000}');
    const len = writeLocFrame(b, -90, -180);
    expect(len).toBe(LOC_FRAME_MAX_BYTES);
    // A short frame after the longest one: no stale bytes, the length byte says so.
    expect(decodeLoc(b, writeLocFrame(b, 0, 0)).raw).toBe('{"t":"loc","lat":0.000000,"lng":0.000000}');
  });

  it('refuses non-finite and out-of-range coordinates, and a bad masking key', () => {
    const b = newLocFrame(key);
    for (const [lat, lng] of [
      [NaN, 0],
      [0, NaN],
      [Infinity, 0],
      [0, -Infinity],
      [90.0000001, 0],
      [-91, 0],
      [0, 180.5],
      [0, -1e9],
      [1e300, 1e300],
    ]) {
      expect(() => writeLocFrame(b, lat, lng), `${lat},${lng}`).toThrow(RangeError);
    }
    expect(() => newLocFrame(Buffer.alloc(3))).toThrow(RangeError);
    expect(() => newLocFrame(Buffer.alloc(5))).toThrow(RangeError);
  });
});

describe('frame classifier', () => {
  const kind = (s: string, pad = 0): number => {
    const buf = Buffer.concat([Buffer.alloc(pad, 0x7b), Buffer.from(s, 'utf8'), Buffer.alloc(pad, 0x22)]);
    return frameKind(buf, pad, buf.length - pad);
  };

  it('reads the type of the server frames the harness measures, at any offset', () => {
    const officer = { id: 'o1', lat: 40.7, lng: -74, precision: 0, profile: { name: 'x' } };
    expect(kind(encodeMessage({ t: 'nearest', officer, dist: 12 } as never, 'json') as string, 5)).toBe(NEAREST);
    expect(kind(encodeMessage({ t: 'nearest', officer: null, dist: null }, 'json') as string)).toBe(NEAREST);
    expect(kind(encodeMessage({ t: 'near', officer: { id: 'o1', profile: {} }, dist: 3 } as never, 'json') as string, 3)).toBe(NEAR);
    expect(kind(encodeMessage({ t: 'loc', lat: 1, lng: 2 }, 'json') as string)).toBe(LOC);
    for (const t of ['pong', 'err', 'bye', 'hello', 'req', 'conn']) expect(kind(`{"t":"${t}"}`), t).toBe(OTHER);
  });

  it('calls anything unexpected OTHER (the full decoder judges it)', () => {
    for (const s of [
      '',
      '{',
      '{"t":"',
      '{"t":"near',
      '{"t":"nearest',
      '{"t":"nearestX"}',
      '{"t":"nea"}',
      '{ "t":"nearest"}',
      '{"t": "nearest"}',
      '{"dist":1,"t":"nearest"}',
      '["t","nearest"]',
      '{"T":"nearest"}',
      '{"t":"locx"}',
      'nearest',
    ]) {
      expect(kind(s), s).toBe(OTHER);
    }
  });
});

// ------------------------------------------------------------------ the lean socket on real servers

interface Seen {
  opened: boolean;
  messages: (string | Uint8Array)[];
  errors: (Error & { status?: number })[];
  closed?: { code: number; reason: string };
}

function open(url: string): { sock: LeanSocket; seen: Seen; closed: Promise<void>; opened: Promise<void> } {
  const seen: Seen = { opened: false, messages: [], errors: [] };
  let onOpen!: () => void;
  let onClose!: () => void;
  const opened = new Promise<void>((r) => (onOpen = r));
  const closed = new Promise<void>((r) => (onClose = r));
  const sock = new LeanSocket(
    url,
    {
      open: () => {
        seen.opened = true;
        onOpen();
      },
      message: (d) => seen.messages.push(d),
      error: (e) => seen.errors.push(e),
      close: (code, reason) => {
        seen.closed = { code, reason };
        onClose();
      },
    },
    { handshakeTimeoutMs: 3000 },
  );
  return { sock, seen, closed, opened };
}

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A raw TCP server that accepts the upgrade properly and then runs `then` on the socket (or answers `response`). */
async function rawServer(then: (s: Socket) => void, response?: string): Promise<number> {
  const conns = new Set<Socket>();
  const srv: Server = createServer((s) => {
    conns.add(s);
    let head = '';
    s.on('data', (d) => {
      if (head.includes('\r\n\r\n')) return;
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      if (response !== undefined) return void s.write(response);
      const key = /sec-websocket-key: (\S+)/i.exec(head)![1];
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      then(s);
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  cleanups.push(() => {
    for (const c of conns) c.destroy();
    return new Promise<void>((r) => srv.close(() => r()));
  });
  return (srv.address() as { port: number }).port;
}

describe('lean websocket client', () => {
  it('sends patched loc frames that uWS unmasks and echoes byte for byte; taps them raw', async () => {
    const echo: EchoServer = await startEchoServer();
    cleanups.push(() => echo.close());
    const { sock, opened, closed, seen } = open(echo.url);
    await opened;
    const got: string[] = [];
    sock.tap((tag, buf, s, e) => {
      expect(tag).toBe(42);
      if (frameKind(buf, s, e) !== LOC) return false;
      got.push(buf.toString('utf8', s, e));
      return true;
    }, 42);
    const b = newLocFrame(sock.maskKey);
    for (let i = 0; i < 50; i++) expect(sock.writeRaw(b, writeLocFrame(b, 40 + i / 1000, -74 - i / 7))).toBe(true);
    sock.send('{"t":"ping"}'); // not a loc: the tap hands it to the handlers
    await waitFor(() => got.length === 50 && seen.messages.length === 1);
    expect(JSON.parse(got[49])).toEqual({ t: 'loc', lat: quantize6(40.049), lng: quantize6(-74 - 49 / 7) });
    expect(seen.messages).toEqual(['{"t":"ping"}']);
    sock.close(1000, 'done');
    await closed;
    expect(seen.closed?.code).toBe(1000);
    expect(seen.errors).toEqual([]);
  });

  it('reads 16- and 64-bit lengths, fragments and binary frames; answers pings; reports the server close code', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
    await new Promise<void>((r) => wss.once('listening', r));
    let pong = false;
    wss.on('connection', (ws) => {
      ws.on('pong', () => (pong = true));
      ws.on('message', () => {
        ws.send('x'.repeat(300));
        ws.send('y'.repeat(70_000));
        ws.send('frag-', { fin: false });
        ws.send('ment', { fin: true });
        ws.send(Buffer.from([1, 2, 3]), { binary: true });
        ws.ping('hi');
        setTimeout(() => ws.close(4001, 'bye now'), 50);
      });
    });
    const { sock, opened, closed, seen } = open(`ws://127.0.0.1:${(wss.address() as { port: number }).port}/`);
    await opened;
    sock.send('go');
    await closed;
    expect(seen.messages.slice(0, 3)).toEqual(['x'.repeat(300), 'y'.repeat(70_000), 'frag-ment']);
    expect(Array.from(seen.messages[3] as Uint8Array)).toEqual([1, 2, 3]);
    expect(pong).toBe(true);
    expect(seen.closed).toEqual({ code: 4001, reason: 'bye now' });
  });

  it('surfaces a refused upgrade with its status, as the ws transport does', async () => {
    const port = await rawServer(() => {}, 'HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
    const { closed, seen } = open(`ws://127.0.0.1:${port}/?ticket=bad`);
    await closed;
    expect(seen.opened).toBe(false);
    expect(refusedStatus(seen.errors[0])).toBe(401);
  });

  it('closes on hostile servers: a bad accept key, an endless handshake, a masked or oversized frame, an unknown opcode', async () => {
    const bad = await rawServer(() => {}, 'HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: nope\r\n\r\n');
    const endless = await rawServer(() => {}, `HTTP/1.1 101 OK\r\nX: ${'a'.repeat(20_000)}`);
    const masked = await rawServer((s) => s.write(Buffer.from([0x81, 0x82, 1, 2, 3, 4, 0x61, 0x62])));
    const huge = await rawServer((s) => s.write(Buffer.from([0x81, 127, 0, 0, 0, 1, 0, 0, 0, 0])));
    const opcode = await rawServer((s) => s.write(Buffer.from([0x83, 0])));
    const orphan = await rawServer((s) => s.write(Buffer.from([0x80, 1, 0x61])));
    for (const [port, why] of [
      [bad, /Accept/],
      [endless, /too large/],
      [masked, /masked/],
      [huge, /too large/],
      [opcode, /opcode/],
      [orphan, /continuation/],
    ] as const) {
      const { closed, seen } = open(`ws://127.0.0.1:${port}/`);
      await closed;
      expect(seen.errors.map((e) => e.message).join(' '), String(why)).toMatch(why);
      expect(seen.messages).toEqual([]);
    }
  });

  it('reassembles frames split across TCP writes, one byte at a time, and several frames in one write', async () => {
    const frames = Buffer.concat([
      Buffer.from([0x81, 5]),
      Buffer.from('hello'),
      Buffer.from([0x81, 126, 0, 200]),
      Buffer.alloc(200, 0x7a),
      Buffer.from([0x81, 2]),
      Buffer.from('ok'),
    ]);
    const port = await rawServer((s) => {
      let i = 0;
      const t = setInterval(() => {
        if (i < 40) s.write(frames.subarray(i, ++i));
        else {
          s.write(frames.subarray(i));
          clearInterval(t);
        }
      }, 1);
    });
    const { sock, seen } = open(`ws://127.0.0.1:${port}/`);
    cleanups.push(() => sock.close());
    await waitFor(() => seen.messages.length === 3);
    expect(seen.messages).toEqual(['hello', 'z'.repeat(200), 'ok']);
  });

  it('times out a server that never answers the upgrade, and refuses wss://', async () => {
    const port = await rawServer(() => {}, '');
    const seen: Seen = { opened: false, messages: [], errors: [] };
    const closed = new Promise<void>(
      (r) =>
        new LeanSocket(
          `ws://127.0.0.1:${port}/`,
          { open: () => {}, message: () => {}, error: (e) => seen.errors.push(e), close: () => r() },
          { handshakeTimeoutMs: 200 },
        ),
    );
    await closed;
    expect(seen.errors[0].message).toMatch(/timed out/);
    expect(() => new LeanSocket('wss://127.0.0.1:1/', { open: () => {}, message: () => {}, error: () => {}, close: () => {} })).toThrow(/ws:\/\/ only/);
  });
});
