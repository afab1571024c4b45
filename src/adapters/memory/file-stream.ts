// The established-connections stream of embedded mode: dated, append-only NDJSON segments in
// DATA_DIR/established/ (layout and readers: stream-segments.ts; consumers: docs/protocol.md §6).
//
// Durable: append() resolves only once the whole line is written (a short write is continued
// where it stopped) and fsynced. Never torn, never glued: each line is written at the known end of
// the last complete line (positional writes), and after any failed or partial write the segment is
// truncated back to that length (and fsynced) before the next append; the failed append rejects
// and the caller retries. A torn tail left by a crash is cut off the same way at open.
//
// Bounded start and memory: idempotence by event id within a dedupe window (default 10 min;
// embedded mode passes 2 × REQUEST_TTL_MS when longer). At open only the newest segment(s) are
// read, backwards from the end, back to the first line that was written before the window; ids
// older than the window are dropped from memory as time goes on. The contract that makes this
// exact: a retry of an event comes within the window of its first write and of its `at`
// (ConnectionService retries until the request's TTL). A retry later than that writes a second
// line; consumers treat `id` as the idempotency key anyway.
//
// Appends are serialized (one write + fsync at a time). Segments are never written out of name
// order: after the clock goes back, writes continue in the newest segment. Files are owner-only
// (0600) in an owner-only directory (0700), whatever the umask (util/private-files.ts).
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ensurePrivateDir, makePrivate, PRIVATE_FILE_MODE } from '../../util/private-files.js';
import type { ConnectionStream } from '../../coordination/index.js';
import type { Logger } from '../../log.js';
import type { EstablishedConnectionEvent } from '../../protocol/index.js';
import { lastLineEnd, linesBackward, listSegments, parseEvent, segmentDayEnd, segmentName } from './stream-segments.js';

export const DEFAULT_DEDUPE_WINDOW_MS = 10 * 60_000;

/** The dedupe window for a request TTL: twice the TTL (retries stop at the TTL), at least the default. */
export function dedupeWindowFor(requestTtlMs: number): number {
  return Math.max(2 * requestTtlMs, DEFAULT_DEDUPE_WINDOW_MS);
}

export interface FileStreamOptions {
  /** How long an id written is remembered, so a retry is not written twice (ms). */
  dedupeWindowMs?: number;
  /** Clock, ms since the epoch: names segments and ages the dedupe window (tests). */
  now?: () => number;
  /** Repairs (torn tails cut off) are logged here at warn. */
  logger?: Logger;
}

interface Segment {
  name: string;
  fh: FileHandle;
  /** Length up to the end of the last complete, durable line: where the next line is written. */
  good: number;
  /** A write or sync failed (or is in progress): the file may hold bytes past `good`. */
  dirty: boolean;
}

export class FileConnectionStream implements ConnectionStream {
  private tail: Promise<void> = Promise.resolve();
  private closed = false;
  /** Appends in flight by id, so a concurrent duplicate waits for the first instead of writing. */
  private readonly inflight = new Map<string, Promise<void>>();
  private lastSweep: number;

  private constructor(
    readonly dir: string,
    private seg: Segment,
    /** Ids written within the window → latest time it may have been written (ms); insertion ≈ write order. */
    private readonly ids: Map<string, number>,
    private readonly windowMs: number,
    private readonly now: () => number,
    private readonly logger: Logger | undefined,
  ) {
    this.lastSweep = now();
  }

  /**
   * Opens the stream in `dir` (DATA_DIR/established), creating it owner-only when missing:
   * cuts off a torn tail of the newest segment, and rebuilds the dedupe window from the newest
   * lines only.
   */
  static async open(dir: string, options: FileStreamOptions = {}): Promise<FileConnectionStream> {
    const now = options.now ?? Date.now;
    const windowMs = options.dedupeWindowMs ?? DEFAULT_DEDUPE_WINDOW_MS;
    if (!(windowMs > 0)) throw new Error(`dedupeWindowMs must be positive, got ${windowMs}`);
    await ensurePrivateDir(dir);
    const names = await listSegments(dir);
    const newest = names.at(-1);
    const t = now();
    const today = segmentName(t);
    const current = newest !== undefined && newest > today ? newest : today;
    // The newest segment is the only one a crash can have left torn (older ones were complete
    // before a newer one was started); when it is not the one written next, repair it on its own.
    if (newest !== undefined && newest !== current) {
      const old = await openSegment(dir, newest, options.logger);
      await old.fh.close();
    }
    const seg = await openSegment(dir, current, options.logger);
    try {
      const ids = await rebuildWindow(dir, names, t, windowMs);
      return new FileConnectionStream(dir, seg, ids, windowMs, now, options.logger);
    } catch (e) {
      await seg.fh.close().catch(() => {});
      throw e;
    }
  }

  /** Path of the segment the next append goes to. */
  get path(): string {
    return join(this.dir, this.seg.name);
  }

