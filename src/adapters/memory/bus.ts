// The in-process Bus of embedded mode and tests.
import type { Bus, BusHandler, BusMessage } from '../../coordination/index.js';

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
