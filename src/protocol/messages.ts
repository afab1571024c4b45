// The websocket wire contract of ../shared/SPEC.md §2, defined once. The processor, the
// orchestrator, the client library, the tests and the load harness all import these shapes.
// Field names are the contract the officer and citizen apps code against: never rename them.

export const PROTOCOL_VERSION = 1;

export type Role = 'officer' | 'citizen';
export const ROLES: readonly Role[] = ['officer', 'citizen'];

/** What the apps may show about the other side: never account ids, tokens or positions. */
export interface PublicProfile {
  name?: string;
  /** Officers only. */
  badge?: string;
  /** Officers only. */
  precinct?: string;
}

// ---------------------------------------------------------------- client → server

export interface LocMessage {
  t: 'loc';
  lat: number;
  lng: number;
  /** Reported accuracy in metres. */
  acc?: number;
  /** Device time of the fix, ms since the epoch. */
  ts?: number;
}

export interface AvailMessage {
  t: 'avail';
  on: boolean;
}

export interface RespMessage {
  t: 'resp';
  id: string;
  accept: boolean;
}

export interface PingMessage {
  t: 'ping';
}

export type ClientMessage = LocMessage | AvailMessage | RespMessage | PingMessage;
export type ClientMessageType = ClientMessage['t'];

// ---------------------------------------------------------------- server → client

export interface HelloMessage {
  t: 'hello';
  /** The profile id this socket speaks for. */
  id: string;
  role: Role;
  zip: string;
  /** Officers only: when the availability window ends (ms since the epoch). */
  windowEndsAt?: number;
  /** Search radius in metres: no officer farther than this is ever pushed as nearest. */
  radius: number;
  /** Alert radius in metres for `near` (extra field). */
  alertRadius: number;
  /** Protocol version (extra field). */
  v: number;
}

export interface NearestOfficer {
  id: string;
  /** Exact when `precision` is 0; otherwise the centre of the officer's `precision`-metre grid cell. */
  lat: number;
  lng: number;
  /** Metres: 0 when lat/lng (and `dist`) are exact, else the grid cell size (OFFICER_PRECISION_M). */
  precision: number;
  profile: PublicProfile;
}

export interface NearestMessage {
  t: 'nearest';
  officer: NearestOfficer | null;
  /**
   * Great-circle distance in metres to the officer; when `officer.precision` > 0, the distance to
   * the cell centre shown, rounded to DISTANCE_STEP_M. Null when no officer is within the search
   * radius.
   */
  dist: number | null;
}

export interface NearMessage {
  t: 'near';
  officer: { id: string; profile: PublicProfile };
  dist: number;
}

export interface ReqMessage {
  t: 'req';
  id: string;
  citizen: { id: string; profile: PublicProfile };
  /** When the request expires unanswered (extra field). */
  expiresAt: number;
}

/**
 * `failed`: the officer accepted but the established-connections stream could not take the event
 * within the retry window, so nothing was recorded (docs/protocol.md §5).
 */
export type ConnectionStatus = 'pending' | 'accepted' | 'declined' | 'expired' | 'failed';

export interface ConnMessage {
  t: 'conn';
  id: string;
  status: Exclude<ConnectionStatus, 'pending'>;
  officerId: string;
  citizenId: string;
}

export interface ErrMessage {
  t: 'err';
  code: WsErrorCode;
  message: string;
}

export interface ByeMessage {
  t: 'bye';
  reason: ByeReason;
}

export interface PongMessage {
  t: 'pong';
  /** Server time, ms since the epoch (extra field). */
  at: number;
}

export type ServerMessage = HelloMessage | NearestMessage | NearMessage | ReqMessage | ConnMessage | ErrMessage | ByeMessage | PongMessage;
export type ServerMessageType = ServerMessage['t'];

// ---------------------------------------------------------------- codes

/** Codes carried by `err` frames. The socket stays open after each of them. */
export const WS_ERROR_CODES = {
  bad_frame: 'the frame is not valid JSON or MessagePack',
  too_large: 'the frame is larger than the server accepts',
  not_object: 'a message must be an object with a string field `t`',
  unknown_type: 'the message type `t` is not one this server knows',
  bad_field: 'a field is missing, of the wrong type or out of range',
  not_allowed: 'this role may not send this message',
  unknown_request: 'no pending connection request with this id for this officer',
  rate_limited: 'too many messages; slow down or the socket will be closed',
  out_of_area: 'the position is too far from where this socket was assigned; ask the orchestrator for a socket where you are now',
  implausible_move: 'the position implies a move faster than any vehicle; it was ignored',
} as const;
export type WsErrorCode = keyof typeof WS_ERROR_CODES;

/** Reasons carried by `bye`, sent just before the server closes the socket. */
export const BYE_REASONS = {
  window_expired: 'the officer availability window ended',
  replaced: 'a newer socket for the same profile replaced this one',
  drain: 'the node is shutting down; ask the orchestrator for a new socket',
  unauthorized: 'the credentials that opened this socket expired; get a fresh token and ask for a new socket',
  abuse: 'too many bad or excessive frames',
} as const;
export type ByeReason = keyof typeof BYE_REASONS;

/**
 * Websocket close codes (4000–4999 is the application range). The first five pair with a `bye`
 * reason; `backpressure` is a close without `bye`, because a client that does not read would
 * never see it.
 */
export const CLOSE_CODES = {
  window_expired: 4000,
  replaced: 4001,
  drain: 4002,
  unauthorized: 4003,
  abuse: 4004,
  backpressure: 4005,
} as const satisfies Record<ByeReason | 'backpressure', number>;
