// The established-connections stream when the disk fills up in the middle of a line, for real:
// * a 16 KiB tmpfs filled with a filler file (the suite runs as root) — ENOSPC;
// * a file-size limit (RLIMIT_FSIZE, as `ulimit -f` sets it) on a child process holding the
//   stream — EFBIG. This is also the fallback for the first case where tmpfs cannot be mounted.
// Either way the kernel writes part of the line (a short write), then refuses the rest: the append
// rejects, nothing torn or glued stays in the segment, and once space is back the retry of the
// same event writes exactly one whole line.
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, open, readFile, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileConnectionStream, readStreamFile } from '../../src/adapters/memory/index.js';

const PAGE = 4096;
const T = Date.UTC(2026, 0, 10, 12);
const ev = (id: string) => ({ id, officerId: 'o-1', citizenId: 'c-1', at: T, zip: '10036' });
const lineOf = (id: string) => `${JSON.stringify(ev(id))}\n`;

type Result = { ok: true } | { ok: false; code: string | undefined };

/** The stream under test, and how to take space away and give it back. */
interface Driver {
  path: string;
  expectedCode: string;
  append(e: ReturnType<typeof ev>): Promise<Result>;
  /** Takes the room away: the segment cannot grow past its current page. */
  fill(): Promise<void>;
  free(): Promise<void>;
  close(): Promise<void>;
  warnings: Record<string, unknown>[];
}

let root: string;
let mnt: string | undefined;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'beacon-full-'));
  const dir = join(root, 'tmpfs');
  try {
    await mkdir(dir);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k,mode=0700', 'tmpfs', dir], { stdio: 'pipe' });
    mnt = dir;
  } catch (e) {
    console.warn(`tmpfs cannot be mounted here (${(e as Error).message.split('\n')[0]}): the full-disk case runs under a file-size limit instead`);
  }
});
const children: ReturnType<typeof spawn>[] = [];
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL'); // after a failed assertion
  try {
    if (mnt) execFileSync('umount', [mnt]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

async function tmpfsDriver(mount: string): Promise<Driver> {
  const warnings: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'warn' },
    new Writable({
      write(chunk, _e, cb) {
        warnings.push(JSON.parse(String(chunk)));
        cb();
      },
    }),
  );
  const s = await FileConnectionStream.open(join(mount, 'established'), { now: () => T, logger });
  const filler = join(mount, 'filler');
  return {
    path: s.path,
    expectedCode: 'ENOSPC',
    warnings,
    append: (e) =>
      s.append(e).then(
        () => ({ ok: true }) as const,
        (err: NodeJS.ErrnoException) => ({ ok: false, code: err.code }) as const,
      ),
    async fill() {
      const fh = await open(filler, 'w');
      const block = Buffer.alloc(PAGE, 'f');
      try {
        for (;;) await fh.write(block);
      } catch (err) {
        expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
      } finally {
        await fh.close();
      }
    },
    free: () => unlink(filler),
    close: () => s.close(),
  };
}

/** The stream in a child process whose RLIMIT_FSIZE is lowered to one page, then raised again. */
async function rlimitDriver(dir: string): Promise<Driver> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'stream-child.ts'), dir, String(T)], {
    cwd: join(import.meta.dirname, '../..'),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  const warnings: Record<string, unknown>[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => warnings.push(JSON.parse(l)));
  const replies = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => {
    const r = await replies.next();
    if (r.done) throw new Error('the stream child exited');
    return JSON.parse(r.value) as Record<string, unknown> & Result;
  };
  const ask = (cmd: unknown) => {
    child.stdin!.write(`${JSON.stringify(cmd)}\n`);
    return next();
  };
  const ready = await next();
  const prlimit = (soft: string) => {
    execFileSync('prlimit', ['--pid', String(child.pid), `--fsize=${soft}:unlimited`]);
  };
  return {
    path: ready.path as string,
    expectedCode: 'EFBIG',
    warnings,
    append: (event) => ask({ op: 'append', event }),
    fill: async () => prlimit(String(PAGE)),
    free: async () => prlimit('unlimited'),
    async close() {
      const exited = new Promise((r) => child.once('exit', r));
      expect(await ask({ op: 'close' })).toEqual({ closed: true });
      child.stdin!.end();
      expect(await exited).toBe(0);
    },
  };
}

async function scenario(d: Driver): Promise<void> {
  const file = d.path;
  // Fill the segment's first page to 40 bytes short of its end, so the next line is cut by the
  // page (or size-limit) boundary: the kernel writes 40 bytes, then refuses the rest.
  const written: string[] = [];
  for (let i = 0; (await stat(file)).size < PAGE - 400; i++) {
    expect(await d.append(ev(`e-${i}`))).toEqual({ ok: true });
    written.push(`e-${i}`);
  }
  const padId = 'p'.repeat(PAGE - 40 - (await stat(file)).size - lineOf('').length);
  expect(await d.append(ev(padId))).toEqual({ ok: true });
  written.push(padId);
  const good = await readFile(file, 'utf8');
  expect(good.length).toBe(PAGE - 40);

  await d.fill();
  const victim = ev('victim-0123456789');
  expect(await d.append(victim)).toEqual({ ok: false, code: d.expectedCode });
  // The kernel did write part of the line (a short write), and it was cut off again at once.
  expect(d.warnings.find((w) => String(w.msg).includes('cut back'))).toMatchObject({ cut: 40, length: PAGE - 40 });
  expect(await readFile(file, 'utf8')).toBe(good);

  // Still no room: a second attempt fails the same way, still nothing torn.
  expect(await d.append(victim)).toEqual({ ok: false, code: d.expectedCode });
  expect(await readFile(file, 'utf8')).toBe(good);

  // Space comes back: the retry of the same event appends exactly one whole line.
  await d.free();
  expect(await d.append(victim)).toEqual({ ok: true });
  expect(await d.append(victim)).toEqual({ ok: true }); // and a further retry is a no-op
  await d.close();
  const text = await readFile(file, 'utf8');
  expect(text).toBe(good + lineOf(victim.id));
  for (const line of text.split('\n').filter(Boolean)) expect(() => JSON.parse(line)).not.toThrow();
  const { events, tornTail } = await readStreamFile(file);
  expect(tornTail).toBe(false);
  expect(events.map((e) => e.id)).toEqual([...written, victim.id]);
}

describe('FileConnectionStream when the disk fills up mid-line', () => {
  it('on a full 16 KiB tmpfs (ENOSPC): rejects, leaves no torn line, and the retry writes one whole line once space is back', async () => {
    await scenario(mnt ? await tmpfsDriver(mnt) : await rlimitDriver(join(root, 'fallback', 'established')));
  });

  it('under a file-size limit in a child process (EFBIG): the same', async () => {
    await scenario(await rlimitDriver(join(root, 'rlimit', 'established')));
  });
});
