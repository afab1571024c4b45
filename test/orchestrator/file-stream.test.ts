// The embedded-mode established-connections stream on real files: dated segments, whole lines,
// torn tails cut off at open, idempotence within a dedupe window that survives a reopen and is
// bounded in memory (a clock is injected: no sleeps). The full-disk case: file-stream-full.test.ts.
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectionStreamContract } from '../contracts/connection-stream.js';
import { FileConnectionStream, readStreamEvents, readStreamFile, segmentName } from '../../src/adapters/memory/index.js';

let root: string;
let dir: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'beacon-stream-'));
  dir = join(root, 'nested', 'established');
});
afterEach(() => rm(root, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 0, 10, 12, 0, 0);
const W = 60_000;
let t = T0;
const now = () => t;
beforeEach(() => {
  t = T0;
});
const ev = (id: string, at = t) => ({ id, officerId: `o-${id}`, citizenId: `c-${id}`, at, zip: '10036' });
const openS = () => FileConnectionStream.open(dir, { now, dedupeWindowMs: W });
const seg = (ms = t) => join(dir, segmentName(ms));
const ids = async () => (await readStreamEvents(dir)).map((e) => e.id);
const lines = (text: string) => text.split('\n').filter(Boolean);

describe('FileConnectionStream: the ConnectionStream contract', () => {
  connectionStreamContract(async () => {
    const s = await openS();
    return { stream: s, events: () => readStreamEvents(dir) };
  });
});

describe('FileConnectionStream', () => {
  it('appends one JSON line per event to the segment of the UTC day, creating the directories owner-only', async () => {
    const s = await openS();
    await s.append(ev('a'));
    await s.append(ev('b'));
    await s.close();
    expect(segmentName(T0)).toBe('2026-01-10.ndjson');
    expect(await readdir(dir)).toEqual(['2026-01-10.ndjson']);
    expect(await readFile(seg(), 'utf8')).toBe(`${JSON.stringify(ev('a'))}\n${JSON.stringify(ev('b'))}\n`);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(seg())).mode & 0o777).toBe(0o600);
  });

  it('writes an id once, also for concurrent duplicates', async () => {
    const s = await openS();
    await Promise.all([s.append(ev('a')), s.append(ev('a')), s.append(ev('b')), s.append(ev('a'))]);
    await s.append(ev('a'));
    await s.close();
    expect(await ids()).toEqual(['a', 'b']);
  });

  it('serializes many concurrent appends into whole lines, in call order', async () => {
    const s = await openS();
    const all = Array.from({ length: 200 }, (_, i) => `id-${i}`);
    await Promise.all(all.map((id) => s.append(ev(id))));
    await s.close();
    expect(lines(await readFile(seg(), 'utf8')).map((l) => JSON.parse(l).id)).toEqual(all);
  });

  it('writes only the event fields', async () => {
    const s = await openS();
    await s.append({ ...ev('a'), secret: 'x' } as ReturnType<typeof ev>);
    await s.close();
    expect(JSON.parse((await readFile(seg(), 'utf8')).trim())).toEqual(ev('a'));
  });

  it('refuses appends after close, and close waits for queued appends', async () => {
    const s = await openS();
    const p = s.append(ev('a'));
    await s.close();
    await p;
    await expect(s.append(ev('b'))).rejects.toThrow(/closed/);
    expect(await ids()).toEqual(['a']);
  });

  it('starts a new segment at UTC midnight, and never writes back into an older one when the clock goes back', async () => {
    t = Date.UTC(2026, 0, 10, 23, 59, 59);
    const s = await openS();
    await s.append(ev('late'));
    t += 2000;
    await s.append(ev('early'));
    expect(s.path).toBe(join(dir, '2026-01-11.ndjson'));
    t -= 3_600_000; // the clock steps back into the 10th
    await s.append(ev('stepped-back'));
    await s.close();
    expect(await readdir(dir)).toEqual(['2026-01-10.ndjson', '2026-01-11.ndjson']);
    expect((await readStreamFile(join(dir, '2026-01-10.ndjson'))).events.map((e) => e.id)).toEqual(['late']);
    expect(await ids()).toEqual(['late', 'early', 'stepped-back']);
  });
});

