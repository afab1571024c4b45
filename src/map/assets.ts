// The map page's static files, served by the orchestrator from the project's own dependencies
// (leaflet, topojson-client, us-atlas) and from page-script.ts: no CDN, the map works offline.
// A fixed list, read once on first request: no path from the URL ever reaches the file system.
// No token needed: library code, public census outlines and the page's script hold no data.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { MAP_SCRIPT, MAP_STYLE } from './page-script.js';

export const ASSETS_PATH = '/map/assets';

const require = createRequire(import.meta.url);
const pkg = (name: string) => dirname(require.resolve(`${name}/package.json`));

interface Asset {
  type: string;
  body: () => Buffer | string;
}

const file = (type: string, path: () => string): Asset => ({ type, body: () => readFileSync(path()) });
const png = (name: string): Asset => file('image/png', () => join(pkg('leaflet'), 'dist/images', name));

const ASSETS: Record<string, Asset> = {
  'leaflet.js': file('text/javascript; charset=utf-8', () => join(pkg('leaflet'), 'dist/leaflet.js')),
  'leaflet.css': file('text/css; charset=utf-8', () => join(pkg('leaflet'), 'dist/leaflet.css')),
  // leaflet.css refers to these relative to itself (the layers control's icon, the default marker).
  'images/layers.png': png('layers.png'),
  'images/layers-2x.png': png('layers-2x.png'),
  'images/marker-icon.png': png('marker-icon.png'),
  'images/marker-icon-2x.png': png('marker-icon-2x.png'),
  'images/marker-shadow.png': png('marker-shadow.png'),
  'topojson-client.js': file('text/javascript; charset=utf-8', () => join(pkg('topojson-client'), 'dist/topojson-client.min.js')),
  // US nation, states and counties (Census cartographic boundaries, 1:10,000,000), WGS84.
  'us-10m.json': file('application/json', () => join(pkg('us-atlas'), 'counties-10m.json')),
  'map.js': { type: 'text/javascript; charset=utf-8', body: () => MAP_SCRIPT },
  'map.css': { type: 'text/css; charset=utf-8', body: () => MAP_STYLE },
};

export const ASSET_NAMES = Object.keys(ASSETS);

export function registerAssets(app: FastifyInstance): void {
  const cache = new Map<string, Buffer | string>();
  for (const name of ASSET_NAMES) {
    app.get(`${ASSETS_PATH}/${name}`, { schema: { hide: true } }, async (_req, reply) => {
      let body = cache.get(name);
      if (body === undefined) cache.set(name, (body = ASSETS[name].body()));
      return reply.header('cache-control', 'public, max-age=3600').header('x-content-type-options', 'nosniff').type(ASSETS[name].type).send(body);
    });
  }
}
