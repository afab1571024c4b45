// HTTP timeouts of the orchestrator (real HTTP over raw sockets): a body trickled slower than the
// request timeout and a never-ending header are cut off, while a normal request still works.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_PATHS } from '../../src/protocol/index.js';
import { slowloris, tricklingBody } from '../helpers/slow-clients.js';
import { startOrch, type OrchFixture } from './fixture.js';

describe('orchestrator HTTP timeouts', () => {
  let f: OrchFixture;
  let url: string;
  beforeAll(async () => {
    f = await startOrch({}, { timeouts: { headersMs: 500, requestMs: 1000, checkEveryMs: 100 } });
    url = await f.orch.listen('127.0.0.1', 0);
  });
  afterAll(() => f.shutdown());

  it('cuts off a trickled body and a slowloris header; a normal request still works', async () => {
    const body = await tricklingBody(url, HTTP_PATHS.connections, await f.token('citizen', 'c-slow'), 100);
    const loris = await slowloris(url, 100);
    try {
      await Promise.all([body.closed, loris.closed]);
      // Answered 408 in the contract's shape before the close; nothing reached a route.
      for (const c of [body, loris]) {
        const [head, payload] = c.received().split('\r\n\r\n');
        expect(head).toMatch(/^HTTP\/1\.1 408 /);
        expect(JSON.parse(payload)).toEqual({ error: 'request_timeout', message: expect.any(String) });
      }
      const ok = await fetch(`${url}${HTTP_PATHS.connections}`, {
        method: 'POST',
        headers: { ...(await f.auth('citizen', 'c-1')), 'content-type': 'application/json' },
        body: JSON.stringify({ officerId: 'nobody' }),
      });
      expect(ok.status).toBe(409);
    } finally {
      body.stop();
      loris.stop();
    }
  });
});
