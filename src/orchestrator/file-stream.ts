// The established-connections stream of embedded mode: an append-only NDJSON file in DATA_DIR,
// one event per line, fsynced before append() resolves. Downstream services tail it; a line is
// only ever added, never rewritten.
//
// Idempotent by event id: ids already in the file are loaded at open, so a retry after a restart
// is written once too. Appends are serialized (one write + fsync at a time) so lines never
// interleave. A torn last line (the process died mid-write) is skipped when reading and the next
// append starts on a fresh line.
//
// The file is personal data: owner-only (0600) in an owner-only directory (0700), whatever the
// umask, also when an older version left it readable (util/private-files.ts).
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ensurePrivateDir, makePrivate, PRIVATE_FILE_MODE } from '../util/private-files.js';
import type { ConnectionStream } from '../coordination/index.js';
import type { EstablishedConnectionEvent } from '../protocol/index.js';

export const STREAM_FILE_NAME = 'established.ndjson';

export class FileConnectionStream implements ConnectionStream {
  private tail: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly ids: Set<string>,
    /** Appends in flight by id, so a concurrent duplicate waits for the first instead of writing. */
    private readonly inflight: Map<string, Promise<void>>,
    private needsNewline: boolean,
  ) {}

  /** Opens (creating it and its directory when missing) and loads the ids already written. */
  static async open(path: string): Promise<FileConnectionStream> {
    await ensurePrivateDir(dirname(path));
    const { events, tornTail } = await readStreamFile(path);
    const fh = await open(path, 'a', PRIVATE_FILE_MODE);
    await makePrivate(fh);
    // Make the file's directory entry durable too, once, so a fresh file survives a power cut.
    await fsyncDir(dirname(path));
    return new FileConnectionStream(path, fh, new Set(events.map((e) => e.id)), new Map(), tornTail);
  }

  append(event: EstablishedConnectionEvent): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the established-connections stream is closed'));
    if (this.ids.has(event.id)) return Promise.resolve();
    const running = this.inflight.get(event.id);
    if (running) return running;
    const line = JSON.stringify({ id: event.id, officerId: event.officerId, citizenId: event.citizenId, at: event.at, zip: event.zip }) + '\n';
    const p = this.tail.then(async () => {
      const data = this.needsNewline ? '\n' + line : line;
      await this.fh.write(data);
      await this.fh.sync();
      this.needsNewline = false;
      this.ids.add(event.id);
    });
    // A failed append must not poison the ones queued after it.
    this.tail = p.catch(() => {});
    this.inflight.set(event.id, p);
    const done = () => this.inflight.delete(event.id);
    p.then(done, done);
    return p;
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  get size(): number {
    return this.ids.size;
  }

  /** Waits for queued appends, then closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail;
    await this.fh.close();
  }
}

/** Every complete event in a stream file, in order (missing file: none). */
export async function readStreamFile(path: string): Promise<{ events: EstablishedConnectionEvent[]; tornTail: boolean }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { events: [], tornTail: false };
    throw e;
  }
  const events: EstablishedConnectionEvent[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      const e = JSON.parse(line) as EstablishedConnectionEvent;
      if (typeof e === 'object' && e !== null && typeof e.id === 'string') events.push(e);
    } catch {
      // A torn line from a crash mid-write: it was never acknowledged, so it is not an event.
    }
  }
  return { events, tornTail: text.length > 0 && !text.endsWith('\n') };
}

async function fsyncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Not every platform can fsync a directory (Windows); the file's own fsync still holds.
  } finally {
    await fh?.close().catch(() => {});
  }
}
