import { afterEach, describe, expect, it } from 'vitest';
import type { ToProcessor } from '../../src/coordination/index.js';
import { readStreamEvents, STREAM_DIR_NAME } from '../../src/adapters/memory/index.js';
import { HTTP_PATHS, MAX_PENDING_PER_OFFICER } from '../../src/protocol/index.js';
import { join } from 'node:path';
import { startOrch, type OrchFixture } from './fixture.js';
import { waitFor } from '../helpers/wait.js';

let f: OrchFixture;
afterEach(() => f?.shutdown());

async function post(fx: OrchFixture, headers: Record<string, string>, payload: unknown, contentType = 'application/json') {
  const res = await fx.orch.app.inject({
    method: 'POST',
    url: HTTP_PATHS.connections,
    headers: { ...headers, 'content-type': contentType },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> };
}

async function read(fx: OrchFixture, headers: Record<string, string>, id: string) {
  const res = await fx.orch.app.inject({ method: 'GET', url: `${HTTP_PATHS.connections}/${encodeURIComponent(id)}`, headers });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> };
}

const updates = (fx: OrchFixture, id: string) =>
  fx.toNode.filter((m): m is Extract<ToProcessor, { type: 'conn.update' }> => m.type === 'conn.update' && m.conn.id === id);

let sentinels = 0;
/**
 * Every `conn.resp` published before this call has been handled: a decline of a fresh request,
 * published after them, has been announced (the service handles answers in arrival order, and an
 * ignored answer takes fewer steps than a decision).
 */
async function afterAnswers(fx: OrchFixture): Promise<void> {
  const c = await fx.auth('citizen', `c-sentinel-${++sentinels}`);
  const r = await post(fx, c, { officerId: 'o-1' });
  expect(r.status).toBe(202);
  const id = r.body.id as string;
  fx.publish({ type: 'conn.resp', requestId: id, officerId: 'o-1', accept: false });
  await waitFor(() => updates(fx, id)[0], 5000, 'the sentinel decision');
}

