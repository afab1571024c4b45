// Peer (c): a real redis-server, started here on a free port with persistence off and stopped at
// the end. GEOADD per move and GEOSEARCH FROMLONLAT … BYRADIUS … ASC COUNT 1 per query, both
// pipelined through node-redis (commands issued in one tick go out in one write).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import type { Moves, Officers } from '../data.js';
import { measure, sink } from '../stats.js';
import type { PeerRun } from './beacon.js';

const KEY = 'beacon:bench:officers';
const PIPELINE = 1000;

export interface RedisPeer {
  port: number;
  bench(
    o: Officers,
    moves: Moves,
    q: { lat: Float64Array; lng: Float64Array },
    radius: number,
    ops: { updates: number; nearest: number; repeats: number },
  ): Promise<PeerRun>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export async function startRedis(bin = process.env.REDIS_SERVER_BIN ?? 'redis-server'): Promise<RedisPeer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'beacon-bench-redis-'));
  const proc: ChildProcess = spawn(
    bin,
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'no'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const kill = () => proc.kill('SIGKILL');
  process.once('exit', kill);
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const client = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: false } });
  client.on('error', () => {});
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`redis-server exited: ${stderr.slice(-400)}`);
    try {
      await client.connect();
      break;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(String(await client.sendCommand(['INFO', 'memory'])))![1]);

  return {
    port,
    async bench(o, moves, q, radius, ops) {
      await client.sendCommand(['DEL', KEY]);
      const before = await usedMemory();
      const lat = Float64Array.from(o.lat);
      const lng = Float64Array.from(o.lng);
      for (let start = 0; start < o.n; start += PIPELINE * 10) {
        const batch: Promise<unknown>[] = [];
        for (let b = start; b < Math.min(o.n, start + PIPELINE * 10); b += 100) {
          const args = ['GEOADD', KEY];
          for (let i = b; i < Math.min(o.n, b + 100); i++) args.push(String(lng[i]), String(lat[i]), o.ids[i]);
          batch.push(client.sendCommand(args));
        }
        await Promise.all(batch);
      }
      const bytesPerOfficer = ((await usedMemory()) - before) / o.n;
      const { who, dLat, dLng } = moves;
      let cursor = 0;
      const updates = await measure(ops.updates, ops.repeats, async (n) => {
        for (let done = 0; done < n; done += PIPELINE) {
          const batch: Promise<unknown>[] = [];
          for (let j = done; j < Math.min(n, done + PIPELINE); j++) {
            const m = cursor++ % moves.count;
            const i = who[m];
            lat[i] += dLat[m];
            lng[i] += dLng[m];
            batch.push(client.sendCommand(['GEOADD', KEY, String(lng[i]), String(lat[i]), o.ids[i]]));
          }
          await Promise.all(batch);
        }
      });
      const qn = q.lat.length;
      const r = String(radius);
      const nearest = await measure(ops.nearest, ops.repeats, async (n) => {
        let s = 0;
        for (let done = 0; done < n; done += 100) {
          const batch: Promise<unknown>[] = [];
          for (let j = done; j < Math.min(n, done + 100); j++) {
            const k = j % qn;
            batch.push(
              client.sendCommand(['GEOSEARCH', KEY, 'FROMLONLAT', String(q.lng[k]), String(q.lat[k]), 'BYRADIUS', r, 'm', 'ASC', 'COUNT', '1', 'WITHDIST']),
            );
          }
          for (const res of (await Promise.all(batch)) as [string, string][][]) if (res.length > 0) s += Number(res[0][1]);
        }
        sink.value += s;
      });
      await client.sendCommand(['DEL', KEY]);
      return { updates, nearest, bytesPerOfficer };
    },
    async stop() {
      try {
        await client.quit();
      } catch {
        /* already gone */
      }
      proc.kill('SIGTERM');
      if (proc.exitCode === null) await new Promise((r) => proc.once('exit', r));
      process.removeListener('exit', kill);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
