// The orchestrator's HTTP contract (SPEC §2 "HTTP"): request and response schemas as TypeBox, so
// routes validate with them, the OpenAPI document comes from them, and clients get the same types.
import { Type, type Static } from '@sinclair/typebox';
import { MAX_ID_LENGTH } from './limits.js';

export const ZIP_PATTERN = '^[0-9]{5}$';

export const SocketQuery = Type.Object(
  {
    lat: Type.Number({ minimum: -90, maximum: 90, description: 'latitude, WGS84 degrees' }),
    lng: Type.Number({ minimum: -180, maximum: 180, description: 'longitude, WGS84 degrees' }),
    zip: Type.Optional(Type.String({ pattern: ZIP_PATTERN, description: 'five-digit US zip code' })),
    accountId: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_ID_LENGTH, description: 'must match the token `acct`' })),
    profileId: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_ID_LENGTH, description: 'must match the token `sub`' })),
  },
  { additionalProperties: false },
);
export type SocketQuery = Static<typeof SocketQuery>;

export const SocketAssignment = Type.Object({
  url: Type.String({ description: 'websocket URL to open, with `?ticket=` appended' }),
  ticket: Type.String({ description: 'short-lived signed ticket, single use' }),
  zip: Type.String(),
  node: Type.String({ description: 'id of the processor node that owns the zip shard' }),
  expiresAt: Type.Number({ description: 'ticket expiry, ms since the epoch' }),
});
export type SocketAssignment = Static<typeof SocketAssignment>;

export const ConnectionRequestBody = Type.Object({ officerId: Type.String({ minLength: 1, maxLength: MAX_ID_LENGTH }) }, { additionalProperties: false });
export type ConnectionRequestBody = Static<typeof ConnectionRequestBody>;

export const ConnectionAccepted = Type.Object({
  id: Type.String(),
  status: Type.Literal('pending'),
});
export type ConnectionAccepted = Static<typeof ConnectionAccepted>;

export const ConnectionRecord = Type.Object({
  id: Type.String(),
  officerId: Type.String(),
  citizenId: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('accepted'), Type.Literal('declined'), Type.Literal('expired'), Type.Literal('failed')]),
  /** When the status last changed, ms since the epoch. */
  at: Type.Number(),
});
export type ConnectionRecord = Static<typeof ConnectionRecord>;

export const ConnectionParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: MAX_ID_LENGTH }) });
export type ConnectionParams = Static<typeof ConnectionParams>;

export const ErrorBody = Type.Object({
  error: Type.String({ description: 'stable machine-readable code, see docs/protocol.md' }),
  message: Type.String(),
});
export type ErrorBody = Static<typeof ErrorBody>;

/** One event of the established-connections stream (SPEC §1 step 5). */
export interface EstablishedConnectionEvent {
  id: string;
  officerId: string;
  citizenId: string;
  /** When the officer accepted, ms since the epoch. */
  at: number;
  zip: string;
}

/** Every HTTP error code the orchestrator answers with, its status and default message. */
export const HTTP_ERRORS = {
  bad_request: { status: 400, message: 'the request is malformed' },
  bad_coordinates: { status: 400, message: '`lat` and `lng` must be numbers within WGS84 range' },
  bad_zip: { status: 400, message: '`zip` must be a five-digit US zip code' },
  out_of_area: { status: 400, message: 'the position is not within reach of any known zip code' },
  zip_mismatch: { status: 400, message: 'the zip code cannot contain the given position; send the position alone and the server derives the zip' },
  unauthorized: { status: 401, message: 'a valid bearer token is required' },
  token_expired: { status: 401, message: 'the bearer token has expired' },
  wrong_role: { status: 403, message: 'the token role may not use this endpoint' },
  id_mismatch: { status: 403, message: 'accountId/profileId do not match the token' },
  not_found: { status: 404, message: 'no such resource' },
  request_timeout: { status: 408, message: 'the request did not arrive in time' },
  officer_unavailable: { status: 409, message: 'the officer cannot be requested now' },
  rate_limited: { status: 429, message: 'too many requests; retry later' },
  officer_busy: { status: 429, message: 'the officer has too many unanswered requests; retry later' },
  no_processor: { status: 503, message: 'no processor node is available for this zip' },
  not_ready: { status: 503, message: 'the service is not ready' },
  internal: { status: 500, message: 'internal error' },
} as const;
export type HttpErrorCode = keyof typeof HTTP_ERRORS;

/** Paths of the HTTP contract, so clients and the load harness never spell them twice. */
export const HTTP_PATHS = {
  officerSocket: '/v1/officers/socket',
  citizenSocket: '/v1/citizens/socket',
  connections: '/v1/connections',
  health: '/healthz',
  ready: '/readyz',
  metrics: '/metrics',
} as const;
