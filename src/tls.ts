// TLS material from PEM files: the server certificate and key (TLS_CERT_FILE, TLS_KEY_FILE) for
// HTTPS on the orchestrator and WSS on the processor, and the Redis client's CA and client
// certificate (REDIS_TLS_*). config.ts checks every file at start (exists, readable, PEM that
// parses, key matching its certificate) so a bad file is a ConfigError with the setting's name,
// never a stack trace from deep inside fastify, uWS or node-redis.
import { readFileSync } from 'node:fs';
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

function readFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
    throw new Error(`cannot read ${path}: ${why}`, { cause: e });
  }
}

/** Every certificate of a PEM file (a chain or a CA bundle); throws a readable Error when there is none. */
export function parseCertificates(pem: Buffer, path: string): X509Certificate[] {
  const blocks = pem.toString('latin1').match(CERT_BLOCK) ?? [];
  if (blocks.length === 0) throw new Error(`${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch {
      throw new Error(`${path}: certificate ${i + 1} is not valid PEM/X.509`);
    }
  });
}

/** The private key of a PEM file; throws a readable Error for anything else (or an encrypted key). */
export function parsePrivateKey(pem: Buffer, path: string): KeyObject {
  const text = pem.toString('latin1');
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) throw new Error(`${path} holds no PEM private key (-----BEGIN PRIVATE KEY-----)`);
  if (/ENCRYPTED/.test(text)) throw new Error(`${path} is an encrypted key; Beacon takes no passphrase: decrypt it (openssl pkey -in … -out …)`);
  try {
    return createPrivateKey(pem);
  } catch {
    throw new Error(`${path} is not a valid PEM private key`);
  }
}

/** Reads and checks a certificate file (first certificate: the leaf, then its chain). */
export function readCertificateFile(path: string): { pem: Buffer; certs: X509Certificate[] } {
  const pem = readFile(path);
  return { pem, certs: parseCertificates(pem, path) };
}

export function readPrivateKeyFile(path: string): { pem: Buffer; key: KeyObject } {
  const pem = readFile(path);
  return { pem, key: parsePrivateKey(pem, path) };
}

/** A problem with a certificate/key pair, or null: the key must be the certificate's. */
export function pairProblem(certFile: string, keyFile: string): string | null {
  try {
    const { certs } = readCertificateFile(certFile);
    const { key } = readPrivateKeyFile(keyFile);
    return certs[0].checkPrivateKey(key) ? null : `${keyFile} is not the private key of the certificate in ${certFile}`;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The server certificate and key, when TLS_CERT_FILE and TLS_KEY_FILE are set (loadConfig checked them). */
export interface ServerTls {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
}

export function serverTls(config: { TLS_CERT_FILE?: string; TLS_KEY_FILE?: string }): ServerTls | undefined {
  if (!config.TLS_CERT_FILE || !config.TLS_KEY_FILE) return undefined;
  return {
    certFile: config.TLS_CERT_FILE,
    keyFile: config.TLS_KEY_FILE,
    cert: readCertificateFile(config.TLS_CERT_FILE).pem,
    key: readPrivateKeyFile(config.TLS_KEY_FILE).pem,
  };
}

/** TLS options of the Redis client (node's tls.connect): CA to trust, client certificate. */
export interface RedisTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export function redisTls(config: { REDIS_TLS_CA_FILE?: string; REDIS_TLS_CERT_FILE?: string; REDIS_TLS_KEY_FILE?: string }): RedisTls | undefined {
  const out: RedisTls = {};
  if (config.REDIS_TLS_CA_FILE) out.ca = readCertificateFile(config.REDIS_TLS_CA_FILE).pem;
  if (config.REDIS_TLS_CERT_FILE) out.cert = readCertificateFile(config.REDIS_TLS_CERT_FILE).pem;
  if (config.REDIS_TLS_KEY_FILE) out.key = readPrivateKeyFile(config.REDIS_TLS_KEY_FILE).pem;
  return Object.keys(out).length > 0 ? out : undefined;
}
