// TLS material for tests, generated on the fly with `openssl` into a temp dir (EC P-256: fast):
// a CA, a server certificate for localhost / 127.0.0.1 (SAN) signed by it, a client certificate
// signed by it, a server certificate for a public name only (beacon.example, as a real deployment
// has), and a second, unrelated CA (a client trusting only that one must be refused).
// Plus an HTTPS request helper that trusts a given CA (the global fetch cannot be given one).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const OPENSSL = process.env.OPENSSL_BIN ?? 'openssl';

export interface TestCerts {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** Signed by the CA for DNS:beacon.example only: does not cover 127.0.0.1. */
  publicCert: string;
  publicKey: string;
  /** A CA that signed nothing here. */
  otherCaCert: string;
  /** PEM contents of caCert. */
  ca: Buffer;
  dispose(): void;
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  await execFileP(OPENSSL, args, { cwd: dir });
}

async function newKey(dir: string, name: string): Promise<void> {
  await openssl(dir, 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', name);
}

async function newCa(dir: string, name: string, cn: string): Promise<void> {
  await newKey(dir, `${name}.key`);
  await openssl(
    dir,
    'req',
    '-x509',
    '-new',
    '-key',
    `${name}.key`,
    '-subj',
    `/CN=${cn}`,
    '-days',
    '2',
    '-out',
    `${name}.crt`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
}

/** A leaf certificate `name`.crt/.key signed by ca.crt, with the given extensions. */
async function newLeaf(dir: string, name: string, cn: string, ext: string, serial: number): Promise<void> {
  await newKey(dir, `${name}.key`);
  await openssl(dir, 'req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`);
  writeFileSync(join(dir, `${name}.ext`), ext);
  await openssl(
    dir,
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-set_serial',
    String(serial),
    '-days',
    '2',
    '-out',
    `${name}.crt`,
    '-extfile',
    `${name}.ext`,
  );
}

export async function makeCerts(): Promise<TestCerts> {
  const dir = mkdtempSync(join(tmpdir(), 'beacon-tls-'));
  try {
    await Promise.all([newCa(dir, 'ca', 'Beacon Test CA'), newCa(dir, 'other-ca', 'Unrelated Test CA')]);
    await Promise.all([
      // clientAuth too: Redis Cluster nodes present their server certificate to each other on the
      // cluster bus, which always requires a client certificate.
      newLeaf(
        dir,
        'server',
        'localhost',
        'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n',
        2,
      ),
      newLeaf(dir, 'client', 'beacon-test-client', 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n', 3),
      newLeaf(
        dir,
        'public',
        'beacon.example',
        'subjectAltName=DNS:beacon.example\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n',
        4,
      ),
    ]);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const p = (f: string) => join(dir, f);
  return {
    dir,
    caCert: p('ca.crt'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
    publicCert: p('public.crt'),
    publicKey: p('public.key'),
    otherCaCert: p('other-ca.crt'),
    ca: readFileSync(p('ca.crt')),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface HttpsAnswer {
  status: number;
  body: string;
}

/** One HTTPS request trusting `ca` only (rejects on a certificate it cannot verify). */
export function httpsFetch(url: string, o: { ca?: Buffer; method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: o.method ?? 'GET', headers: o.headers, ca: o.ca, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(o.body);
  });
}
