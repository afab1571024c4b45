// A lean websocket client over `net`, for the load generator only: it speaks just what the
// harness needs (one upgrade with the ticket in the URL, masked frames out, unmasked frames in,
// ping/pong and close), so the generator's per-message cost is a syscall and a few byte writes
// rather than the `ws` package's general machinery. It is a Transport (src/client/transport.ts),
// so BeaconClient still does assignment, `hello`, heartbeats and reconnects over it; once open,
// the harness takes data frames raw through `tap` and writes pre-encoded frames with `writeRaw`.
// The real client library on `ws` stays the default (`--lean` chooses this one); never use this
// against anything but the loopback harness: it trusts the server (no UTF-8 check, 1 MiB cap).
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import type { Transport, TransportFactory, TransportHandlers } from '../../src/client/transport.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const MAX_FRAME = 1 << 20;
const MAX_HANDSHAKE = 16 * 1024;

/**
 * A data frame, raw: the payload is buf[start, end) and only valid during the call; `tag` is the
 * one given to tap(). Return true when consumed, false to hand the frame to the client's handlers.
 */
export type FrameTap = (tag: number, buf: Buffer, start: number, end: number, binary: boolean) => boolean;

export interface LeanOptions {
  localAddress?: string;
  handshakeTimeoutMs?: number;
}

export class LeanSocket implements Transport {
  /** Masking key of every frame this socket sends (drawn once per socket). */
  readonly maskKey = randomBytes(4);
  private readonly sock: Socket;
  private state: 'connecting' | 'open' | 'closing' | 'closed' = 'connecting';
  private pending: Buffer | null = null;
  private fragments: Buffer[] = [];
  private fragBinary = false;
  private tapFn: FrameTap | null = null;
  private tapTag = 0;
  private timer: NodeJS.Timeout | undefined;
  private closeCode = 1006;
  private closeReason = '';

