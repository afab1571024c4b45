// A websocket test client on `ws`: keeps every server message, waits for conditions with a
// timeout (never a fixed sleep), speaks JSON or MessagePack.
import { encode } from '@msgpack/msgpack';
import WebSocket from 'ws';
import { decodeServerFrame, type ServerMessage } from '../../src/protocol/index.js';
import { waitFor } from './wait.js';

export type Msg = ServerMessage & Record<string, unknown>;

export interface Refusal {
  status: number;
  body: string;
}

export class TestClient {
  readonly messages: Msg[] = [];
  /** Frames the client could not decode as server messages. */
  readonly garbage: unknown[] = [];
  binaryFrames = 0;
  closed: { code: number; reason: string } | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.binaryFrames++;
      const m = decodeServerFrame(isBinary ? new Uint8Array(data) : data.toString('utf8'), isBinary);
      if (m) this.messages.push(m as Msg);
      else this.garbage.push(data);
    });
    ws.on('close', (code: number, reason: Buffer) => {
      this.closed = { code, reason: reason.toString() };
    });
    ws.on('error', () => {
      /* surfaced through `closed` */
    });
  }

  /** Opens a socket; rejects with a Refusal when the upgrade is answered with an HTTP status. `options`: e.g. `{ ca }` for wss://. */
  static open(url: string, options?: WebSocket.ClientOptions): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, options);
      const client = new TestClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => {
          reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode ?? 0, body }));
          ws.terminate();
        });
      });
      ws.once('error', (e) => reject(e));
    });
  }

  /** Expects the upgrade to be refused; returns status and body. */
  static async refused(url: string): Promise<Refusal> {
    try {
      const c = await TestClient.open(url);
      c.ws.terminate();
    } catch (e) {
      const r = e as Partial<Refusal>;
      if (typeof r.status === 'number') return { status: r.status, body: r.body ?? '' };
      throw e;
    }
    throw new Error('the upgrade was accepted');
  }

  json(msg: unknown): void {
    this.ws.send(JSON.stringify(msg));
  }

  pack(msg: unknown): void {
    this.ws.send(encode(msg), { binary: true });
  }

  raw(data: string | Uint8Array, binary: boolean): void {
    this.ws.send(data, { binary });
  }

  /** Index to pass as `from` to only look at messages received after this point. */
  mark(): number {
    return this.messages.length;
  }

  of<T extends Msg['t']>(t: T, from = 0): Extract<Msg, { t: T }>[] {
    return this.messages.slice(from).filter((m) => m.t === t) as Extract<Msg, { t: T }>[];
  }

  last<T extends Msg['t']>(t: T): Extract<Msg, { t: T }> | undefined {
    for (let i = this.messages.length - 1; i >= 0; i--) if (this.messages[i].t === t) return this.messages[i] as Extract<Msg, { t: T }>;
    return undefined;
  }

  /** The first message of type `t` (from index `from`) that satisfies `pred`. */
  waitFor<T extends Msg['t']>(t: T, pred: (m: Extract<Msg, { t: T }>) => boolean = () => true, from = 0, timeoutMs = 5000): Promise<Extract<Msg, { t: T }>> {
    return waitFor(() => this.of(t, from).find(pred), timeoutMs, `a \`${t}\` message`);
  }

  waitClosed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    return waitFor(() => this.closed, timeoutMs, 'the socket to close');
  }

  /** Round trip: every frame sent before this has been handled by the server when it resolves. */
  async sync(): Promise<void> {
    const from = this.mark();
    this.json({ t: 'ping' });
    await this.waitFor('pong', () => true, from);
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }
}
