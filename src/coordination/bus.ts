// The message bus between orchestrators and processors: an interface with an in-memory
// implementation for embedded mode and tests, and a Redis pub/sub one for distributed mode.
import type { BusMessage } from './messages.js';

export type BusHandler = (msg: BusMessage) => void;

export interface Bus {
  /** Fire-and-forget delivery to every subscriber of the channel. */
  publish(channel: string, msg: BusMessage): void;
  /** Returns the unsubscribe function. */
  subscribe(channel: string, handler: BusHandler): () => void;
  close(): Promise<void>;
}

/**
 * In-process bus. Delivery is asynchronous (a microtask later), like a network hop, so code
 * written against it does not come to rely on re-entrancy that Redis would not give it.
 * Messages are delivered by reference: receivers must not mutate them.
 */
export class MemoryBus implements Bus {
  private readonly channels = new Map<string, Set<BusHandler>>();

  publish(channel: string, msg: BusMessage): void {
    const handlers = this.channels.get(channel);
    if (!handlers || handlers.size === 0) return;
    queueMicrotask(() => {
      for (const h of handlers) h(msg);
    });
  }

  subscribe(channel: string, handler: BusHandler): () => void {
    let set = this.channels.get(channel);
    if (!set) this.channels.set(channel, (set = new Set()));
    set.add(handler);
    return () => {
      set.delete(handler);
      if (set.size === 0) this.channels.delete(channel);
    };
  }

  async close(): Promise<void> {
    this.channels.clear();
  }
}
