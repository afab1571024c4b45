import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ticketVerifier } from '../../src/auth/index.js';
import type { NodeInfo, ProcessorDirectory } from '../../src/coordination/index.js';
import { HTTP_ERRORS, HTTP_PATHS } from '../../src/protocol/index.js';
import { NODE, startOrch, TIMES_SQUARE, type OrchFixture } from './fixture.js';

let f: OrchFixture;
let officer: { authorization: string };
let citizen: { authorization: string };
beforeAll(async () => {
  f = await startOrch({ TICKET_TTL_MS: 20_000 });
  officer = { authorization: `Bearer ${await f.token('officer', 'o-1', { acct: 'acct-o1', profile: { name: 'Ofc. Diaz', badge: '4411', precinct: '14' } })}` };
  citizen = await f.auth('citizen', 'c-1');
});
afterAll(() => f.shutdown());

async function assign(query: string, headers = citizen, path: string = HTTP_PATHS.citizenSocket) {
  const res = await f.orch.app.inject({ method: 'GET', url: `${path}?${query}`, headers });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> };
}

describe('socket assignment', () => {
  it('answers url, ticket, zip, node and expiresAt with a ticket the node accepts', async () => {
    const before = Date.now();
    const r = await assign(`lat=${TIMES_SQUARE.lat}&lng=${TIMES_SQUARE.lng}`, officer, HTTP_PATHS.officerSocket);
    expect(r.status).toBe(200);
    const body = r.body as { url: string; ticket: string; zip: string; node: string; expiresAt: number };
    expect(body.node).toBe(NODE.id);
    expect(body.zip).toMatch(/^100\d\d$/);
    expect(body.url).toBe(`${NODE.url}?ticket=${encodeURIComponent(body.ticket)}`);
    expect(body.expiresAt).toBeGreaterThanOrEqual(before + 20_000);
    const check = ticketVerifier(f.ticketSecret)(body.ticket, NODE.id, NODE.epoch, Date.now());
    expect(check.ok).toBe(true);
    if (check.ok) {
      expect(check.claims).toMatchObject({ sub: 'o-1', acct: 'acct-o1', role: 'officer', node: NODE.id, zip: body.zip, exp: body.expiresAt });
      expect(check.claims.profile).toEqual({ name: 'Ofc. Diaz', badge: '4411', precinct: '14' });
    }
  });

  it('uses the given zip instead of the position when the zip can contain it', async () => {
    const r = await assign(`lat=${TIMES_SQUARE.lat}&lng=${TIMES_SQUARE.lng}&zip=10001`);
    expect(r).toMatchObject({ status: 200, body: { zip: '10001' } });
    // A rural zip gets more room: Ely, Nevada (89301) is a large ZCTA; 40 km from its centroid still fits.
    expect(await assign('lat=39.6&lng=-114.6&zip=89301')).toMatchObject({ status: 200, body: { zip: '89301' } });
  });

  it.each([
    ['a zip across the country', `lat=${TIMES_SQUARE.lat}&lng=${TIMES_SQUARE.lng}&zip=90210`],
    ['a zip of another state nearby (Hoboken for Brooklyn is fine, Philadelphia is not)', 'lat=40.65&lng=-73.95&zip=19103'],
    ['a well-formed zip that is no ZCTA', `lat=${TIMES_SQUARE.lat}&lng=${TIMES_SQUARE.lng}&zip=00000`],
  ])('answers 400 zip_mismatch for %s', async (_name, q) => {
    expect(await assign(q)).toMatchObject({ status: 400, body: { error: 'zip_mismatch', message: HTTP_ERRORS.zip_mismatch.message } });
  });

  it('issues a different single-use ticket each time', async () => {
    const a = await assign(`lat=40.758&lng=-73.9855&zip=10001`);
    const b = await assign(`lat=40.758&lng=-73.9855&zip=10001`);
    expect(a.body.ticket).not.toBe(b.body.ticket);
  });

  it('answers 400 out_of_area for a position far from every zip', async () => {
    expect(await assign('lat=0&lng=0')).toMatchObject({ status: 400, body: { error: 'out_of_area' } });
  });

  it('answers 503 no_processor when no node owns the zip', async () => {
    const empty: ProcessorDirectory = { ownerOf: (): NodeInfo | undefined => undefined, nodes: () => [] };
    const g = await startOrch({}, { directory: empty });
    try {
      const res = await g.orch.app.inject({
        method: 'GET',
        url: `${HTTP_PATHS.citizenSocket}?lat=40.758&lng=-73.9855&zip=10001`,
        headers: await g.auth('citizen', 'c'),
      });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({ error: 'no_processor', message: HTTP_ERRORS.no_processor.message });
    } finally {
      await g.shutdown();
    }
  });

  it('answers 500 internal with {error, message} when something breaks inside, without details', async () => {
    const broken: ProcessorDirectory = {
      ownerOf: () => {
        throw new Error('secret internals');
      },
      nodes: () => [NODE],
    };
    const g = await startOrch({}, { directory: broken });
    try {
      const res = await g.orch.app.inject({
        method: 'GET',
        url: `${HTTP_PATHS.citizenSocket}?lat=40.758&lng=-73.9855&zip=10001`,
        headers: await g.auth('citizen', 'c'),
      });
      expect(res.statusCode).toBe(500);
      expect(res.json()).toEqual({ error: 'internal', message: HTTP_ERRORS.internal.message });
    } finally {
      await g.shutdown();
    }
  });

  it('answers 503 not_ready while draining', async () => {
    const g = await startOrch();
    try {
      g.orch.setDraining();
      const res = await g.orch.app.inject({
        method: 'GET',
        url: `${HTTP_PATHS.citizenSocket}?lat=40.758&lng=-73.9855&zip=10001`,
        headers: await g.auth('citizen', 'c'),
      });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ error: 'not_ready' });
    } finally {
      await g.shutdown();
    }
  });
});

