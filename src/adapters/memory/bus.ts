// The in-process Bus of embedded mode and tests.
import type { Bus, BusHandler, BusMessage } from '../../coordination/index.js';
import type { Logger } from '../../log.js';

/**
 * In-process bus. Delivery is asynchronous (a microtask later), like a network hop, so code
 * written against it does not come to rely on re-entrancy that Redis would not give it.
 * Messages are delivered by reference: receivers must not mutate them. As on the Redis bus, a
 * handler that throws is logged and counted, and the other handlers still get the message.
 */
export class MemoryBus implements Bus {
  private readonly channels = new Map<string, Set<BusHandler>>();
  private closed = false;
  /** Handlers that threw (caught, logged). */
  handlerErrors = 0;

  constructor(private readonly options: { logger?: Logger } = {}) {}

  publish(channel: string, msg: BusMessage): void {
    const handlers = this.channels.get(channel);
    if (this.closed || !handlers || handlers.size === 0) return;
    queueMicrotask(() => {
      for (const h of handlers) {
        try {
          h(msg);
        } catch (e) {
          this.handlerErrors++;
          this.options.logger?.error({ err: e, type: msg.type }, 'bus handler threw');
        }
      }
    });
  }

  subscribe(channel: string, handler: BusHandler): () => void {
    if (this.closed) return () => {};
    let set = this.channels.get(channel);
    if (!set) this.channels.set(channel, (set = new Set()));
    set.add(handler);
    return () => {
      set.delete(handler);
      if (set.size === 0 && this.channels.get(channel) === set) this.channels.delete(channel);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.channels.clear();
  }
}
