// Validation of decoded client messages. Pure and allocation-light: it runs on every frame.
import { isId, MAX_ID_LENGTH } from './limits.js';
import type { ClientMessage, ServerMessage, ServerMessageType, WsErrorCode } from './messages.js';

export type Parsed<T> = { ok: true; msg: T } | { ok: false; code: WsErrorCode; message: string };

const fail = (code: WsErrorCode, message: string): Parsed<never> => ({ ok: false, code, message });

/** A latitude in degrees: a finite number in [-90, 90]. */
export function isLat(v: unknown): v is number {
  return typeof v === 'number' && v >= -90 && v <= 90; // NaN fails both comparisons
}

/** A longitude in degrees: a finite number in [-180, 180]. */
export function isLng(v: unknown): v is number {
  return typeof v === 'number' && v >= -180 && v <= 180;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** Checks a decoded frame against the client → server contract. Extra fields are ignored. */
export function parseClientMessage(v: unknown): Parsed<ClientMessage> {
  if (!isObject(v) || typeof v.t !== 'string') return fail('not_object', 'expected an object with a string field `t`');
  switch (v.t) {
    case 'loc': {
      if (!isLat(v.lat)) return fail('bad_field', '`lat` must be a number in [-90, 90]');
      if (!isLng(v.lng)) return fail('bad_field', '`lng` must be a number in [-180, 180]');
      if (v.acc !== undefined && !(typeof v.acc === 'number' && v.acc >= 0 && v.acc < 1e7)) {
        return fail('bad_field', '`acc` must be a non-negative number of metres');
      }
      if (v.ts !== undefined && !(typeof v.ts === 'number' && Number.isFinite(v.ts) && v.ts >= 0)) {
        return fail('bad_field', '`ts` must be milliseconds since the epoch');
      }
      const msg: ClientMessage = { t: 'loc', lat: v.lat, lng: v.lng };
      if (v.acc !== undefined) msg.acc = v.acc as number;
      if (v.ts !== undefined) msg.ts = v.ts as number;
      return { ok: true, msg };
    }
    case 'avail':
      if (typeof v.on !== 'boolean') return fail('bad_field', '`on` must be a boolean');
      return { ok: true, msg: { t: 'avail', on: v.on } };
    case 'resp':
      if (!isId(v.id)) return fail('bad_field', `\`id\` must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
      if (typeof v.accept !== 'boolean') return fail('bad_field', '`accept` must be a boolean');
      return { ok: true, msg: { t: 'resp', id: v.id, accept: v.accept } };
    case 'ping':
      return { ok: true, msg: { t: 'ping' } };
    default:
      return fail('unknown_type', `unknown message type ${JSON.stringify(v.t.slice(0, 32))}`);
  }
}

const SERVER_TYPES: ReadonlySet<ServerMessageType> = new Set<ServerMessageType>(['hello', 'nearest', 'near', 'req', 'conn', 'err', 'bye', 'pong']);

/** Light check for the client side: an object whose `t` is a server message type. */
export function parseServerMessage(v: unknown): ServerMessage | null {
  if (!isObject(v) || typeof v.t !== 'string' || !SERVER_TYPES.has(v.t as ServerMessageType)) return null;
  return v as unknown as ServerMessage;
}
