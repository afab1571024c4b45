// A REAL full disk under the established-connections stream: a 16 KiB tmpfs (the suite runs as
// root). The disk fills up in the middle of a line (a short write, then ENOSPC): the append
// rejects, nothing torn or glued stays in the segment, and once space is freed the retry of the
// same event writes exactly one whole line.
import { execFileSync } from 'node:child_process';
import { mkdtemp, open, readFile, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileConnectionStream, readStreamFile } from '../../src/orchestrator/index.js';

const PAGE = 4096;
let mnt: string;
beforeAll(async () => {
  mnt = await mkdtemp(join(tmpdir(), 'beacon-full-'));
  // Fails loudly where tmpfs cannot be mounted: this test needs a real filesystem that fills up.
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k,mode=0700', 'tmpfs', mnt]);
});
afterAll(async () => {
  if (!mnt) return;
  try {
    execFileSync('umount', [mnt]);
  } finally {
    await rm(mnt, { recursive: true, force: true });
  }
});

const T = Date.UTC(2026, 0, 10, 12);
const ev = (id: string) => ({ id, officerId: 'o-1', citizenId: 'c-1', at: T, zip: '10036' });
const lineOf = (id: string) => `${JSON.stringify(ev(id))}\n`;

/** Fills the filesystem with a filler file until a write fails with ENOSPC. */
async function fill(path: string): Promise<void> {
  const fh = await open(path, 'w');
  const block = Buffer.alloc(PAGE, 'f');
  try {
    for (;;) await fh.write(block);
  } catch (e) {
    expect((e as NodeJS.ErrnoException).code).toBe('ENOSPC');
  } finally {
    await fh.close();
  }
}

describe('FileConnectionStream on a full disk (tmpfs)', () => {
  it('rejects an append that does not fit, leaves no torn line, and the retry writes one whole line once space is back', async () => {
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
    const dir = join(mnt, 'established');
    const s = await FileConnectionStream.open(dir, { now: () => T, logger });
    const file = s.path;

    // Fill the segment's first page to 40 bytes short of its end, so the next line is cut by the
    // page boundary: the kernel writes 40 bytes, then has no page for the rest.
    const written: string[] = [];
    for (let i = 0; (await stat(file)).size < PAGE - 400; i++) {
      await s.append(ev(`e-${i}`));
      written.push(`e-${i}`);
    }
    const pad = PAGE - 40 - (await stat(file)).size - lineOf('').length;
    const padId = 'p'.repeat(pad);
    await s.append(ev(padId));
    written.push(padId);
    const good = await readFile(file, 'utf8');
    expect(good.length).toBe(PAGE - 40);

    await fill(join(mnt, 'filler'));
    const victim = ev('victim-0123456789');
    const err = await s.append(victim).then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e,
    );
    expect(err?.code).toBe('ENOSPC');
    // The kernel did write part of the line (a short write), and it was cut off again.
    expect(warnings.find((w) => String(w.msg).includes('cut back'))).toMatchObject({ cut: 40, length: PAGE - 40 });
    expect(await readFile(file, 'utf8')).toBe(good);
    expect(s.has(victim.id)).toBe(false);

    // Still full: a second attempt fails the same way, still nothing torn.
    await expect(s.append(victim)).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(await readFile(file, 'utf8')).toBe(good);

    // Space comes back: the retry of the same event appends exactly one whole line.
    await unlink(join(mnt, 'filler'));
    await s.append(victim);
    await s.append(victim); // and a further retry is a no-op
    await s.close();
    const text = await readFile(file, 'utf8');
    expect(text).toBe(good + lineOf(victim.id));
    for (const line of text.split('\n').filter(Boolean)) expect(() => JSON.parse(line)).not.toThrow();
    const { events, tornTail } = await readStreamFile(file);
    expect(tornTail).toBe(false);
    expect(events.map((e) => e.id)).toEqual([...written, victim.id]);
  });
});