  constructor(
    url: string,
    private readonly h: TransportHandlers,
    opts: LeanOptions = {},
  ) {
    const u = new URL(url);
    if (u.protocol !== 'ws:') throw new Error(`lean client: ws:// only, got ${u.protocol}`);
    const key = randomBytes(16).toString('base64');
    const expect = createHash('sha1')
      .update(key + GUID)
      .digest('base64');
    this.sock = connect({
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: Number(u.port || 80),
      ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
    });
    this.sock.setNoDelay(true);
    this.timer = setTimeout(() => this.fail(new Error('lean client: upgrade timed out')), opts.handshakeTimeoutMs ?? 10_000);
    this.sock.once('connect', () => {
      this.sock.write(
        `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    this.sock.on('data', (chunk: Buffer) => (this.state === 'connecting' ? this.onHandshake(chunk, expect) : this.onData(chunk)));
    this.sock.on('error', (err) => this.h.error(err));
    this.sock.on('close', () => this.onClosed());
  }

  /** Data frames go to `fn` first, with `tag` (null: all to the handlers, decoded as text or bytes). */
  tap(fn: FrameTap | null, tag = 0): void {
    this.tapFn = fn;
    this.tapTag = tag;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  get bufferedAmount(): number {
    return this.sock.writableLength;
  }

  /**
   * Writes a complete, already masked frame. Returns true when the kernel took all of it, so the
   * caller may reuse `frame` at once; false when it is queued (the caller must not touch it again).
   */
  writeRaw(frame: Buffer, length: number): boolean {
    if (this.state !== 'open') return true;
    this.sock.write(length === frame.length ? frame : frame.subarray(0, length));
    return this.sock.writableLength === 0;
  }

  send(data: string | Uint8Array): void {
    if (this.state !== 'open') return;
    const payload = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.sock.write(this.frame(typeof data === 'string' ? 0x1 : 0x2, payload));
  }

  close(code = 1000, reason = ''): void {
    if (this.state === 'connecting') return this.fail(new Error('closed while connecting'));
    if (this.state !== 'open') return;
    this.state = 'closing';
    const r = Buffer.from(reason.slice(0, 100), 'utf8');
    const body = Buffer.alloc(2 + r.length);
    body.writeUInt16BE(code, 0);
    r.copy(body, 2);
    this.sock.write(this.frame(0x8, body));
    this.closeCode = code;
    this.closeReason = reason;
    // The server answers with its close and shuts the TCP connection; bounded wait for it.
    this.timer = setTimeout(() => this.sock.destroy(), 2000);
    this.timer.unref();
  }

  private frame(opcode: number, payload: Buffer): Buffer {
    const n = payload.length;
    const ext = n < 126 ? 0 : n < 65536 ? 2 : 8;
    const out = Buffer.allocUnsafe(2 + ext + 4 + n);
    out[0] = 0x80 | opcode;
    if (ext === 0) out[1] = 0x80 | n;
    else if (ext === 2) {
      out[1] = 0x80 | 126;
      out.writeUInt16BE(n, 2);
    } else {
      out[1] = 0x80 | 127;
      out.writeBigUInt64BE(BigInt(n), 2);
    }
    const m = 2 + ext;
    this.maskKey.copy(out, m);
    for (let i = 0; i < n; i++) out[m + 4 + i] = payload[i] ^ this.maskKey[i & 3];
    return out;
  }

  private onHandshake(chunk: Buffer, expect: string): void {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) {
      if (buf.length > MAX_HANDSHAKE) return this.fail(new Error('lean client: upgrade response too large'));
      this.pending = buf;
      return;
    }
    this.pending = null;
    const head = buf.toString('latin1', 0, end);
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
    // The same wording as `ws`, so refusedStatus() reads the status either way.
    if (status !== 101) return this.fail(Object.assign(new Error(`Unexpected server response: ${status}`), { status }));
    const accept = /\r\nsec-websocket-accept:\s*(\S+)/i.exec(head)?.[1];
    if (accept !== expect) return this.fail(new Error('lean client: bad Sec-WebSocket-Accept'));
    clearTimeout(this.timer);
    this.timer = undefined;
    this.state = 'open';
    this.h.open();
    if (buf.length > end + 4) this.onData(buf.subarray(end + 4));
  }

  private onData(chunk: Buffer): void {
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    let o = 0;
    while ((this.state === 'open' || this.state === 'closing') && !this.sock.destroyed) {
      if (buf.length - o < 2) break;
      const b0 = buf[o];
      const b1 = buf[o + 1];
      if (b1 & 0x80) return this.protocolError('masked frame from the server');
      let len = b1 & 0x7f;
      let h = 2;
      if (len === 126) {
        if (buf.length - o < 4) break;
        len = buf.readUInt16BE(o + 2);
        h = 4;
      } else if (len === 127) {
        if (buf.length - o < 10) break;
        const big = buf.readBigUInt64BE(o + 2);
        if (big > BigInt(MAX_FRAME)) return this.protocolError('frame too large');
        len = Number(big);
        h = 10;
      }
      if (len > MAX_FRAME) return this.protocolError('frame too large');
      if (buf.length - o < h + len) break;
      const start = o + h;
      o = start + len;
      this.onFrame(b0, buf, start, o);
    }
    if (o < buf.length && this.state !== 'closed') {
      // Keep the partial frame (copied: the chunk may be a view of a larger pooled buffer).
      buf = buf.subarray(o);
      this.pending = Buffer.from(buf);
    }
  }

  private onFrame(b0: number, buf: Buffer, start: number, end: number): void {
    const fin = (b0 & 0x80) !== 0;
    const op = b0 & 0x0f;
    if (op === 0x1 || op === 0x2) {
      if (!fin) {
        this.fragments = [Buffer.from(buf.subarray(start, end))];
        this.fragBinary = op === 0x2;
        return;
      }
      return this.deliver(buf, start, end, op === 0x2);
    }
    if (op === 0x0) {
      if (this.fragments.length === 0) return this.protocolError('continuation without a start');
      this.fragments.push(Buffer.from(buf.subarray(start, end)));
      if (!fin) return;
      const whole = Buffer.concat(this.fragments);
      this.fragments = [];
      return this.deliver(whole, 0, whole.length, this.fragBinary);
    }
    if (op === 0x9) {
      if (this.state === 'open') this.sock.write(this.frame(0xa, Buffer.from(buf.subarray(start, end))));
      return;
    }
    if (op === 0xa) return;
    if (op === 0x8) {
      this.closeCode = end - start >= 2 ? buf.readUInt16BE(start) : 1005;
      this.closeReason = end - start > 2 ? buf.toString('utf8', start + 2, end) : '';
      if (this.state === 'open') {
        this.state = 'closing';
        const echo = Buffer.alloc(2);
        echo.writeUInt16BE(this.closeCode === 1005 ? 1000 : this.closeCode, 0);
        this.sock.write(this.frame(0x8, echo));
      }
      this.sock.end();
      return;
    }
    this.protocolError(`unknown opcode ${op}`);
  }

  private deliver(buf: Buffer, start: number, end: number, binary: boolean): void {
    if (this.tapFn && this.tapFn(this.tapTag, buf, start, end, binary)) return;
    this.h.message(binary ? new Uint8Array(buf.subarray(start, end)) : buf.toString('utf8', start, end), binary);
  }

  private protocolError(why: string): void {
    this.h.error(new Error(`lean client: ${why}`));
    this.closeCode = 1002;
    this.sock.destroy();
  }

  private fail(err: Error): void {
    this.h.error(err);
    this.sock.destroy();
  }

  private onClosed(): void {
    if (this.state === 'closed') return;
    clearTimeout(this.timer);
    this.state = 'closed';
    this.h.close(this.closeCode, this.closeReason);
  }
}

/** A TransportFactory of LeanSockets; `made` hears each socket as it is created (the harness keeps them). */
export function leanTransport(opts: LeanOptions = {}, made?: (s: LeanSocket) => void): TransportFactory {
  return (url, h) => {
    const s = new LeanSocket(url, h, opts);
    made?.(s);
    return s;
  };
}
