// Slow and stuck HTTP clients over raw TCP sockets, for the timeout and drain tests: bodies
// trickled a byte at a time, idle keep-alive sockets, a slowloris header.
import { connect, type Socket } from 'node:net';

export interface SlowClient {
  socket: Socket;
  /** Everything the server sent. */
  received(): string;
  /** Resolves when the server (or anyone) closed the socket. */
  closed: Promise<void>;
  stop(): void;
}

function open(url: string, onConnect: (s: Socket) => NodeJS.Timeout | undefined): Promise<SlowClient> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: u.hostname, port: Number(u.port) });
    let got = '';
    let timer: NodeJS.Timeout | undefined;
    socket.on('data', (d) => (got += d.toString('latin1')));
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('error', () => {});
    socket.once('connect', () => {
      timer = onConnect(socket);
      resolve({ socket, received: () => got, closed: closed.then(() => clearInterval(timer)), stop: () => (clearInterval(timer), socket.destroy()) });
    });
    socket.once('error', reject);
  });
}

/** A POST (with a bearer `token`, so a route waits for the body) whose 4,000-byte body arrives one byte every `everyMs`. */
export function tricklingBody(url: string, path: string, token: string, everyMs = 200): Promise<SlowClient> {
  return open(url, (s) => {
    s.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{`);
    return setInterval(() => s.write(' '), everyMs);
  });
}

/** Headers that never end: one header line every `everyMs` (slowloris). */
export function slowloris(url: string, everyMs = 200): Promise<SlowClient> {
  let n = 0;
  return open(url, (s) => {
    s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    return setInterval(() => s.write(`X-Slow-${n++}: y\r\n`), everyMs);
  });
}

/** One complete keep-alive request; the socket then stays open and idle. Resolves after the answer. */
export async function idleKeepAlive(url: string): Promise<SlowClient> {
  const c = await open(url, (s) => {
    s.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    return undefined;
  });
  const deadline = Date.now() + 30_000;
  while (!/\r\n\r\n/.test(c.received())) {
    if (Date.now() > deadline) throw new Error('no answer on the keep-alive socket');
    await new Promise((r) => setTimeout(r, 20));
  }
  return c;
}
