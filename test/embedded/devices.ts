// Devices against a running embedded Beacon, over real HTTP and real websockets: tokens minted with
// its key, assignment, socket open (waits for `hello`). Shared by the embedded-mode tests.
import { expect } from 'vitest';
import { mintDeviceToken } from '../../src/auth/index.js';
import type { Embedded } from '../../src/embedded.js';
import { HTTP_PATHS, type PublicProfile, type Role, type SocketAssignment } from '../../src/protocol/index.js';
import { TestClient } from '../helpers/ws-client.js';

/** `opened` collects every socket opened, for the caller to close. */
export function devices(e: Embedded, opened: TestClient[]) {
  const token = (role: Role, sub: string, profile: PublicProfile = {}, ttlS?: number) => mintDeviceToken(e.deviceKeys.secret!, { role, sub, profile, ttlS });
  const http = async (method: string, path: string, tok: string, body?: unknown) => {
    const res = await fetch(`${e.orchestratorUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${tok}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const assign = (role: Role, tok: string, pos: { lat: number; lng: number }) =>
    http('GET', `${role === 'officer' ? HTTP_PATHS.officerSocket : HTTP_PATHS.citizenSocket}?lat=${pos.lat}&lng=${pos.lng}`, tok);
  /** Asks for a socket, opens it, waits for `hello`. */
  const connect = async (role: Role, tok: string, pos: { lat: number; lng: number }) => {
    const r = await assign(role, tok, pos);
    expect(r.status).toBe(200);
    const a = r.body as unknown as SocketAssignment;
    const c = await TestClient.open(a.url);
    opened.push(c);
    await c.waitFor('hello');
    return { client: c, assignment: a };
  };
  /** An available officer at `pos`, in the index once this resolves. */
  const officerAt = async (sub: string, pos: { lat: number; lng: number }) => {
    const o = await connect('officer', await token('officer', sub, { name: sub }), pos);
    o.client.json({ t: 'loc', ...pos });
    await o.client.sync();
    return o.client;
  };
  return { token, http, assign, connect, officerAt };
}