  append(event: EstablishedConnectionEvent): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the established-connections stream is closed'));
    if (this.has(event.id)) return Promise.resolve();
    const running = this.inflight.get(event.id);
    if (running) return running;
    // JSON escapes every control character (a '\n' in an id included): one event, one line.
    const line = JSON.stringify({ id: event.id, officerId: event.officerId, citizenId: event.citizenId, at: event.at, zip: event.zip }) + '\n';
    const p = this.tail.then(() => this.write(event.id, Buffer.from(line, 'utf8')));
    // A failed append must not poison the ones queued after it.
    this.tail = p.catch(() => {});
    this.inflight.set(event.id, p);
    const done = () => this.inflight.delete(event.id);
    p.then(done, done);
    return p;
  }

  private async write(id: string, buf: Buffer): Promise<void> {
    const t = this.now();
    await this.rollOver(segmentName(t));
    const seg = this.seg;
    if (seg.dirty) await this.repair(seg);
    seg.dirty = true;
    try {
      for (let off = 0; off < buf.length;) {
        // A short write (the disk filled up mid-line) is continued where it stopped; the next
        // attempt then either completes the line or fails with the reason (ENOSPC, EFBIG, EIO...).
        const { bytesWritten } = await seg.fh.write(buf, off, buf.length - off, seg.good + off);
        if (bytesWritten <= 0) throw Object.assign(new Error(`write to ${seg.name} made no progress`), { code: 'EIO' });
        off += bytesWritten;
      }
      await seg.fh.sync();
    } catch (e) {
      // Cut the partial line now (truncating frees what it took); if even that fails, the next
      // append tries again first, since `dirty` stays set.
      await this.repair(seg).catch(() => {});
      throw e;
    }
    seg.good += buf.length;
    seg.dirty = false;
    this.ids.set(id, t);
  }

  /** Truncates the segment back to the end of its last complete line, durably. */
  private async repair(seg: Segment): Promise<void> {
    const { size } = await seg.fh.stat();
    await seg.fh.truncate(seg.good);
    await seg.fh.sync();
    seg.dirty = false;
    this.logger?.warn(
      { segment: seg.name, length: seg.good, cut: size - seg.good },
      'established-connections segment cut back to its last complete line after a failed write',
    );
  }

  /** A new UTC day: the next lines go to a new segment, the previous one left complete. */
  private async rollOver(name: string): Promise<void> {
    if (name <= this.seg.name) return;
    const old = this.seg;
    if (old.dirty) await this.repair(old);
    this.seg = await openSegment(this.dir, name, this.logger);
    await old.fh.close().catch(() => {});
  }

  has(id: string): boolean {
    this.prune();
    return this.ids.has(id);
  }

  /** Ids remembered (those written within the dedupe window). */
  get size(): number {
    this.prune();
    return this.ids.size;
  }

  /** Drops ids older than the window: from the front (oldest) each time, and a full sweep now and then for out-of-order ones. */
  private prune(): void {
    const t = this.now();
    const cutoff = t - this.windowMs;
    for (const [id, at] of this.ids) {
      if (at >= cutoff) break;
      this.ids.delete(id);
    }
    if (t - this.lastSweep < this.windowMs / 4) return;
    this.lastSweep = t;
    for (const [id, at] of this.ids) if (at < cutoff) this.ids.delete(id);
  }

  /** Waits for queued appends, then closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail;
    if (this.seg.dirty) await this.repair(this.seg).catch(() => {}); // cut at the next open otherwise
    await this.seg.fh.close();
  }
}

/** Opens (creating) a segment for writing, owner-only, and cuts off a torn tail. */
async function openSegment(dir: string, name: string, logger: Logger | undefined): Promise<Segment> {
  // Not O_APPEND: lines go at an explicit position (the end of the last complete line).
  const fh = await open(join(dir, name), constants.O_RDWR | constants.O_CREAT, PRIVATE_FILE_MODE);
  try {
    await makePrivate(fh);
    const { size } = await fh.stat();
    const good = await lastLineEnd(fh, size);
    if (good < size) {
      await fh.truncate(good);
      await fh.sync();
      logger?.warn({ segment: name, bytes: size - good }, 'established-connections segment had a torn last line (a crash mid-write): cut off');
    }
    // Make the file's directory entry durable too, so a fresh segment survives a power cut.
    await fsyncDir(dir);
    return { name, fh, good, dirty: false };
  } catch (e) {
    await fh.close().catch(() => {});
    throw e;
  }
}

/**
 * The ids written within `windowMs` before `t`, from the newest lines backwards. A line's write
 * time is at most the end of its segment's day and (by the retry contract) at most `at + window`;
 * once that bound falls before the window, every earlier line was written earlier still: stop.
 */
async function rebuildWindow(dir: string, names: string[], t: number, windowMs: number): Promise<Map<string, number>> {
  const cutoff = t - windowMs;
  const found: [string, number][] = [];
  scan: for (let i = names.length - 1; i >= 0; i--) {
    const dayEnd = segmentDayEnd(names[i]!);
    if (dayEnd <= cutoff) break;
    const fh = await open(join(dir, names[i]!), 'r');
    try {
      const { size } = await fh.stat();
      for await (const line of linesBackward(fh, size)) {
        const e = parseEvent(line);
        if (!e) continue;
        const latest = typeof e.at === 'number' && Number.isFinite(e.at) ? Math.min(e.at + windowMs, dayEnd) : dayEnd;
        if (latest < cutoff) break scan;
        found.push([e.id, latest]);
      }
    } finally {
      await fh.close();
    }
  }
  const ids = new Map<string, number>();
  for (let i = found.length - 1; i >= 0; i--) ids.set(found[i]![0], found[i]![1]);
  return ids;
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
