// The socket underneath the client, behind one small interface so the same client runs on the
// browser's WebSocket, on the `ws` package in Node (where the load harness also sets a source
// address), or on a fake in tests.

export interface TransportHandlers {
  open(): void;
  /** `binary` tells MessagePack frames (binary) from JSON ones (text). */
  message(data: string | Uint8Array, binary: boolean): void;
  close(code: number, reason: string): void;
  /** `status` is set when the server refused the upgrade with an HTTP status (e.g. 401). */
  error(err: Error & { status?: number }): void;
}

export interface Transport {
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  /** Bytes queued locally, not yet written to the network. */
  readonly bufferedAmount: number;
}

export type TransportFactory = (url: string, handlers: TransportHandlers) => Transport;

/** Parses the status out of a refused upgrade's error message (`ws` and browsers differ). */
export function refusedStatus(err: Error): number | undefined {
  const m = /Unexpected server response: (\d{3})/.exec(err.message);
  return m ? Number(m[1]) : undefined;
}

interface BrowserSocket {
  binaryType: string;
  readonly bufferedAmount: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
}
export type BrowserSocketCtor = new (url: string) => BrowserSocket;

/** A transport on the WHATWG `WebSocket` (browsers, Deno, Node ≥ 22). */
export function webSocketTransport(Ctor: BrowserSocketCtor): TransportFactory {
  return (url, h) => {
    const ws = new Ctor(url);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => h.open();
    ws.onmessage = (ev) => {
      const d = ev.data;
      if (typeof d === 'string') h.message(d, false);
      else if (d instanceof ArrayBuffer) h.message(new Uint8Array(d), true);
      else if (d instanceof Uint8Array) h.message(d, true);
    };
    // Browsers hide the refusal status; the close that follows carries 1006.
    ws.onerror = () => h.error(new Error('websocket error'));
    ws.onclose = (ev) => h.close(ev.code, ev.reason);
    return {
      send: (data) => ws.send(data),
      close: (code, reason) => ws.close(code, reason),
      get bufferedAmount() {
        return ws.bufferedAmount;
      },
    };
  };
}
