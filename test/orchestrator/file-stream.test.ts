import { appendFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileConnectionStream, readStreamFile } from '../../src/orchestrator/index.js';

let dir: string;
let file: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'beacon-stream-'));
  file = join(dir, 'nested', 'established.ndjson');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const ev = (id: string) => ({ id, officerId: `o-${id}`, citizenId: `c-${id}`, at: 1_700_000_000_000, zip: '10036' });

describe('FileConnectionStream', () => {
  it('appends one JSON line per event, creating the directory', async () => {
    const s = await FileConnectionStream.open(file);
    await s.append(ev('a'));
    await s.append(ev('b'));
    await s.close();
    expect(await readFile(file, 'utf8')).toBe(`${JSON.stringify(ev('a'))}\n${JSON.stringify(ev('b'))}\n`);
  });

  it('writes an id once, also for concurrent duplicates', async () => {
    const s = await FileConnectionStream.open(file);
    await Promise.all([s.append(ev('a')), s.append(ev('a')), s.append(ev('b')), s.append(ev('a'))]);
    await s.append(ev('a'));
    await s.close();
    expect((await readStreamFile(file)).events.map((e) => e.id)).toEqual(['a', 'b']);
  });

  it('keeps every event across a restart and stays idempotent for ids written before it', async () => {
    const s1 = await FileConnectionStream.open(file);
    await s1.append(ev('a'));
    await s1.close();
    const s2 = await FileConnectionStream.open(file);
    expect(s2.has('a')).toBe(true);
    await s2.append(ev('a')); // a retry after the restart
    await s2.append(ev('b'));
    await s2.close();
    expect((await readStreamFile(file)).events.map((e) => e.id)).toEqual(['a', 'b']);
  });

  it('serializes many concurrent appends into whole lines, in call order', async () => {
    const s = await FileConnectionStream.open(file);
    const ids = Array.from({ length: 200 }, (_, i) => `id-${i}`);
    await Promise.all(ids.map((id) => s.append(ev(id))));
    await s.close();
    const text = await readFile(file, 'utf8');
    expect(text.split('\n').filter(Boolean).map((l) => JSON.parse(l).id)).toEqual(ids);
  });

  it('skips a torn last line left by a crash and starts the next event on a fresh line', async () => {
    const s1 = await FileConnectionStream.open(file);
    await s1.append(ev('a'));
    await s1.close();
    await appendFile(file, '{"id":"torn","offi');
    const s2 = await FileConnectionStream.open(file);
    expect(s2.size).toBe(1);
    await s2.append(ev('b'));
    await s2.close();
    expect((await readStreamFile(file)).events.map((e) => e.id)).toEqual(['a', 'b']);
  });

  it('writes only the event fields', async () => {
    const s = await FileConnectionStream.open(file);
    await s.append({ ...ev('a'), secret: 'x' } as ReturnType<typeof ev>);
    await s.close();
    expect(JSON.parse((await readFile(file, 'utf8')).trim())).toEqual(ev('a'));
  });

  it('refuses appends after close, and close waits for queued appends', async () => {
    const s = await FileConnectionStream.open(file);
    const p = s.append(ev('a'));
    await s.close();
    await p;
    await expect(s.append(ev('b'))).rejects.toThrow(/closed/);
    expect((await readStreamFile(file)).events).toHaveLength(1);
    expect((await stat(file)).size).toBeGreaterThan(0);
  });
});
