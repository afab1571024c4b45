// The established-connections stream (SPEC §1 step 5): durable, consumed by downstream services.
// Embedded mode appends to an fsynced file; distributed mode XADDs to a Redis Stream. One test
// body (test/contracts/connection-stream.ts) runs against both.
import type { EstablishedConnectionEvent } from '../protocol/index.js';

export interface ConnectionStream {
  /**
   * Appends the event durably. Idempotent by `event.id`: appending the same id twice (a retry)
   * writes it once. Resolves once the event is durable.
   */
  append(event: EstablishedConnectionEvent): Promise<void>;
  /**
   * Optional, for streams several writers share (Redis): gives the event up for good. Resolves
   * true when it is in the stream after all (a late append landed), false when it is not and a
   * later append of the id will be refused. A stream without it has one writer, whose caller
   * knows no append is in flight when it gives up.
   */
  abandon?(eventId: string): Promise<boolean>;
  close(): Promise<void>;
}
