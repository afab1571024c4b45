// The message bus between orchestrators and processors. Implementations: in memory
// (src/adapters/memory/bus.ts, embedded mode and tests) and Redis pub/sub (src/adapters/redis/bus.ts);
// one test body (test/contracts/bus.ts) runs against both.
import type { BusMessage } from './messages.js';

export type BusHandler = (msg: BusMessage) => void;

export interface Bus {
  /** Fire-and-forget delivery to every subscriber of the channel. */
  publish(channel: string, msg: BusMessage): void;
  /** Returns the unsubscribe function. */
  subscribe(channel: string, handler: BusHandler): () => void;
  close(): Promise<void>;
}
