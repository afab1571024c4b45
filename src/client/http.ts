// The orchestrator's HTTP contract from the client side: socket assignment and connection
// requests. Paths and shapes come from src/protocol; `fetch` is injectable (tests, old runtimes).
// Without one: Node's own http module on Node (node-fetch.ts), the global `fetch` elsewhere.
import {
  HTTP_PATHS,
  isId,
  isLat,
  isLng,
  MAX_ID_LENGTH,
  type ConnectionAccepted,
  type ConnectionRecord,
  type Role,
  type SocketAssignment,
} from '../protocol/index.js';

import type { FetchLike } from './fetch-like.js';

export type { FetchLike } from './fetch-like.js';

export type TokenSource = string | (() => string | Promise<string>);

/** An HTTP answer other than success, or no answer at all (`status` 0). */
export class BeaconHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'BeaconHttpError';
  }

  /** Worth asking again later: network failure, rate limit, server trouble. 4xx otherwise is final. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

export interface HttpOptions {
  /** Orchestrator base URL, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  token: TokenSource;
  fetch?: FetchLike;
  /** Per-request timeout, ms. */
  timeoutMs?: number;
}

async function resolveToken(t: TokenSource): Promise<string> {
  return typeof t === 'string' ? t : await t();
}

function trimBase(base: string): string {
  return base.endsWith('/') ? base.slice(0, -1) : base;
}

let defaultFetchImpl: Promise<FetchLike | undefined> | undefined;

/** On Node, keep-alive requests on node:http (a third of fetch's CPU per call); elsewhere the global fetch. */
export function defaultFetch(): Promise<FetchLike | undefined> {
  const onNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
  defaultFetchImpl ??= onNode ? import('./node-fetch.js').then((m) => m.nodeFetch) : Promise.resolve(globalThis.fetch as unknown as FetchLike | undefined);
  return defaultFetchImpl;
}

async function call(opts: HttpOptions, method: string, path: string, body?: unknown): Promise<unknown> {
  const f = opts.fetch ?? (await defaultFetch());
  if (!f) throw new BeaconHttpError(0, 'no_fetch', 'no fetch implementation: pass `fetch` in the options');
  const headers: Record<string, string> = { authorization: `Bearer ${await resolveToken(opts.token)}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const signal = typeof AbortSignal !== 'undefined' && 'timeout' in AbortSignal ? AbortSignal.timeout(opts.timeoutMs ?? 10_000) : undefined;
  let res: Awaited<ReturnType<FetchLike>>;
  try {
    res = await f(trimBase(opts.baseUrl) + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  } catch (err) {
    throw new BeaconHttpError(0, 'network', `request failed: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = await res.json();
  } catch {
    parsed = null;
  }
  if (!res.ok) {
    const b = (parsed ?? {}) as { error?: unknown; message?: unknown };
    throw new BeaconHttpError(
      res.status,
      typeof b.error === 'string' ? b.error : 'http_error',
      typeof b.message === 'string' ? b.message : `HTTP ${res.status}`,
    );
  }
  return parsed;
}

/** Asks the orchestrator for a socket: GET officer/citizen socket with the position. */
export async function assign(opts: HttpOptions, role: Role, lat: number, lng: number, zip?: string): Promise<SocketAssignment> {
  if (!isLat(lat) || !isLng(lng)) throw new RangeError('lat must be in [-90, 90] and lng in [-180, 180]');
  const q = new URLSearchParams({ lat: String(lat), lng: String(lng) });
  if (zip !== undefined) q.set('zip', zip);
  const path = role === 'officer' ? HTTP_PATHS.officerSocket : HTTP_PATHS.citizenSocket;
  const a = (await call(opts, 'GET', `${path}?${q}`)) as Partial<SocketAssignment> | null;
  if (!a || typeof a.url !== 'string' || typeof a.ticket !== 'string') {
    throw new BeaconHttpError(200, 'bad_response', 'the assignment has no url or ticket');
  }
  return a as SocketAssignment;
}

/** The URL to open: the assignment URL with the ticket, unless the server already put it there. */
export function ticketUrl(a: Pick<SocketAssignment, 'url' | 'ticket'>): string {
  const u = new URL(a.url);
  if (!u.searchParams.has('ticket')) u.searchParams.set('ticket', a.ticket);
  return u.toString();
}

/** Citizen: ask to connect with an officer (POST /v1/connections). */
export async function requestConnection(opts: HttpOptions, officerId: string): Promise<ConnectionAccepted> {
  if (!isId(officerId)) throw new RangeError(`officerId must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
  return (await call(opts, 'POST', HTTP_PATHS.connections, { officerId })) as ConnectionAccepted;
}

/** State of a connection request (GET /v1/connections/:id). */
export async function getConnection(opts: HttpOptions, id: string): Promise<ConnectionRecord> {
  if (!isId(id)) throw new RangeError(`id must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
  return (await call(opts, 'GET', `${HTTP_PATHS.connections}/${encodeURIComponent(id)}`)) as ConnectionRecord;
}
