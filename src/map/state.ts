// What the operations map shows, built once per tick for every operator and cut to each
// operator's viewport. Citizens only as H3 cell counts (density, never people); officers as points;
// zip centroids with the node that owns their shard; established connections as they happen.
import { cellToBoundary, cellToLatLng, latLngToCell } from 'h3-js';
import type { ProcessorDirectory } from '../coordination/index.js';
import { ZIP_RECORDS, type ZipRecord } from '../geo/zip-data.js';
import type { EstablishedConnectionEvent } from '../protocol/index.js';

/** H3 resolution 7: cells of ~5 km², edge ~1.2 km. */
export const CITIZEN_CELL_RES = 7;
/** Caps per frame, so a zoomed-out view of a busy system stays a bounded message. */
export const MAX_OFFICERS_SHOWN = 5000;
export const MAX_CELLS_SHOWN = 3000;
export const MAX_ZIPS_SHOWN = 2500;
/** Connections kept for the map (most recent first). */
export const RECENT_CONNECTIONS = 50;

/** The processor's snapshot door (Processor.liveSnapshot); embedded mode only. */
export interface MapLiveSource {
  liveSnapshot(cellOf: (lat: number, lng: number) => string): {
    officers: { id: string; lat: number; lng: number }[];
    citizenCells: Map<string, number>;
  };
}

export interface Viewport {
  w: number;
  s: number;
  e: number;
  n: number;
}

export interface NodeCounts {
  officers: number;
  citizens: number;
}

export interface MapConnection {
  id: string;
  officerId: string;
  citizenId: string;
  at: number;
  zip: string;
  /** Where to draw it: the officer's position when known, else the zip centroid. */
  lat: number | null;
  lng: number | null;
}

/** One tick's state, shared by all operators. */
export interface MapWorld {
  at: number;
  /** `embedded`: live index read in process; `orchestrator`: only what the orchestrator knows. */
  mode: 'embedded' | 'orchestrator';
  nodes: { id: string; url: string; officers: number; citizens: number }[];
  officers: { id: string; lat: number; lng: number }[] | null;
  cells: { h: string; n: number; lat: number; lng: number }[] | null;
  citizenTotal: number | null;
  connections: MapConnection[];
}

const zips = (): readonly ZipRecord[] => ZIP_RECORDS;
let byZip: Map<string, ZipRecord> | null = null;

export function zipCentroid(zip: string): { lat: number; lng: number } | null {
  byZip ??= new Map(ZIP_RECORDS.map((r) => [r.zipCode, r]));
  const z = byZip.get(zip);
  return z ? { lat: z.latitude, lng: z.longitude } : null;
}

export function buildWorld(o: {
  now: number;
  directory: ProcessorDirectory;
  counts: Map<string, NodeCounts>;
  live?: MapLiveSource;
  connections: EstablishedConnectionEvent[];
  /** MAP_MIN_CELL_COUNT: cells with fewer citizens are left out (they could single people out). */
  minCellCount: number;
}): MapWorld {
  const nodes = o.directory
    .nodes()
    .map((n) => ({ id: n.id, url: n.url, officers: o.counts.get(n.id)?.officers ?? 0, citizens: o.counts.get(n.id)?.citizens ?? 0 }));
  let officers: MapWorld['officers'] = null;
  let cells: MapWorld['cells'] = null;
  let citizenTotal: number | null = null;
  if (o.live) {
    const snap = o.live.liveSnapshot((lat, lng) => latLngToCell(lat, lng, CITIZEN_CELL_RES));
    officers = snap.officers.map((x) => ({ id: x.id, lat: x.lat, lng: x.lng }));
    cells = [];
    citizenTotal = 0;
    for (const [h, n] of snap.citizenCells) {
      // The total counts everyone (node socket counts show it anyway); a sparse cell is not drawn.
      citizenTotal += n;
      if (n < o.minCellCount) continue;
      const [lat, lng] = cellToLatLng(h);
      cells.push({ h, n, lat, lng });
    }
  }
  const byId = new Map((officers ?? []).map((x) => [x.id, x]));
  const connections = o.connections.map((c) => {
    const at = byId.get(c.officerId) ?? zipCentroid(c.zip);
    return { id: c.id, officerId: c.officerId, citizenId: c.citizenId, at: c.at, zip: c.zip, lat: at?.lat ?? null, lng: at?.lng ?? null };
  });
  return { at: o.now, mode: o.live ? 'embedded' : 'orchestrator', nodes, officers, cells, citizenTotal, connections };
}

const inView = (v: Viewport, lat: number, lng: number) => lat >= v.s && lat <= v.n && (v.w <= v.e ? lng >= v.w && lng <= v.e : lng >= v.w || lng <= v.e);

/** One `state` frame of the operator feed (JSON). Positions are rounded to 1e-5 degrees. */
export interface MapFrame {
  t: 'state';
  at: number;
  mode: MapWorld['mode'];
  nodes: MapWorld['nodes'];
  /** Officers in the world (null: not known here, distributed mode). */
  officerTotal: number | null;
  /** [id, lat, lng] in the viewport, capped. */
  officers: [string, number, number][] | null;
  citizenTotal: number | null;
  /** Citizen cells in the viewport with at least MAP_MIN_CELL_COUNT citizens: count and boundary [lat, lng][]. */
  cells: { n: number; b: [number, number][] }[] | null;
  /** [zip, lat, lng, owning node id ('' when none)]; null when too many to draw. */
  zips: [string, number, number, string][] | null;
  connections: MapConnection[];
}

/** The frame one operator gets: the world cut to its viewport, capped. */
export function frameFor(world: MapWorld, v: Viewport, directory: ProcessorDirectory): MapFrame {
  const officersIn = world.officers?.filter((x) => inView(v, x.lat, x.lng)) ?? null;
  const cellsIn = world.cells?.filter((c) => inView(v, c.lat, c.lng)) ?? null;
  let zipsIn: [string, number, number, string][] | null = [];
  for (const z of zips()) {
    if (!inView(v, z.latitude, z.longitude)) continue;
    if (zipsIn.length >= MAX_ZIPS_SHOWN) {
      zipsIn = null; // too many to draw: the page says "zoom in"
      break;
    }
    zipsIn.push([z.zipCode, z.latitude, z.longitude, directory.ownerOf(z.zipCode)?.id ?? '']);
  }
  return {
    t: 'state',
    at: world.at,
    mode: world.mode,
    nodes: world.nodes,
    officerTotal: world.officers?.length ?? null,
    officers: officersIn?.slice(0, MAX_OFFICERS_SHOWN).map((x): [string, number, number] => [x.id, round(x.lat), round(x.lng)]) ?? null,
    citizenTotal: world.citizenTotal,
    cells:
      cellsIn?.slice(0, MAX_CELLS_SHOWN).map((c) => ({ n: c.n, b: cellToBoundary(c.h).map(([la, ln]): [number, number] => [round(la), round(ln)]) })) ?? null,
    zips: zipsIn,
    connections: world.connections,
  };
}

const round = (x: number) => Math.round(x * 1e5) / 1e5;
