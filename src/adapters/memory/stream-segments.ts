// On-disk layout of the embedded-mode established-connections stream, and the helpers that read
// it: `DATA_DIR/established/YYYY-MM-DD.ndjson`, one segment per UTC day of writing, one JSON event
// per '\n'-terminated line, append-only. Reading backwards in chunks lets a start look at the
// last minutes of history only, whatever its size.
import { readdir, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { EstablishedConnectionEvent } from '../../protocol/index.js';

/** Directory of the segments, inside DATA_DIR. */
export const STREAM_DIR_NAME = 'established';
/** The single file of versions before segments (DATA_DIR/established.ndjson): kept as history, never written. */
export const LEGACY_STREAM_FILE_NAME = 'established.ndjson';

const SEGMENT_RE = /^(\d{4})-(\d{2})-(\d{2})\.ndjson$/;
const NEWLINE = 0x0a;
const CHUNK = 64 * 1024;

/** The segment a write made at `ms` goes to: its UTC day. */
export function segmentName(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 10)}.ndjson`;
}

/** The first instant after the segment's day (every line in it was written before this). */
export function segmentDayEnd(name: string): number {
  const m = SEGMENT_RE.exec(name);
  if (!m) throw new Error(`not a stream segment name: ${name}`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + 1);
}

/** Segment names in `dir`, oldest first (name order is write order). Missing directory: none. */
export async function listSegments(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => SEGMENT_RE.test(n)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** Position just after the last '\n' before `size` (0 when there is none): the end of the last complete line. */
export async function lastLineEnd(fh: FileHandle, size: number): Promise<number> {
  const buf = Buffer.allocUnsafe(CHUNK);
  for (let end = size; end > 0;) {
    const start = Math.max(0, end - CHUNK);
    const { bytesRead } = await fh.read(buf, 0, end - start, start);
    const i = buf.subarray(0, bytesRead).lastIndexOf(NEWLINE);
    if (i >= 0) return start + i + 1;
    end = start;
  }
  return 0;
}

/**
 * The complete lines of the first `size` bytes, newest first, read backwards in chunks (bytes after
 * the last '\n' are not a line). Splits on the byte '\n', which never occurs inside a UTF-8
 * multi-byte character, so each line decodes on its own.
 */
export async function* linesBackward(fh: FileHandle, size: number): AsyncGenerator<string> {
  const buf = Buffer.allocUnsafe(CHUNK);
  let carry: Buffer | undefined; // the start of a line whose beginning is in an earlier chunk
  let trailing = true; // the first piece seen (the file's end) is a line only if a '\n' ends the file
  for (let end = size; end > 0;) {
    const start = Math.max(0, end - CHUNK);
    const { bytesRead } = await fh.read(buf, 0, end - start, start);
    let block = buf.subarray(0, bytesRead);
    if (carry) block = Buffer.concat([block, carry]);
    let stop = block.length;
    // (lastIndexOf with a negative offset would count from the end: stop at 0 explicitly.)
    while (stop > 0) {
      const i = block.lastIndexOf(NEWLINE, stop - 1);
      if (i < 0) break;
      if (!trailing && i + 1 < stop) yield block.toString('utf8', i + 1, stop);
      trailing = false;
      stop = i;
    }
    carry = stop > 0 ? Buffer.from(block.subarray(0, stop)) : undefined;
    end = start;
  }
  if (carry && !trailing) yield carry.toString('utf8');
}

/** One line as an event, or undefined when it is not one. */
export function parseEvent(line: string): EstablishedConnectionEvent | undefined {
  try {
    const e = JSON.parse(line) as EstablishedConnectionEvent;
    return typeof e === 'object' && e !== null && typeof e.id === 'string' ? e : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Every complete event of one file, in order (missing file: none); `tornTail` when it ends in a
 * partial line (a write in progress, or a crash Beacon repairs at its next start). Reads the whole
 * file: for tests and consumers, never on the start path.
 */
export async function readStreamFile(path: string): Promise<{ events: EstablishedConnectionEvent[]; tornTail: boolean }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { events: [], tornTail: false };
    throw e;
  }
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  const events: EstablishedConnectionEvent[] = [];
  for (const line of complete.split('\n')) {
    const e = line === '' ? undefined : parseEvent(line);
    if (e) events.push(e);
  }
  return { events, tornTail: complete.length < text.length };
}

/** Every complete event of every segment in `dir` (DATA_DIR/established), in write order. */
export async function readStreamEvents(dir: string): Promise<EstablishedConnectionEvent[]> {
  const out: EstablishedConnectionEvent[] = [];
  for (const name of await listSegments(dir)) out.push(...(await readStreamFile(join(dir, name))).events);
  return out;
}
