// The operations map page: an HTML shell around Leaflet. Pan, zoom, projection, controls and the
// scale bar are Leaflet's; the page's own code is in page-script.ts. Every script, style sheet and
// the TopoJSON outlines come from the orchestrator (assets.ts), never a CDN, so it works offline.
// The Content-Security-Policy allows nothing else, except the tile server when MAP_TILES_URL is set.
import { ASSETS_PATH } from './assets.js';

export interface MapTiles {
  /** MAP_TILES_URL: a raster tile template with {z}/{x}/{y}; unset → offline US outlines. */
  url?: string;
  /** MAP_TILES_ATTRIBUTION (Leaflet shows it as HTML: it is the operator's own setting). */
  attribution?: string;
}

const attr = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function mapPage(tiles: MapTiles): string {
  const data = tiles.url ? ` data-tiles="${attr(tiles.url)}" data-attribution="${attr(tiles.attribution ?? '')}"` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Beacon — operations map</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${ASSETS_PATH}/leaflet.css">
<link rel="stylesheet" href="${ASSETS_PATH}/map.css">
</head><body${data}>
<div id="map"></div>
<div id="side">
<h1>Beacon operations map</h1>
<div id="status" class="bad">connecting…</div>
<div class="muted" id="mode"></div>
<div class="row"><div><h2>Officers</h2><div class="big" id="officer-count">–</div><div class="muted">available</div></div>
<div><h2>Citizens</h2><div class="big" id="citizen-count">–</div><div class="muted">connected</div></div></div>
<h2>Processor nodes (zip shards)</h2><ul id="nodes"></ul>
<h2>Established connections</h2><ul id="connections"><li class="muted" id="no-conn">none yet</li></ul>
</div>
<script src="${ASSETS_PATH}/leaflet.js"></script>
<script src="${ASSETS_PATH}/topojson-client.js"></script>
<script src="${ASSETS_PATH}/map.js"></script>
</body></html>
`;
}

/** The page's policy: its own origin only, plus the tile server's origin for images. */
export function mapCsp(tiles: MapTiles): string {
  const img = ["'self'", 'data:'];
  if (tiles.url) img.push(tileSource(tiles.url));
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "connect-src 'self'",
    `img-src ${img.join(' ')}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** A CSP source for a tile template: its origin; `{s}.` subdomains as `*.`, any other `{s}` in the host as the scheme. */
function tileSource(template: string): string {
  const u = new URL(template.replaceAll('{s}', 'subdomain-placeholder'));
  if (!u.host.includes('subdomain-placeholder')) return u.origin;
  if (u.host.startsWith('subdomain-placeholder.')) return `${u.protocol}//*.${u.host.slice('subdomain-placeholder.'.length)}`;
  return u.protocol;
}
