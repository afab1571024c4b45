// The established-connections stream (SPEC §1 step 5): durable, consumed by downstream services.
// Embedded mode appends to an fsynced file; distributed mode XADDs to a Redis Stream.
import type { EstablishedConnectionEvent } from '../protocol/index.js';

export interface ConnectionStream {
  /**
   * Appends the event durably. Idempotent by `event.id`: appending the same id twice (a retry)
   * writes it once. Resolves once the event is durable.
   */
  append(event: EstablishedConnectionEvent): Promise<void>;
  close(): Promise<void>;
}
