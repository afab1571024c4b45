// Hostile clients against the TLS ports of an embedded Beacon (processor: uWS SSLApp; orchestrator:
// fastify https): garbage after the handshake, plaintext HTTP and websocket upgrades, a handshake cut
// short, a burst of aborted handshakes, a foreign SNI name. None may crash the process (the servers
// run in this test process: a crash fails the file) and every port keeps serving real clients.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintDeviceToken } from '../../src/auth/index.js';
import { loadConfig } from '../../src/config.js';
import { startEmbedded, type Embedded } from '../../src/embedded.js';
import { createLogger } from '../../src/log.js';
import { HTTP_PATHS, type SocketAssignment } from '../../src/protocol/index.js';
import { httpsFetch, makeCerts, type TestCerts } from '../helpers/tls.js';
import { TestClient } from '../helpers/ws-client.js';

let certs: TestCerts;
let dataDir: string;
let beacon: Embedded;
let oport: number;
let pport: number;

beforeAll(async () => {
  certs = await makeCerts();
  dataDir = await mkdtemp(join(tmpdir(), 'beacon-tls-hostile-'));
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    PROCESSOR_PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    TLS_CERT_FILE: certs.serverCert,
    TLS_KEY_FILE: certs.serverKey,
  });
  beacon = await startEmbedded(config, { logger: createLogger('silent', 'test') });
  oport = Number(new URL(beacon.orchestratorUrl).port);
  pport = beacon.processor.port;
});
afterAll(async () => {
  await beacon?.close();
  await rm(dataDir, { recursive: true, force: true });
  certs?.dispose();
});

interface Exchange {
  /** The TLS handshake completed. */
  secure: boolean;
  /** Everything the server sent back (decrypted for TLS). */
  got: string;
  /** Resolves when the server has closed the connection. */
  closed: Promise<void>;
  destroy(): void;
}

/** Connects (TLS trusting the CA, or plain TCP), resolves once `payload` is handed to the kernel. */
function send(port: number, payload: Buffer | string, o: { tls: boolean }): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const s = o.tls ? tlsConnect({ host: '127.0.0.1', port, ca: certs.ca }) : netConnect({ host: '127.0.0.1', port });
    const out: Exchange = { secure: false, got: '', closed: new Promise((r) => s.on('close', () => r())), destroy: () => s.destroy() };
    s.on(o.tls ? 'secureConnect' : 'connect', () => {
      out.secure = o.tls;
      s.write(payload, (e) => (e ? reject(e) : resolve(out)));
    });
    s.on('data', (d: Buffer) => (out.got += d.toString('latin1')));
    s.on('error', () => {
      /* a reset is an acceptable way to be thrown out; 'close' follows */
    });
  });
}

/** send(), then wait until the server closes (or `done(got)` holds); rejects if it does neither within 10 s. */
async function exchange(port: number, payload: Buffer | string, o: { tls: boolean; done?: (got: string) => boolean }): Promise<Exchange> {
  const x = await send(port, payload, o);
  const deadline = Date.now() + 10_000;
  let closed = false;
  void x.closed.then(() => (closed = true));
  while (!closed && !(o.done?.(x.got) ?? false)) {
    if (Date.now() > deadline) {
      x.destroy();
      throw new Error(`port ${port} neither answered nor closed after ${JSON.stringify(String(payload).slice(0, 40))}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  x.destroy();
  return x;
}

/** Both servers still serve: HTTPS health on both ports, and a real device gets hello and pong over wss. */
async function stillServing(sub: string): Promise<void> {
  expect((await httpsFetch(`https://127.0.0.1:${oport}/healthz`, { ca: certs.ca })).status).toBe(200);
  expect((await httpsFetch(`https://127.0.0.1:${pport}/healthz`, { ca: certs.ca })).status).toBe(200);
  const tok = await mintDeviceToken(beacon.deviceKeys.secret!, { role: 'citizen', sub });
  const r = await httpsFetch(`${beacon.orchestratorUrl}${HTTP_PATHS.citizenSocket}?lat=40.758&lng=-73.9855`, {
    ca: certs.ca,
    headers: { authorization: `Bearer ${tok}` },
  });
  expect(r.status).toBe(200);
  const c = await TestClient.open((JSON.parse(r.body) as SocketAssignment).url, { ca: certs.ca });
  try {
    await c.waitFor('hello');
    await c.sync();
  } finally {
    c.close();
  }
}

describe('hostile clients on the TLS ports', () => {
  it('garbage after a completed handshake gets no service, and holding it open blocks nobody', async () => {
    // Random bytes are dropped at once; text that may still become a request line is held until
    // the server's idle timeout (uWS does the same without TLS), so those stay open meanwhile.
    const payloads = [randomBytes(4096), 'HELLO\r\n\r\n\0\0\0 not http at all\r\n\r\n', 'GET / HTTP/1.1\r\nno colon here\r\n\r\n'];
    const held: Exchange[] = [];
    for (const port of [pport, oport]) for (const p of payloads) held.push(await send(port, p, { tls: true }));
    expect(held.every((x) => x.secure)).toBe(true);
    await stillServing('c-beside-garbage');
    for (const x of held) {
      expect(x.got).not.toMatch(/^HTTP\/1\.1 [23]/);
      x.destroy();
    }
    await Promise.all(held.map((x) => x.closed));
    await stillServing('c-after-garbage');
  });

  it('a websocket upgrade over TLS without a valid ticket gets 401, the socket is not opened', async () => {
    const upgrade = `GET /ws?ticket=forged HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
    const r = await exchange(pport, upgrade, { tls: true, done: (got) => /\r\n\r\n\{.*\}/s.test(got) });
    expect(r.got).toMatch(/^HTTP\/1\.1 401/);
    await stillServing('c-after-forged');
  });

  it('plaintext HTTP and plaintext websocket upgrades get no HTTP answer', async () => {
    const upgrade = `GET /ws?ticket=x HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
    for (const port of [pport, oport]) {
      expect((await exchange(port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', { tls: false })).got).not.toMatch(/HTTP\//);
      expect((await exchange(port, upgrade, { tls: false })).got).not.toMatch(/HTTP\//);
      expect((await exchange(port, randomBytes(2048), { tls: false })).got).not.toMatch(/HTTP\//);
    }
    await stillServing('c-after-plaintext');
  });

  it('handshakes cut short, a burst of them, and a foreign SNI name', async () => {
    // A TLS record header announcing a ClientHello, then silence and a close.
    for (const port of [pport, oport]) {
      await new Promise<void>((resolve) => {
        const s = netConnect({ host: '127.0.0.1', port }, () => {
          s.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]));
          s.end();
        });
        s.on('close', () => resolve());
        s.on('error', () => {});
      });
    }
    // 50 clients that start a handshake and vanish.
    await Promise.all(
      Array.from(
        { length: 50 },
        (_, i) =>
          new Promise<void>((resolve) => {
            const s = tlsConnect({ host: '127.0.0.1', port: i % 2 ? pport : oport, ca: certs.ca });
            s.on('error', () => {});
            s.on('close', () => resolve());
            setImmediate(() => s.destroy());
          }),
      ),
    );
    // SNI for a name the certificate does not cover: the server answers with its one certificate,
    // which the client then rejects by name (servername is checked against the SAN).
    const sni = await new Promise<string>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port: pport, ca: certs.ca, servername: 'evil.example' });
      s.on('secureConnect', () => resolve('accepted'));
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
    expect(sni).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    await stillServing('c-after-handshakes');
  });
});
