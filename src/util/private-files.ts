// DATA_DIR holds a secret (the generated device-token key) and personal data (who met which
// officer, when): owner-only, whatever the umask (which only ever removes bits, so every mode is
// set explicitly after creation). A DATA_DIR that already exists with looser modes (every
// install made before this rule: umask 022 gave 0755) is tightened, not refused, unless it is
// a shared directory (sticky bit, like /tmp) or not ours to change: then start is refused.
import { chmod, mkdir, stat, type FileHandle } from 'node:fs/promises';
import { ConfigError } from '../config.js';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;
const STICKY = 0o1000;

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0');

/**
 * Creates `dir` (and missing parents) owner-only, or tightens an existing one to 0700.
 * Resolves the mode it had when it was loosened (to log), undefined otherwise. ConfigError when it
 * is not a directory, is shared, or cannot be changed.
 */
export async function ensurePrivateDir(dir: string): Promise<string | undefined> {
  try {
    await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  } catch (e) {
    throw new ConfigError([
      `DATA_DIR ${dir} cannot be created (${(e as NodeJS.ErrnoException).code}): it, or one of its parents, is not a directory we may write`,
    ]);
  }
  const st = await stat(dir);
  if (!st.isDirectory()) throw new ConfigError([`DATA_DIR ${dir} is not a directory`]);
  if ((st.mode & 0o777) === PRIVATE_DIR_MODE) return undefined;
  if (st.mode & STICKY)
    throw new ConfigError([`DATA_DIR ${dir} is a shared directory (mode ${octal(st.mode)}, like /tmp): give Beacon a directory of its own`]);
  const uid = process.getuid?.();
  if (uid !== undefined && uid !== 0 && st.uid !== uid) {
    throw new ConfigError([`DATA_DIR ${dir} (mode ${octal(st.mode)}) belongs to another user and is open to others: chmod 700 it or choose another directory`]);
  }
  try {
    await chmod(dir, PRIVATE_DIR_MODE);
  } catch (e) {
    throw new ConfigError([`DATA_DIR ${dir} is mode ${octal(st.mode)} and could not be made owner-only (${(e as NodeJS.ErrnoException).code}): chmod 700 it`]);
  }
  return octal(st.mode);
}

/** Makes an open file owner-only (a new file: the umask may have loosened its mode; an old one: written before this rule). */
export async function makePrivate(fh: FileHandle): Promise<void> {
  await fh.chmod(PRIVATE_FILE_MODE);
}
