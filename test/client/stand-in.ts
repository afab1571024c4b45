// A small stand-in for the orchestrator + processor, for unit tests of the client: real HTTP
// and a real `ws` WebSocketServer, single-use tickets, scripted failures. Not Beacon itself.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  CLOSE_CODES,
  decodeClientFrame,
  encodeMessage,
  HTTP_PATHS,
  type ByeReason,
  type ClientMessage,
  type Encoding,
  type ServerMessage,
} from '../../src/protocol/index.js';

export interface Received {
  msg: ClientMessage;
  encoding: Encoding;
}

export interface StandIn {
  baseUrl: string;
  assigns: { role: string; lat: number; lng: number; auth: string | undefined }[];
  posts: { body: unknown; auth: string | undefined }[];
  received: Received[];
  sockets: Set<WebSocket>;
  /** Status codes to answer the next assignments with, instead of 200 (consumed in order). */
  failAssign: number[];
  /** Make the next upgrades fail with 401 (count). */
  refuseUpgrades: number;
  send(ws: WebSocket, msg: ServerMessage, enc?: Encoding): void;
  bye(reason: ByeReason): void;
  dropAll(): void;
  close(): Promise<void>;
}

export async function startStandIn(): Promise<StandIn> {
  const tickets = new Set<string>();
  let seq = 0;
  const http: Server = createServer();
  const wss = new WebSocketServer({ noServer: true });
  const st: StandIn = {
    baseUrl: '',
    assigns: [],
    posts: [],
    received: [],
    sockets: new Set(),
    failAssign: [],
    refuseUpgrades: 0,
    send(ws, msg, enc = 'json') {
      ws.send(encodeMessage(msg, enc));
    },
    bye(reason) {
      for (const ws of st.sockets) {
        st.send(ws, { t: 'bye', reason });
        ws.close(CLOSE_CODES[reason], reason);
      }
    },
    dropAll() {
      for (const ws of st.sockets) ws.terminate();
    },
    async close() {
      for (const ws of st.sockets) ws.terminate();
      wss.close();
      const closed = new Promise<void>((r) => http.close(() => r()));
      http.closeAllConnections(); // keep-alive sockets of fetch would hold close() for seconds
      await closed;
    },
  };

  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  http.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const auth = req.headers.authorization;
    if (u.pathname === HTTP_PATHS.officerSocket || u.pathname === HTTP_PATHS.citizenSocket) {
      const role = u.pathname === HTTP_PATHS.officerSocket ? 'officer' : 'citizen';
      st.assigns.push({ role, lat: Number(u.searchParams.get('lat')), lng: Number(u.searchParams.get('lng')), auth });
      const fail = st.failAssign.shift();
      if (fail !== undefined) return json(res, fail, { error: fail === 401 ? 'unauthorized' : 'no_processor', message: 'scripted' });
      const ticket = `t${++seq}`;
      tickets.add(ticket);
      const port = (http.address() as AddressInfo).port;
      return json(res, 200, { url: `ws://127.0.0.1:${port}/ws`, ticket, zip: '10001', node: 'stand-in', expiresAt: Date.now() + 30_000 });
    }
    if (u.pathname === HTTP_PATHS.connections && req.method === 'POST') {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        st.posts.push({ body: JSON.parse(body), auth });
        if (JSON.parse(body).officerId === 'busy') return json(res, 409, { error: 'officer_unavailable', message: 'busy' });
        json(res, 202, { id: 'c1', status: 'pending' });
      });
      return;
    }
    json(res, 404, { error: 'not_found', message: 'no such resource' });
  });

  http.on('upgrade', (req, socket, head) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const ticket = u.searchParams.get('ticket') ?? '';
    if (st.refuseUpgrades > 0 || !tickets.delete(ticket)) {
      if (st.refuseUpgrades > 0) st.refuseUpgrades--;
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      st.sockets.add(ws);
      ws.on('close', () => st.sockets.delete(ws));
      st.send(ws, { t: 'hello', id: 'p1', role: 'citizen', zip: '10001', radius: 5000, alertRadius: 250, v: 1 });
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        const p = decodeClientFrame(new Uint8Array(data), isBinary);
        const enc: Encoding = isBinary ? 'msgpack' : 'json';
        if (!p.ok) return st.send(ws, { t: 'err', code: p.code, message: p.message }, enc);
        st.received.push({ msg: p.msg, encoding: enc });
        if (p.msg.t === 'loc')
          st.send(
            ws,
            { t: 'nearest', officer: { id: 'o1', lat: p.msg.lat + 0.001, lng: p.msg.lng, precision: 0, profile: { name: 'Ofc. A' } }, dist: 111 },
            enc,
          );
        if (p.msg.t === 'ping') st.send(ws, { t: 'pong', at: Date.now() }, enc);
      });
    });
  });

  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  st.baseUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return st;
}