describe('bad input is a 400 with {error, message}, never a 500', () => {
  const coords = (q: string): [string, string, string] => [`coordinates: ${q}`, q, 'bad_coordinates'];
  it.each([
    coords('lat=NaN&lng=1'),
    coords('lat=1&lng=NaN'),
    coords('lat=Infinity&lng=1'),
    coords('lat=-Infinity&lng=1'),
    coords('lat=1e999&lng=1'),
    coords('lat=&lng=1'),
    coords('lat=1&lng='),
    coords('lat=abc&lng=1'),
    coords('lat=0x10&lng=1'),
    coords('lat=1,5&lng=1'),
    coords('lat=true&lng=1'),
    coords('lat=%2012&lng=1'),
    coords('lat=12%20&lng=1'),
    coords('lat=1_0&lng=1'),
    coords('lat=90.0001&lng=1'),
    coords('lat=-91&lng=1'),
    coords('lat=1&lng=180.5'),
    coords('lat=1&lng=-181'),
    coords('lng=1'),
    coords('lat=1'),
    coords(''),
    coords('lat=1&lat=2&lng=1'),
    coords('lat[]=1&lng=1'),
    coords('lat[a]=1&lng=1'),
    coords(`lat=${'9'.repeat(5000)}&lng=1`),
    ['zip: letters', 'lat=1&lng=1&zip=abcde', 'bad_zip'],
    ['zip: four digits', 'lat=1&lng=1&zip=1234', 'bad_zip'],
    ['zip: six digits', 'lat=1&lng=1&zip=123456', 'bad_zip'],
    ['zip: zip+4', 'lat=40.758&lng=-73.9855&zip=10001-1234', 'bad_zip'],
    ['zip: empty', 'lat=1&lng=1&zip=', 'bad_zip'],
    ['zip: repeated', 'lat=40.758&lng=-73.9855&zip=10001&zip=10002', 'bad_zip'],
    ['zip: huge', `lat=1&lng=1&zip=${'1'.repeat(10_000)}`, 'bad_zip'],
    ['zip: unicode digits', `lat=1&lng=1&zip=${encodeURIComponent('１２３４５')}`, 'bad_zip'],
    ['unknown field', 'lat=40.758&lng=-73.9855&zip=10001&foo=bar', 'bad_request'],
    ['profileId: huge', `lat=40.758&lng=-73.9855&zip=10001&profileId=${'p'.repeat(200)}`, 'bad_request'],
    ['profileId: empty', 'lat=40.758&lng=-73.9855&zip=10001&profileId=', 'bad_request'],
    ['accountId: repeated', 'lat=40.758&lng=-73.9855&zip=10001&accountId=a&accountId=b', 'bad_request'],
  ] as [string, string, string][])('%s', async (_name, query, code) => {
    const r = await assign(query);
    expect(r.status).toBe(400);
    expect(r.body.error).toBe(code);
    expect(typeof r.body.message).toBe('string');
    expect(Object.keys(r.body).sort()).toEqual(['error', 'message']);
  });

  it('never echoes a huge value back in the message', async () => {
    const r = await assign(`lat=40.758&lng=-73.9855&zip=10001&foo=${'x'.repeat(5000)}`);
    expect(r.status).toBe(400);
    expect(String(r.body.message).length).toBeLessThan(400);
  });

  it('accepts the boundaries of the coordinate ranges (the zip then decides)', async () => {
    for (const q of ['lat=90&lng=180', 'lat=-90&lng=-180', 'lat=0&lng=0']) {
      expect(await assign(`${q}&zip=10001`), q).toMatchObject({ status: 400, body: { error: 'zip_mismatch' } });
    }
    for (const q of ['lat=40.758&lng=-73.9855', 'lat=4.0758e1&lng=-7.39855e1']) expect((await assign(`${q}&zip=10001`)).status, q).toBe(200);
  });

  it('answers 404 not_found for unknown routes and methods', async () => {
    for (const [method, url] of [
      ['GET', '/v1/nope'],
      ['DELETE', HTTP_PATHS.citizenSocket],
      ['POST', HTTP_PATHS.officerSocket],
    ] as const) {
      const res = await f.orch.app.inject({ method, url, headers: citizen });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ error: 'not_found' });
    }
  });
});
