// The harness's multi-process mode through its real boundaries: `--processors 2` starts its own
// redis-server, orchestrator and processors and generator processes; the run must report every
// node, and leave no process and no temp dir behind, after a normal end and after a Ctrl-C
// (SIGINT to the harness alone) in the middle of the connects.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.js';

const out = mkdtempSync(join(tmpdir(), 'beacon-load-fleet-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** pid → (ppid, start time) of every process now, from /proc. */
function processTable(): Map<number, { ppid: number; start: string }> {
  const t = new Map<number, { ppid: number; start: string }>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      t.set(Number(e), { ppid: Number(f[1]), start: f[19] });
    } catch {
      // gone meanwhile
    }
  }
  return t;
}

/** Records every descendant of `root` seen while it runs (pid + start time: a reused pid is another process). */
class Descendants {
  readonly seen = new Map<number, string>();
  readonly commands = new Map<number, string>();
  private timer: NodeJS.Timeout;
  constructor(private readonly root: number) {
    this.timer = setInterval(() => this.scan(), 250);
  }
  scan(): void {
    const t = processTable();
    const mine = new Set([this.root]);
    // Parents before children is not guaranteed in pid order: iterate to a fixed point (bounded).
    for (let pass = 0, grew = true; grew && pass < 10; pass++) {
      grew = false;
      for (const [pid, p] of t) {
        if (!mine.has(pid) && mine.has(p.ppid)) {
          mine.add(pid);
          this.seen.set(pid, p.start);
          try {
            this.commands.set(pid, readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').slice(0, 120));
          } catch {
            // gone meanwhile
          }
          grew = true;
        }
      }
    }
  }
  stop(): void {
    clearInterval(this.timer);
  }
  /** Those still running now, by command line. */
  alive(): string[] {
    const t = processTable();
    return [...this.seen].filter(([pid, start]) => t.get(pid)?.start === start).map(([pid]) => `${pid} ${this.commands.get(pid) ?? '?'}`);
  }
  /**
   * Those still running a moment after the harness exited: a child SIGKILLed or told to stop
   * just before the exit, and tsx's esbuild service (it ends when its parent's pipe closes), take
   * a little while to go; anything left after 5 s was left behind.
   */
  async leftBehind(): Promise<string[]> {
    await waitFor(() => this.alive().length === 0, 5000, 'the process tree to end', 100).catch(() => {});
    return this.alive();
  }
}

interface Run {
  proc: ChildProcess;
  tree: Descendants;
  stderr: () => string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startHarness(args: string[], timeoutMs: number): Run {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'load-tests/run.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const tree = new Descendants(proc.pid!);
  let stderr = '';
  proc.stdout!.resume();
  proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    const t = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`harness did not finish in ${timeoutMs} ms\n${stderr.slice(-3000)}`));
    }, timeoutMs);
    proc.on('exit', (code, signal) => {
      clearTimeout(t);
      tree.stop();
      resolve({ code, signal });
    });
  });
  return { proc, tree, stderr: () => stderr, done };
}

/** The deployment's temp dir, as the harness logs it. */
const redisDir = (stderr: string): string | undefined => /\(dir (\/[^)]+)\)/.exec(stderr)?.[1];

describe('load harness --processors', () => {
  it('holds 2,000 sockets over 2 processors, reports both nodes and Redis, and leaves nothing behind', async () => {
    const r = startHarness(['--mode', 'connections', '--sockets', '2000', '--processors', '2', '--duration', '3', '--quiet', '--out', out], 400_000);
    const { code } = await r.done;
    expect(code, r.stderr().slice(-3000)).toBe(0);
    const res = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'));
    expect(res.mode).toBe('connections');
    expect(res.connections).toMatchObject({ requested: 2000, connected: 2000, failed: 0 });
    expect(res.connections.connectPerSec).toBeGreaterThan(0);
    expect(res.connections.perNode.map((n: { node: string }) => n.node).sort()).toEqual(['p1', 'p2']);
    expect(res.config.generator.processes).toBe(true);
    // Every socket is on one of the two nodes, as their own /metrics count them.
    expect(res.connections.perNode.reduce((a: number, n: { sockets: number }) => a + n.sockets, 0)).toBe(2000);
    for (const n of res.connections.perNode) {
      expect(n.grossPerSocketBytes, n.node).toBeGreaterThan(0);
      // Growth per socket is null only when the node shrank while connecting (start-up memory given back).
      if (n.rssPerSocketBytes !== null) expect(n.rssPerSocketBytes, n.node).toBeGreaterThan(0);
    }
    expect(res.connections.devicesPerNode.max).toBeGreaterThanOrEqual(1000);
    expect(res.redis.usedMemoryBytes).toBeGreaterThan(0);
    expect(typeof res.redis.opsPerSec).toBe('number');
    expect(res.errors.total).toBe(0);
    // The generator ran in a child process and the deployment was real: several processes were seen.
    expect(r.tree.seen.size).toBeGreaterThanOrEqual(5);
    expect(await r.tree.leftBehind()).toEqual([]);
    const dir = redisDir(r.stderr());
    expect(dir, 'the harness logs its deployment dir').toBeDefined();
    expect(existsSync(dir!)).toBe(false);
  }, 420_000);

  it('on Ctrl-C in the middle of the connects stops every process it started and removes its temp dir', async () => {
    const r = startHarness(['--mode', 'connections', '--sockets', '2000', '--processors', '2', '--duration', '60', '--out', out], 400_000);
    // Progress lines (stderr is not a TTY: one line a second) show the connects under way.
    await waitFor(() => /\[connections connect \d+s\] sockets [1-9]\d*\//.test(r.stderr()), 300_000, 'a progress line with sockets connecting', 100).catch(
      (e: Error) => {
        throw new Error(`${e.message}\n${r.stderr().slice(-3000)}`);
      },
    );
    r.tree.scan();
    expect(r.tree.alive().length).toBeGreaterThanOrEqual(5);
    r.proc.kill('SIGINT');
    const { code, signal } = await r.done;
    expect(signal).toBeNull(); // it exited by itself, after cleaning up
    expect(code, r.stderr().slice(-3000)).not.toBeNull();
    expect(r.stderr()).toContain('Ctrl-C: stopping');
    const res = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'));
    expect(res.aborted).toBe(true);
    expect(await r.tree.leftBehind()).toEqual([]);
    expect(existsSync(redisDir(r.stderr())!)).toBe(false);
  }, 420_000);
});