describe('FileConnectionStream dedupe window', () => {
  it('stays idempotent across a reopen for ids written within the window, also across midnight', async () => {
    t = Date.UTC(2026, 0, 10, 23, 59, 50);
    const s1 = await openS();
    await s1.append(ev('a'));
    await s1.close();
    t += 30_000; // the 11th, 00:00:20: 'a' is in yesterday's segment, 30 s ago
    const s2 = await openS();
    expect(s2.has('a')).toBe(true);
    await s2.append(ev('a')); // a retry after the restart
    await s2.append(ev('b'));
    await s2.close();
    expect(await ids()).toEqual(['a', 'b']);
  });

  it('forgets ids older than the window: memory stays bounded, in the process and after a reopen', async () => {
    const s = await openS();
    for (let i = 0; i < 100; i++) await s.append(ev(`old-${i}`));
    t += W / 2;
    for (let i = 0; i < 50; i++) await s.append(ev(`new-${i}`));
    expect(s.size).toBe(150);
    t += W / 2 + 1; // the first batch is now older than the window
    expect(s.size).toBe(50);
    expect(s.has('old-0')).toBe(false);
    expect(s.has('new-0')).toBe(true);
    t += W;
    expect(s.size).toBe(0);
    // Beyond the window a retry is written again: consumers dedupe by id (docs/protocol.md §6).
    await s.append(ev('old-0', T0));
    await s.close();
    expect((await ids()).filter((id) => id === 'old-0')).toHaveLength(2);

    // Reopened long after: nothing to remember, although the history is there.
    t += 10 * W;
    const s2 = await openS();
    expect(s2.size).toBe(0);
    await s2.close();
  });

  it('rebuilds the window from the newest lines only: older segments and older lines are not remembered', async () => {
    // An old segment, much older than the window, and old lines at the start of today's segment.
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, '2025-12-01.ndjson'), `${JSON.stringify(ev('ancient', Date.UTC(2025, 11, 1)))}\n`);
    await writeFile(seg(), `${JSON.stringify(ev('morning', T0 - 3 * 3_600_000))}\n`);
    const s1 = await openS();
    await s1.append(ev('recent'));
    await s1.close();
    t += 1000;
    const s2 = await openS();
    expect([s2.has('ancient'), s2.has('morning'), s2.has('recent')]).toEqual([false, false, true]);
    expect(s2.size).toBe(1);
    await s2.close();
    expect(await ids()).toEqual(['ancient', 'morning', 'recent']);
  });

  it('reads the window back across chunk boundaries, with long and multi-byte lines', async () => {
    const s1 = await openS();
    const all = Array.from({ length: 1500 }, (_, i) => `ü-€-😀-${i}-${'x'.repeat(i % 97)}`);
    all.push(`huge-${'é'.repeat(100_000)}`); // one line longer than a read chunk
    for (const id of all) await s1.append(ev(id));
    await s1.close();
    expect((await stat(seg())).size).toBeGreaterThan(3 * 64 * 1024);
    const s2 = await openS();
    expect(s2.size).toBe(all.length);
    expect(all.every((id) => s2.has(id))).toBe(true);
    await s2.close();
  });
});

describe('FileConnectionStream repair at open', () => {
  it('cuts a torn last line left by a crash off the file, then appends whole lines', async () => {
    const s1 = await openS();
    await s1.append(ev('a'));
    await s1.close();
    const good = await readFile(seg(), 'utf8');
    await appendFile(seg(), '{"id":"torn","offi');
    const s2 = await openS();
    // Repaired at open, not merely skipped: the torn bytes are gone before anything is written.
    expect(await readFile(seg(), 'utf8')).toBe(good);
    expect(s2.size).toBe(1);
    await s2.append(ev('b'));
    await s2.close();
    expect(await readFile(seg(), 'utf8')).toBe(`${good}${JSON.stringify(ev('b'))}\n`);
  });

  it('repairs a torn tail of the newest segment also when the next writes go to a new day', async () => {
    const s1 = await openS();
    await s1.append(ev('a'));
    await s1.close();
    const yesterday = seg();
    await appendFile(yesterday, '{"id":"to');
    t += 24 * 3_600_000;
    const s2 = await openS();
    await s2.append(ev('b'));
    await s2.close();
    expect(await readFile(yesterday, 'utf8')).toBe(`${JSON.stringify(ev('a', T0))}\n`);
    expect((await readStreamFile(yesterday)).tornTail).toBe(false);
    expect(await ids()).toEqual(['a', 'b']);
  });

  it('a segment holding only a partial line is emptied', async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(seg(), '{"id":"x"');
    const s = await openS();
    expect((await stat(seg())).size).toBe(0);
    await s.append(ev('a'));
    await s.close();
    expect(await ids()).toEqual(['a']);
  });
});

describe('FileConnectionStream with hostile ids', () => {
  it('JSON-escapes newlines and odd unicode so a line is always exactly one event', async () => {
    const hostile = ['new\nline', 'cr\r\nlf', 'ls\u2028ps\u2029', 'nul\u0000', 'quote"back\\slash', '😀', 'lone\ud800surrogate', '{"id":"inner"}\n{"id":"x"'];
    const s1 = await openS();
    for (const id of hostile) await s1.append(ev(id));
    await s1.close();
    const text = await readFile(seg(), 'utf8');
    expect(lines(text)).toHaveLength(hostile.length);
    expect(text.split('\n')).toHaveLength(hostile.length + 1); // no stray line break anywhere
    expect(await ids()).toEqual(hostile);
    t += 1000;
    const s2 = await openS();
    for (const id of hostile) expect(s2.has(id)).toBe(true);
    await s2.close();
  });
});