describe('POST /v1/connections', () => {
  it('relays a request to the officer node and answers 202 pending', async () => {
    f = await startOrch();
    await f.open('officer', 'o-1', '10036');
    const citizen = { authorization: `Bearer ${await f.token('citizen', 'c-1', { profile: { name: 'Sam' } })}` };
    const r = await post(f, citizen, { officerId: 'o-1' });
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ id: expect.any(String), status: 'pending' });
    const req = await waitFor(() => f.toNode.find((m) => m.type === 'conn.req'));
    expect(req).toMatchObject({ type: 'conn.req', requestId: r.body.id, officerId: 'o-1', citizen: { id: 'c-1', profile: { name: 'Sam' } } });
    // Account ids never leave the orchestrator.
    expect(JSON.stringify(req)).not.toContain('acct');
    expect(await read(f, citizen, r.body.id as string)).toMatchObject({
      status: 200,
      body: { id: r.body.id, officerId: 'o-1', citizenId: 'c-1', status: 'pending' },
    });
  });

  it('answers 409 officer_unavailable when the officer holds no socket, or it closed', async () => {
    f = await startOrch();
    const citizen = await f.auth('citizen', 'c-1');
    expect(await post(f, citizen, { officerId: 'o-nobody' })).toMatchObject({ status: 409, body: { error: 'officer_unavailable' } });
    const rec = await f.open('officer', 'o-1');
    expect((await post(f, citizen, { officerId: 'o-1' })).status).toBe(202);
    await f.close(rec);
    expect(await post(f, citizen, { officerId: 'o-1' })).toMatchObject({ status: 409, body: { error: 'officer_unavailable' } });
    // A citizen socket with the same id is not an officer.
    await f.open('citizen', 'o-2');
    expect(await post(f, citizen, { officerId: 'o-2' })).toMatchObject({ status: 409 });
  });

  it('keeps the record of a replacing socket when the replaced one reports its close late', async () => {
    f = await startOrch();
    const first = await f.open('officer', 'o-1');
    await f.open('officer', 'o-1'); // a reconnect: newer `at`
    await f.close(first).catch(() => {}); // the stale close must not remove the new record
    expect(await f.orch.records.get('officer', 'o-1')).toBeDefined();
  });

  it('rate-limits requests per citizen with 429 rate_limited', async () => {
    f = await startOrch({ REQUESTS_PER_MINUTE: 3 });
    await f.open('officer', 'o-1');
    const a = await f.auth('citizen', 'c-a');
    const b = await f.auth('citizen', 'c-b');
    for (let i = 0; i < 3; i++) expect((await post(f, a, { officerId: 'o-1' })).status).toBe(202);
    expect(await post(f, a, { officerId: 'o-1' })).toMatchObject({ status: 429, body: { error: 'rate_limited' } });
    // Probing unavailable officers costs quota too.
    expect(await post(f, a, { officerId: 'o-gone' })).toMatchObject({ status: 429 });
    // Another citizen is not affected.
    expect((await post(f, b, { officerId: 'o-1' })).status).toBe(202);
  });

  it('a repeat for a pending pair answers the same id and relays nothing; a full officer answers 429 officer_busy', async () => {
    f = await startOrch({ REQUESTS_PER_MINUTE: 100 });
    await f.open('officer', 'o-1');
    const c1 = await f.auth('citizen', 'c-1');
    const first = await post(f, c1, { officerId: 'o-1' });
    const again = await post(f, c1, { officerId: 'o-1' });
    expect(again).toEqual({ status: 202, body: { id: first.body.id, status: 'pending' } });
    await f.flushNode();
    expect(f.toNode.filter((m) => m.type === 'conn.req')).toHaveLength(1);
    for (let i = 2; i <= MAX_PENDING_PER_OFFICER; i++) expect((await post(f, await f.auth('citizen', `c-${i}`), { officerId: 'o-1' })).status).toBe(202);
    expect(await post(f, await f.auth('citizen', 'c-late'), { officerId: 'o-1' })).toMatchObject({ status: 429, body: { error: 'officer_busy' } });
    expect((await post(f, c1, { officerId: 'o-1' })).body.id).toBe(first.body.id);
    const metrics = await (await f.orch.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain('beacon_orchestrator_connection_requests_total{outcome="officer_busy"} 1');
    expect(metrics).toContain('beacon_orchestrator_connection_requests_total{outcome="existing"} 2');
  });

  it.each([
    ['no body', undefined, 'application/json'],
    ['empty object', {}, 'application/json'],
    ['officerId a number', { officerId: 42 }, 'application/json'],
    ['officerId null', { officerId: null }, 'application/json'],
    ['officerId an array', { officerId: ['o-1'] }, 'application/json'],
    ['officerId an object', { officerId: { $ne: '' } }, 'application/json'],
    ['officerId empty', { officerId: '' }, 'application/json'],
    ['officerId huge', { officerId: 'o'.repeat(129) }, 'application/json'],
    ['unknown field', { officerId: 'o-1', note: 'hi' }, 'application/json'],
    ['body an array', [{ officerId: 'o-1' }], 'application/json'],
    ['body a string', '"o-1"', 'application/json'],
    ['body null', 'null', 'application/json'],
    ['invalid JSON', '{"officerId":', 'application/json'],
    ['prototype pollution', '{"officerId":"o-1","__proto__":{"x":1}}', 'application/json'],
    ['not JSON', 'officerId=o-1', 'application/x-www-form-urlencoded'],
    ['text', 'o-1', 'text/plain'],
    ['body too large', { officerId: 'o-1', pad: 'x'.repeat(10_000) }, 'application/json'],
  ])('answers 400 bad_request for a bad body: %s', async (_name, payload, type) => {
    f = await startOrch();
    await f.open('officer', 'o-1');
    const res = await f.orch.app.inject({
      method: 'POST',
      url: HTTP_PATHS.connections,
      headers: { ...(await f.auth('citizen', 'c-1')), 'content-type': type },
      payload: payload === undefined ? undefined : typeof payload === 'string' ? payload : JSON.stringify(payload),
    });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.error).toBe('bad_request');
    expect(Object.keys(body).sort()).toEqual(['error', 'message']);
    expect(f.toNode.filter((m) => m.type === 'conn.req')).toHaveLength(0);
  });
});

