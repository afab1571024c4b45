// A shared store (Redis) cannot be reached right now: the caller should retry shortly. Adapters
// throw it for transport failures (offline, closed, timed out), never for a command the store
// refused; the orchestrator's error handler answers it once as 503 `not_ready` with Retry-After.
export class StoreUnavailableError extends Error {
  /** Seconds a client should wait before retrying (the reconnect backoff tops out near this). */
  readonly retryAfterS: number;
  constructor(message: string, options?: { cause?: unknown; retryAfterS?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StoreUnavailableError';
    this.retryAfterS = options?.retryAfterS ?? 2;
  }
}
