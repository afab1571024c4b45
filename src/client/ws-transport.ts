// Transport on the `ws` package, for Node. Kept out of transport.ts so a browser bundle never
// pulls `ws` in. Uses ws's native (data, isBinary) events: no event objects on the hot path.
import WebSocket from 'ws';
import { refusedStatus, type TransportFactory } from './transport.js';

export interface WsTransportOptions {
  /** Source address of the TCP connection (the load harness spreads sockets over 127.0.0.x). */
  localAddress?: string;
  /** Upgrade timeout, ms. */
  handshakeTimeoutMs?: number;
  /** Skip UTF-8 validation of text frames (a trusted server; the load generator's hot path). */
  skipUTF8Validation?: boolean;
}

export function wsTransport(opts: WsTransportOptions = {}): TransportFactory {
  return (url, h) => {
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      handshakeTimeout: opts.handshakeTimeoutMs ?? 10_000,
      skipUTF8Validation: opts.skipUTF8Validation ?? false,
      ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
    });
    ws.on('open', () => h.open());
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data;
      h.message(isBinary ? buf : buf.toString('utf8'), isBinary);
    });
    ws.on('close', (code: number, reason: Buffer) => h.close(code, reason.toString('utf8')));
    ws.on('error', (err: Error & { status?: number }) => {
      const status = refusedStatus(err);
      if (status !== undefined) err.status = status;
      h.error(err);
    });
    return {
      send: (data) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(data);
      },
      close: (code, reason) => {
        if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
        else ws.close(code, reason);
      },
      get bufferedAmount() {
        return ws.bufferedAmount;
      },
    };
  };
}