describe('answers from the officer', () => {
  async function pending(over = {}) {
    f = await startOrch(over);
    await f.open('officer', 'o-1', '10036');
    await f.open('citizen', 'c-1', '10036');
    const citizen = await f.auth('citizen', 'c-1');
    const officer = await f.auth('officer', 'o-1');
    const r = await post(f, citizen, { officerId: 'o-1' });
    expect(r.status).toBe(202);
    return { id: r.body.id as string, citizen, officer };
  }

  it('accept: appends the event to the stream, then tells both parties, and reads accepted', async () => {
    const { id, citizen, officer } = await pending();
    f.publish({ type: 'conn.resp', requestId: id, officerId: 'o-1', accept: true });
    const u = await waitFor(() => updates(f, id)[0]);
    expect(u.conn).toEqual({ id, status: 'accepted', officerId: 'o-1', citizenId: 'c-1' });
    // Durable before announced: by the time conn.update is out, the line is in the file.
    const events = await readStreamEvents(join(f.dataDir, STREAM_DIR_NAME));
    expect(events).toEqual([{ id, officerId: 'o-1', citizenId: 'c-1', at: expect.any(Number), zip: '10036' }]);
    for (const who of [citizen, officer]) expect(await read(f, who, id)).toMatchObject({ status: 200, body: { status: 'accepted' } });
  });

  it('decline: reads declined, tells both, appends nothing', async () => {
    const { id, citizen } = await pending();
    f.publish({ type: 'conn.resp', requestId: id, officerId: 'o-1', accept: false });
    const u = await waitFor(() => updates(f, id)[0]);
    expect(u.conn.status).toBe('declined');
    expect(await read(f, citizen, id)).toMatchObject({ body: { status: 'declined' } });
    expect(await readStreamEvents(join(f.dataDir, STREAM_DIR_NAME))).toEqual([]);
  });

  it('ignores an answer from another officer, a second answer, and an unknown id', async () => {
    const { id, citizen } = await pending();
    f.publish({ type: 'conn.resp', requestId: id, officerId: 'o-intruder', accept: true });
    f.publish({ type: 'conn.resp', requestId: 'nope', officerId: 'o-1', accept: true });
    await afterAnswers(f);
    expect(await read(f, citizen, id)).toMatchObject({ body: { status: 'pending' } });
    f.publish({ type: 'conn.resp', requestId: id, officerId: 'o-1', accept: false });
    f.publish({ type: 'conn.resp', requestId: id, officerId: 'o-1', accept: true });
    await waitFor(() => updates(f, id)[0]);
    await waitFor(async () => f.orch.connections.pendingLocal === 0, 5000, 'no request pending here');
    expect(await read(f, citizen, id)).toMatchObject({ body: { status: 'declined' } });
    expect(updates(f, id)).toHaveLength(1);
  });

  it('expires an unanswered request after REQUEST_TTL_MS and tells both; a late accept stays expired', async () => {
    const { id, citizen } = await pending({ REQUEST_TTL_MS: 1000 });
    const u = await waitFor(() => updates(f, id)[0], 5000, 'the expiry');
    expect(u.conn.status).toBe('expired');
    expect(await read(f, citizen, id)).toMatchObject({ body: { status: 'expired' } });
    f.publish({ type: 'conn.resp', requestId: id, officerId: 'o-1', accept: true });
    await afterAnswers(f);
    expect(await read(f, citizen, id)).toMatchObject({ body: { status: 'expired' } });
    expect(await readStreamEvents(join(f.dataDir, STREAM_DIR_NAME))).toEqual([]);
  });
});

describe('GET /v1/connections/:id', () => {
  it('is readable by the two parties only; 404 not_found otherwise', async () => {
    f = await startOrch();
    await f.open('officer', 'o-1');
    const r = await post(f, await f.auth('citizen', 'c-1'), { officerId: 'o-1' });
    const id = r.body.id as string;
    expect((await read(f, await f.auth('officer', 'o-1'), id)).status).toBe(200);
    for (const who of [await f.auth('citizen', 'c-2'), await f.auth('officer', 'o-2'), await f.auth('officer', 'c-1'), await f.auth('citizen', 'o-1')]) {
      expect(await read(f, who, id)).toMatchObject({ status: 404, body: { error: 'not_found' } });
    }
    expect(await read(f, await f.auth('citizen', 'c-1'), 'no-such-id')).toMatchObject({ status: 404, body: { error: 'not_found' } });
  });

  it('needs a token (401) and a sane id (400 / 404)', async () => {
    f = await startOrch();
    const res = await f.orch.app.inject({ method: 'GET', url: `${HTTP_PATHS.connections}/abc` });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ error: 'unauthorized' });
    const c = await f.auth('citizen', 'c-1');
    expect(await read(f, c, 'x'.repeat(150))).toMatchObject({ status: 400, body: { error: 'bad_request' } });
    expect(await read(f, c, 'x'.repeat(5000))).toMatchObject({ status: 404, body: { error: 'not_found' } });
    expect(await read(f, c, '%00')).toMatchObject({ status: 404 });
  });
});
