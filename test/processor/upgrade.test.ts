import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ticketSigner } from '../../src/auth/index.js';
import { ORCHESTRATOR_CHANNEL } from '../../src/coordination/index.js';
import { METRICS_TOKEN, NODE_ID, startFixture, ticketClaims, TestClient, type Fixture } from './fixture.js';
import { waitFor } from '../helpers/wait.js';

describe('websocket upgrade: the ticket decides, before any socket exists', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture({ MAX_SOCKETS: 3 });
  });
  afterAll(() => f.close());

  const base = () => f.processor.url;

  it('accepts a valid ticket and says hello', async () => {
    const c = await f.connect('citizen', 'c-ok');
    expect(c.messages[0]).toMatchObject({ t: 'hello', id: 'c-ok', role: 'citizen', zip: '10001', radius: 5000, alertRadius: 250, v: 1 });
    expect(c.messages[0]).not.toHaveProperty('windowEndsAt');
    c.close();
    await waitFor(() => f.processor.stats().citizens === 0);
  });

  it.each([
    ['missing', () => base()],
    ['empty', () => `${base()}?ticket=`],
    ['malformed', () => `${base()}?ticket=not-a-ticket`],
    ['not base64url', () => `${base()}?ticket=a.b.c`],
    ['huge', () => `${base()}?ticket=${'a'.repeat(5000)}`],
    ['forged (other secret)', () => `${base()}?ticket=${ticketSigner(randomBytes(32))(ticketClaims(NODE_ID, f.processor.epoch, 'citizen', 'x'))}`],
    [
      'tampered (one byte flipped)',
      () => {
        const raw = Buffer.from(f.ticket('citizen', 'x'), 'base64url');
        raw[20] ^= 1;
        return `${base()}?ticket=${raw.toString('base64url')}`;
      },
    ],
    ['truncated', () => `${base()}?ticket=${f.ticket('citizen', 'x').slice(0, 30)}`],
    [
      'plain JSON claims (the old readable format)',
      () => `${base()}?ticket=${Buffer.from(JSON.stringify(ticketClaims(NODE_ID, f.processor.epoch, 'citizen', 'x'))).toString('base64url')}`,
    ],
    ['expired', () => f.urlFor('citizen', 'x', { exp: Date.now() - 1 })],
    ['for an expired token', () => f.urlFor('citizen', 'x', { tokenExp: Date.now() - 1 })],
    ['for an earlier run of this node', () => f.urlFor('citizen', 'x', { epoch: f.processor.epoch - 1 })],
    ['latitude out of range', () => f.urlFor('citizen', 'x', { lat: 91 })],
    ['wrong node', () => f.urlFor('citizen', 'x', { node: 'other-node' })],
    ['wrong role claim', () => f.urlFor('admin' as never, 'x')],
    ['empty sub', () => f.urlFor('citizen', '')],
    ['sub too long', () => f.urlFor('citizen', 'x'.repeat(200))],
    ['profile not an object', () => f.urlFor('officer', 'x', { profile: 'Sgt' as never })],
  ])('refuses a %s ticket with 401 and a JSON body', async (_name, url) => {
    const before = f.processor.stats().busy;
    const r = await TestClient.refused(url());
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body)).toMatchObject({ error: 'unauthorized' });
    expect(f.processor.stats().busy).toBe(before);
  });

  it('refuses a reused ticket', async () => {
    const url = f.urlFor('officer', 'o-reuse');
    const c = await TestClient.open(url);
    const r = await TestClient.refused(url);
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body).message).toContain('reused');
    c.close();
    await waitFor(() => f.processor.stats().officers === 0);
  });

  it('answers 503 past MAX_SOCKETS without spending the ticket', async () => {
    const cs = await Promise.all(['a', 'b', 'c'].map((s) => f.connect('citizen', `full-${s}`)));
    const url = f.urlFor('citizen', 'full-d');
    const r = await TestClient.refused(url);
    expect(r.status).toBe(503);
    cs[0].close();
    await waitFor(() => f.processor.stats().busy === 2);
    const d = await TestClient.open(url); // same ticket, now accepted
    await d.waitFor('hello');
    for (const c of [...cs, d]) c.close();
    await waitFor(() => f.processor.stats().busy === 0);
  });

  it('serves /healthz, /metrics (METRICS_TOKEN bearer) and 404 over plain HTTP on the same port', async () => {
    const h = await fetch(`http://127.0.0.1:${f.processor.port}/healthz`);
    expect(h.status).toBe(200);
    expect(await h.json()).toEqual({ ok: true });
    expect((await fetch(`http://127.0.0.1:${f.processor.port}/metrics`)).status).toBe(401);
    const m = await (await fetch(`http://127.0.0.1:${f.processor.port}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    expect(m).toContain('beacon_processor_sockets{role="citizen"}');
    expect(m).toContain('beacon_processor_upgrades_refused_total{reason="bad_signature"}');
    expect((await fetch(`http://127.0.0.1:${f.processor.port}/nope`)).status).toBe(404);
  });

  it('publishes node.stats periodically', async () => {
    const got: unknown[] = [];
    const off = f.bus.subscribe(ORCHESTRATOR_CHANNEL, (m) => {
      if (m.type === 'node.stats') got.push(m.stats);
    });
    await waitFor(() => got.length > 0, 5000, 'node.stats');
    off();
    expect(got[0]).toMatchObject({ node: 'node-test', url: f.processor.url, officers: 0, citizens: 0, busy: 0, free: 3 });
  });
});
