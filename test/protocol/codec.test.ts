import { encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { decodeClientFrame, decodeServerFrame, encodeMessage, MAX_FRAME_BYTES } from '../../src/protocol/index.js';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('decodeClientFrame', () => {
  it('accepts the same loc in JSON text, JSON bytes and MessagePack', () => {
    const loc = { t: 'loc', lat: 40.7, lng: -73.9, acc: 5, ts: 1_700_000_000_000 };
    for (const r of [
      decodeClientFrame(JSON.stringify(loc), false),
      decodeClientFrame(bytes(JSON.stringify(loc)), false),
      decodeClientFrame(encode(loc), true),
    ]) {
      expect(r).toEqual({ ok: true, msg: loc });
    }
  });

  it('drops extra fields so nothing unvalidated reaches the server', () => {
    const r = decodeClientFrame(JSON.stringify({ t: 'avail', on: true, evil: { deep: 1 } }), false);
    expect(r).toEqual({ ok: true, msg: { t: 'avail', on: true } });
  });

  it.each([
    ['not json', '{', 'bad_frame'],
    ['a number', '42', 'not_object'],
    ['an array', '[1,2]', 'not_object'],
    ['null', 'null', 'not_object'],
    ['no t', '{"lat":1}', 'not_object'],
    ['unknown t', '{"t":"teleport"}', 'unknown_type'],
    ['lat as string', '{"t":"loc","lat":"40","lng":-73}', 'bad_field'],
    ['lat out of range', '{"t":"loc","lat":91,"lng":-73}', 'bad_field'],
    ['lng out of range', '{"t":"loc","lat":40,"lng":-180.5}', 'bad_field'],
    ['missing lng', '{"t":"loc","lat":40}', 'bad_field'],
    ['negative acc', '{"t":"loc","lat":40,"lng":-73,"acc":-1}', 'bad_field'],
    ['avail not boolean', '{"t":"avail","on":"yes"}', 'bad_field'],
    ['resp without id', '{"t":"resp","accept":true}', 'bad_field'],
    ['resp with huge id', JSON.stringify({ t: 'resp', id: 'x'.repeat(200), accept: true }), 'bad_field'],
  ])('refuses %s', (_name, frame, code) => {
    const r = decodeClientFrame(frame, false);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.code).toBe(code);
  });

  it('refuses NaN and Infinity coordinates sent as MessagePack floats', () => {
    for (const lat of [NaN, Infinity, -Infinity]) {
      const r = decodeClientFrame(encode({ t: 'loc', lat, lng: 0 }), true);
      expect(r).toMatchObject({ ok: false, code: 'bad_field' });
    }
  });

  it('refuses frames over the size limit before parsing them', () => {
    const big = JSON.stringify({ t: 'ping', pad: 'x'.repeat(MAX_FRAME_BYTES) });
    expect(decodeClientFrame(big, false)).toMatchObject({ ok: false, code: 'too_large' });
  });

  it('refuses invalid MessagePack and invalid UTF-8', () => {
    expect(decodeClientFrame(new Uint8Array([0xc1]), true)).toMatchObject({ ok: false, code: 'bad_frame' });
    expect(decodeClientFrame(new Uint8Array([0xff, 0xfe]), false)).toMatchObject({ ok: false, code: 'bad_frame' });
  });
});

describe('encodeMessage / decodeServerFrame', () => {
  it('round-trips a server message in both encodings', () => {
    const msg = { t: 'nearest', officer: { id: 'o1', lat: 1, lng: 2, precision: 200, profile: { name: 'A' } }, dist: 12 } as const;
    expect(decodeServerFrame(encodeMessage(msg, 'json') as string, false)).toEqual(msg);
    expect(decodeServerFrame(encodeMessage(msg, 'msgpack') as Uint8Array, true)).toEqual(msg);
  });

  it('returns null for frames that are not server messages', () => {
    expect(decodeServerFrame('{"t":"loc"}', false)).toBeNull();
    expect(decodeServerFrame('garbage', false)).toBeNull();
  });
});
