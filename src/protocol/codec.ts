// Frame encoding: JSON text or MessagePack binary, same shapes (SPEC §2). The server answers in
// the encoding of the client's last frame, so decoding reports which one it saw.
import { decode as msgpackDecode, encode as msgpackEncode } from '@msgpack/msgpack';
import type { ClientMessage, ServerMessage } from './messages.js';
import { parseClientMessage, parseServerMessage, type Parsed } from './validate.js';

export type Encoding = 'json' | 'msgpack';

const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** Frames above this many bytes are refused with `too_large` before any parsing. */
export const MAX_FRAME_BYTES = 1024;

function decodeRaw(data: ArrayBuffer | Uint8Array | string, binary: boolean): unknown {
  if (typeof data === 'string') return JSON.parse(data);
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  if (binary)
    return msgpackDecode(bytes, { maxStrLength: MAX_FRAME_BYTES, maxArrayLength: 64, maxMapLength: 64, maxBinLength: MAX_FRAME_BYTES, maxExtLength: 0 });
  return JSON.parse(textDecoder.decode(bytes));
}

/** Decodes and validates one client frame. Never throws. */
export function decodeClientFrame(data: ArrayBuffer | Uint8Array | string, binary: boolean): Parsed<ClientMessage> {
  const size = typeof data === 'string' ? data.length : data.byteLength;
  if (size > MAX_FRAME_BYTES) return { ok: false, code: 'too_large', message: `frames are limited to ${MAX_FRAME_BYTES} bytes` };
  let raw: unknown;
  try {
    raw = decodeRaw(data, binary);
  } catch {
    return { ok: false, code: 'bad_frame', message: binary ? 'invalid MessagePack' : 'invalid JSON' };
  }
  return parseClientMessage(raw);
}

/** Encodes a message for the wire: a string for JSON, bytes for MessagePack. */
export function encodeMessage(msg: ServerMessage | ClientMessage, encoding: Encoding): string | Uint8Array {
  return encoding === 'json' ? JSON.stringify(msg) : msgpackEncode(msg, { ignoreUndefined: true });
}

/** Decodes a server frame on the client side; null when it is not a server message. */
export function decodeServerFrame(data: ArrayBuffer | Uint8Array | string, binary: boolean): ServerMessage | null {
  try {
    if (typeof data === 'string') return parseServerMessage(JSON.parse(data));
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
    return parseServerMessage(binary ? msgpackDecode(bytes) : JSON.parse(textDecoder.decode(bytes)));
  } catch {
    return null;
  }
}
