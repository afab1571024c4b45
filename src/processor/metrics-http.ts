// METRICS_PORT: a distributed processor's Prometheus endpoint on a listener of its own, so the
// scrape never shares the port devices reach (bind it to an internal interface with
// METRICS_HOST). Plain HTTP, `GET /metrics` and `GET /healthz`; METRICS_TOKEN, when set, is
// required here too. node:http rather than uWS: a few scrapes a minute, nothing on the hot path.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { METRICS_CHALLENGE, METRICS_UNAUTHORIZED, metricsAccess } from '../auth/index.js';
import type { Logger } from '../log.js';
import { HTTP_PATHS } from '../protocol/index.js';

export interface MetricsServerOptions {
  host: string;
  /** 0: any free port. */
  port: number;
  registry: Registry;
  token?: string;
  logger: Logger;
}

export interface MetricsServer {
  readonly port: number;
  /** http://host:port/metrics */
  readonly url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(o: MetricsServerOptions): Promise<MetricsServer> {
  const allowed = metricsAccess(o.token);
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 404, { error: 'not_found', message: 'no such resource' });
    if (path === HTTP_PATHS.health) return json(res, 200, { ok: true });
    if (path !== HTTP_PATHS.metrics) return json(res, 404, { error: 'not_found', message: 'no such resource' });
    if (!allowed(req.headers.authorization)) {
      return json(res, 401, { error: 'unauthorized', message: METRICS_UNAUTHORIZED }, { 'www-authenticate': METRICS_CHALLENGE });
    }
    o.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': o.registry.contentType }).end(text),
      (e) => {
        o.logger.error({ err: e }, 'metrics rendering failed');
        json(res, 500, { error: 'internal', message: 'metrics rendering failed' });
      },
    );
  };
  const server = createServer({ requestTimeout: 10_000, headersTimeout: 5_000 }, handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const host = o.host === '0.0.0.0' || o.host === '' ? '127.0.0.1' : o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    port,
    url: `http://${host}:${port}${HTTP_PATHS.metrics}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
