// Picks the transport when the app gives none: its own module, so that transport.ts (which
// ws-transport.ts builds on) never imports ws-transport.ts back.
import { webSocketTransport, type BrowserSocketCtor, type TransportFactory } from './transport.js';

/** The global WebSocket when there is one, else the `ws` package (Node 20), loaded lazily. */
export async function defaultTransport(): Promise<TransportFactory> {
  const g = globalThis as { WebSocket?: BrowserSocketCtor };
  if (typeof g.WebSocket === 'function') return webSocketTransport(g.WebSocket);
  const mod = await import('./ws-transport.js');
  return mod.wsTransport();
}
