// Shard balance of a placement: which processor would own each device under the orchestrator's
// rendezvous hashing over zips (src/coordination/rendezvous.ts), devices per node max / mean.
//   tsx load-tests/shard-balance.ts --processors 6 --devices 100000 --area us [--officers K] [--seed S] [--ids a,b,c]
// Without --processors it reports N = 2..8. Node ids are p1..pN (`npm run cluster`) unless --ids.
// The same computation gives `shards` in the load harness's JSON.
import { pathToFileURL } from 'node:url';
import { rendezvousOwner } from '../src/coordination/index.js';
import { zipOf } from '../src/geo/zip-lookup.js';
import { AREA_NAMES, makeArea, type AreaName } from './areas.js';
import { intOption, parseOptions, usageError } from './options.js';
import { deviceRandom } from './prng.js';

export interface NodeShare {
  node: string;
  devices: number;
  zips: number;
}
export interface Balance {
  processors: number;
  /** Busiest node's devices ÷ the mean (1 = perfect). */
  maxOverMean: number;
  maxDevices: number;
  meanDevices: number;
  perNode: NodeShare[];
}
export interface ShardReport {
  area: AreaName;
  devices: number;
  officers: number;
  /** Distinct zips the devices are assigned in. */
  zips: number;
  /** Devices in the fullest zip (a zip is the unit of ownership: no node can hold less than it). */
  maxZipDevices: number;
  balance: Balance[];
}

/** Devices per zip for a run's placement: the zip the orchestrator derives from each start position. */
export function devicesPerZip(area: AreaName, seed: number, officers: number, citizens: number): Map<string, number> {
  const a = makeArea(area, seed, officers);
  const count = new Map<string, number>();
  const add = (lat: number, lng: number): void => {
    const z = zipOf(lat, lng);
    count.set(z, (count.get(z) ?? 0) + 1);
  };
  for (let i = 0; i < officers; i++) {
    const p = a.placeOfficer(deviceRandom(seed, 0, i));
    add(p.lat, p.lng);
  }
  for (let i = 0; i < citizens; i++) {
    const p = a.placeCitizen(deviceRandom(seed, 1, i));
    add(p.lat, p.lng);
  }
  return count;
}

/** Devices and zips per node when `ids` share the zips by rendezvous hashing. */
export function balanceOver(perZip: Map<string, number>, ids: readonly string[]): Balance {
  const nodes = ids.map((id) => ({ id }));
  const share = new Map<string, NodeShare>(ids.map((id) => [id, { node: id, devices: 0, zips: 0 }]));
  let total = 0;
  for (const [zip, n] of perZip) {
    const s = share.get(rendezvousOwner(zip, nodes)!.id)!;
    s.devices += n;
    s.zips++;
    total += n;
  }
  const perNode = [...share.values()];
  const maxDevices = Math.max(0, ...perNode.map((s) => s.devices));
  const meanDevices = ids.length ? total / ids.length : 0;
  return {
    processors: ids.length,
    maxOverMean: meanDevices ? Math.round((maxDevices / meanDevices) * 1000) / 1000 : 0,
    maxDevices,
    meanDevices: Math.round(meanDevices),
    perNode,
  };
}

export const clusterIds = (n: number): string[] => Array.from({ length: n }, (_, i) => `p${i + 1}`);

export function shardReport(area: AreaName, seed: number, officers: number, citizens: number, idSets: readonly (readonly string[])[]): ShardReport {
  const perZip = devicesPerZip(area, seed, officers, citizens);
  return {
    area,
    devices: officers + citizens,
    officers,
    zips: perZip.size,
    maxZipDevices: Math.max(0, ...perZip.values()),
    balance: idSets.map((ids) => balanceOver(perZip, ids)),
  };
}

export function shardTable(r: ShardReport): string {
  const lines = [
    `shard balance (${r.area}, ${r.devices} devices, ${r.officers} officers, ${r.zips} zips, fullest zip ${r.maxZipDevices}): rendezvous over zips`,
  ];
  for (const b of r.balance)
    lines.push(
      `  ${String(b.processors).padStart(2)} nodes: max ${b.maxDevices} / mean ${b.meanDevices} = ${b.maxOverMean.toFixed(3)}   [${b.perNode.map((s) => `${s.node} ${s.devices}`).join(', ')}]`,
    );
  return lines.join('\n');
}

const USAGE = 'tsx load-tests/shard-balance.ts [--processors N] [--devices D] [--officers K] [--area nyc|us] [--seed S] [--ids a,b,c]';

function main(argv: string[]): number {
  const opt = parseOptions(
    argv,
    {
      processors: { type: 'string' },
      devices: { type: 'string' },
      officers: { type: 'string' },
      area: { type: 'string' },
      seed: { type: 'string' },
      ids: { type: 'string' },
    },
    USAGE,
  );
  try {
    const area = (opt.area ?? 'us') as AreaName;
    if (!AREA_NAMES.includes(area)) throw new Error(`--area must be one of ${AREA_NAMES.join(', ')}`);
    const devices = intOption('devices', opt.devices, 100_000, 1, 2_000_000);
    const officers = intOption('officers', opt.officers, Math.round(devices / 5), 0, devices);
    const ids = opt.ids?.split(',').filter(Boolean);
    const sets = ids?.length ? [ids] : opt.processors ? [clusterIds(intOption('processors', opt.processors, 6, 1, 64))] : [2, 3, 4, 5, 6, 7, 8].map(clusterIds);
    process.stdout.write(`${shardTable(shardReport(area, intOption('seed', opt.seed, 1, 0, 2 ** 31 - 1), officers, devices - officers, sets))}\n`);
    return 0;
  } catch (e) {
    usageError(e, USAGE);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = main(process.argv.slice(2));
