// The client's options, events, states and errors (BeaconClient in client.ts uses them; apps
// import them from the package index).
import { CLOSE_CODES, type ByeReason, type Encoding, type Role, type ServerMessage } from '../protocol/index.js';
import type { BackoffOptions } from './backoff.js';
import type { FetchLike, TokenSource } from './http.js';
import type { TransportFactory } from './transport.js';

/** `bye` reasons after which reconnecting would be wrong (SPEC §2, §3 "Reconnect"). */
export const FINAL_BYE_REASONS: ReadonlySet<ByeReason> = new Set<ByeReason>(['replaced', 'window_expired', 'abuse']);
export const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set([CLOSE_CODES.replaced, CLOSE_CODES.window_expired, CLOSE_CODES.abuse]);

export interface ClientOptions {
  /**
   * Orchestrator base URL, e.g. `http://127.0.0.1:8080`, or several equivalent ones: the client
   * uses one at a time and moves to the next (round robin) after a call that got no answer
   * (network error, timeout) or a 5xx. The failed call is not repeated on the next URL; the
   * reconnect loop retries by itself, `requestConnection` / `getConnection` callers decide.
   */
  baseUrl: string | readonly string[];
  role: Role;
  /** Device JWT (`sub`, `acct`, `role`), or a function returning a fresh one. */
  token: TokenSource;
  /** Zip code to send with assignments; the orchestrator derives it from lat/lng when absent. */
  zip?: string;
  encoding?: Encoding;
  /** `sendLocation` skips positions closer than this to the last one sent, metres (0: send all). */
  moveThresholdM?: number;
  /** Sends `ping` this often so the server's idle timeout never fires, ms (0: off). */
  heartbeatMs?: number;
  /** How long to wait for `hello` after opening, ms. */
  helloTimeoutMs?: number;
  /** Backoff between attempts; `false` disables reconnecting. */
  reconnect?: false | Partial<BackoffOptions>;
  /** After a reconnect, send the last known position (and `avail: false` if set) again. */
  resendOnReconnect?: boolean;
  transport?: TransportFactory;
  fetch?: FetchLike;
  /** Random source for jitter (tests). */
  random?: () => number;
  /** Waits `ms` (tests pass a fake). */
  delay?: (ms: number) => Promise<void>;
}

export interface OpenEvent {
  url: string;
  node: string;
  zip: string;
  /** Time of the assignment request, ms. */
  assignMs: number;
  /** From starting the websocket to `hello`, ms. */
  connectMs: number;
  reconnect: boolean;
}

export interface CloseEvent {
  code: number;
  reason: string;
  /** The `bye` reason the server gave before closing, if any. */
  bye?: ByeReason;
  willReconnect: boolean;
}

export type ClientEvents = { [K in ServerMessage['t']]: Extract<ServerMessage, { t: K }> } & {
  open: OpenEvent;
  close: CloseEvent;
  reconnecting: { attempt: number; delayMs: number; error?: unknown };
  /** Reconnecting gave up, or a listener threw; the client stays closed after a give-up. */
  error: unknown;
};

export type ClientState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Opening the socket failed: refused at the upgrade (`status`), closed before `hello`, or timed out. */
export class ConnectError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: number,
  ) {
    super(message);
    this.name = 'ConnectError';
  }
}

export class ClientClosedError extends Error {
  constructor() {
    super('the client was closed');
    this.name = 'ClientClosedError';
  }
}
