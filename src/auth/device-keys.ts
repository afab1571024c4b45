// Where device-token keys come from (SPEC §2: "shared secret, public key, JWKS is configuration").
// Exactly one of JWT_SECRET (HS256), JWT_PUBLIC_KEY (PEM, RS256 or ES256) or JWKS_URL. Embedded
// mode with none of them generates a secret at first start into DATA_DIR/jwt-secret (mode 0600,
// DATA_DIR 0700: util/private-files.ts) and reuses it afterwards, so `npm run token` and the
// server agree without any setup.
import { createPublicKey, randomBytes } from 'node:crypto';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRemoteJWKSet, importSPKI, SignJWT, type CryptoKey, type JWTVerifyGetKey } from 'jose';
import { ConfigError, type Config } from '../config.js';
import type { PublicProfile, Role } from '../protocol/index.js';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../util/private-files.js';

export const JWT_SECRET_FILE = 'jwt-secret';

export type DeviceKeySource = 'JWT_SECRET' | 'DATA_DIR' | 'JWT_PUBLIC_KEY' | 'JWKS_URL';

export interface DeviceKeys {
  source: DeviceKeySource;
  /** What jwtVerify takes: a key, or a key set resolving keys by `kid`. */
  key: Uint8Array | CryptoKey | JWTVerifyGetKey;
  /** Algorithms accepted; a token with any other `alg` (`none` included) is refused. */
  algorithms: string[];
  /** HS256 secret when the orchestrator can mint tokens itself (`npm run token`, tests, demo). */
  secret?: Uint8Array;
  /** Absolute path of the generated secret file, when that is the source. */
  secretFile?: string;
}

export type DeviceKeyConfig = Pick<Config, 'JWT_SECRET' | 'JWT_PUBLIC_KEY' | 'JWKS_URL' | 'DATA_DIR'>;

/**
 * Resolves the verification keys. `generate`: create DATA_DIR/jwt-secret when nothing is
 * configured (embedded mode); otherwise that case is a ConfigError.
 */
export async function resolveDeviceKeys(config: DeviceKeyConfig, options: { generate: boolean }): Promise<DeviceKeys> {
  const set = (['JWT_SECRET', 'JWT_PUBLIC_KEY', 'JWKS_URL'] as const).filter((k) => config[k]);
  if (set.length > 1) throw new ConfigError([`set only one of JWT_SECRET, JWT_PUBLIC_KEY, JWKS_URL (found ${set.join(', ')})`]);
  if (config.JWT_SECRET) {
    if (Buffer.byteLength(config.JWT_SECRET) < 16) throw new ConfigError(['JWT_SECRET must be at least 16 bytes (32 random bytes recommended)']);
    const secret = new TextEncoder().encode(config.JWT_SECRET);
    return { source: 'JWT_SECRET', key: await hmacKey(secret), algorithms: ['HS256'], secret };
  }
  if (config.JWT_PUBLIC_KEY) return publicKey(config.JWT_PUBLIC_KEY);
  if (config.JWKS_URL) {
    return { source: 'JWKS_URL', key: createRemoteJWKSet(new URL(config.JWKS_URL)), algorithms: ['RS256', 'ES256'] };
  }
  const file = join(config.DATA_DIR, JWT_SECRET_FILE);
  const secret = await readOrCreateSecret(file, options.generate);
  return { source: 'DATA_DIR', key: await hmacKey(secret), algorithms: ['HS256'], secret, secretFile: file };
}

/**
 * The secret imported once as a WebCrypto key: jose would otherwise import raw bytes on every
 * verification, which halves the assignment throughput.
 */
function hmacKey(secret: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', new Uint8Array(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
}

async function publicKey(pemRaw: string): Promise<DeviceKeys> {
  // Environments often carry PEMs with literal "\n": accept both.
  const pem = pemRaw.includes('\\n') ? pemRaw.replace(/\\n/g, '\n') : pemRaw;
  let alg: 'RS256' | 'ES256';
  try {
    const k = createPublicKey(pem);
    if (k.asymmetricKeyType === 'rsa') alg = 'RS256';
    else if (k.asymmetricKeyType === 'ec' && k.asymmetricKeyDetails?.namedCurve === 'prime256v1') alg = 'ES256';
    else throw new Error(`unsupported key type ${k.asymmetricKeyType} (RSA or EC P-256 expected)`);
  } catch (e) {
    throw new ConfigError([`JWT_PUBLIC_KEY: not a usable PEM public key: ${(e as Error).message}`]);
  }
  return { source: 'JWT_PUBLIC_KEY', key: await importSPKI(pem, alg), algorithms: [alg] };
}

async function readOrCreateSecret(file: string, generate: boolean): Promise<Uint8Array> {
  if (generate) await ensurePrivateDir(join(file, '..'));
  try {
    const text = (await readFile(file, 'utf8')).trim();
    if (text.length < 32) throw new ConfigError([`${file} holds no usable secret; delete it to generate a new one`]);
    await tightenSecretFile(file);
    return new TextEncoder().encode(text);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (!generate)
    throw new ConfigError([`no device-token key configured: set JWT_SECRET, JWT_PUBLIC_KEY or JWKS_URL (or start embedded mode once to create ${file})`]);
  const text = randomBytes(32).toString('base64url');
  try {
    // 'wx': two processes starting at once cannot both write; the loser reads the winner's.
    await writeFile(file, text + '\n', { mode: PRIVATE_FILE_MODE, flag: 'wx' });
    await chmod(file, PRIVATE_FILE_MODE); // mode is masked by umask at creation
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return readOrCreateSecret(file, false);
    throw e;
  }
  return new TextEncoder().encode(text);
}

/** A secret file written before the 0600 rule (or by hand) is made owner-only; refused if it cannot be. */
async function tightenSecretFile(file: string): Promise<void> {
  const { mode } = await stat(file);
  if ((mode & 0o777) === PRIVATE_FILE_MODE) return;
  try {
    await chmod(file, PRIVATE_FILE_MODE);
  } catch (e) {
    throw new ConfigError([
      `${file} is mode ${(mode & 0o777).toString(8)} and could not be made owner-only (${(e as NodeJS.ErrnoException).code}): chmod 600 it`,
    ]);
  }
}

export interface MintOptions {
  role: Role;
  sub: string;
  acct?: string;
  profile?: PublicProfile;
  /** Lifetime in seconds (default 1 hour). */
  ttlS?: number;
  issuer?: string;
  audience?: string;
}

/** Signs a device token with an HS256 secret, as a simple identity provider would. */
export async function mintDeviceToken(secret: Uint8Array, o: MintOptions): Promise<string> {
  const jwt = new SignJWT({ acct: o.acct ?? `acct-${o.sub}`, role: o.role, ...o.profile })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(o.sub)
    .setIssuedAt()
    .setExpirationTime(`${o.ttlS ?? 3600}s`);
  if (o.issuer) jwt.setIssuer(o.issuer);
  if (o.audience) jwt.setAudience(o.audience);
  return jwt.sign(secret);
}
