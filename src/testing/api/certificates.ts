/**
 * Test certificates for the fake Kubernetes API, made with `openssl` in a temp dir removed at
 * once: a CA and a server certificate for it, a client CA and client certificates signed by it.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A CA's certificate and key, PEM. */
export interface TestCa {
  cert: string;
  key: string;
}

/** A certificate and its key, PEM. */
export interface TestCertificate {
  cert: string;
  key: string;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Runs `fn` in a fresh temp dir, removed after; openssl failures become errors that say what needed it (`option`). */
async function inTempDir<T>(option: string, fn: (path: (name: string) => string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'headless-sd-certs-'));
  try {
    return await fn((name) => join(dir, name));
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error(`createFakeKubernetesApi({ ${option}: true }) needs the openssl command (apt-get install openssl)`, { cause: err });
    throw new Error(`openssl failed to make the test certificates: ${e.stderr?.trim() || e.message}`, { cause: err });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A self-signed CA named `cn`, valid two days. `option`: the fake's option that needs it, for errors. */
export function makeCa(cn: string, option: string): Promise<TestCa> {
  return inTempDir(option, async (path) => {
    await run('openssl', [
      'req', '-x509', ...EC, '-keyout', path('ca.key'), '-out', path('ca.crt'), '-days', '2',
      '-subj', `/CN=${cn}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    const [cert, key] = await Promise.all([readFile(path('ca.crt'), 'utf8'), readFile(path('ca.key'), 'utf8')]);
    return { cert, key };
  });
}

/** A certificate for `subject` (`/CN=...`) with the X.509 `extensions` (an extfile's lines), signed by `ca`, valid two days. */
export function issueCertificate(ca: TestCa, subject: string, extensions: string, option: string): Promise<TestCertificate> {
  return inTempDir(option, async (path) => {
    await Promise.all([writeFile(path('ca.crt'), ca.cert), writeFile(path('ca.key'), ca.key, { mode: 0o600 }), writeFile(path('cert.ext'), extensions)]);
    await run('openssl', ['req', ...EC, '-keyout', path('cert.key'), '-out', path('cert.csr'), '-subj', subject]);
    await run('openssl', [
      'x509', '-req', '-in', path('cert.csr'), '-CA', path('ca.crt'), '-CAkey', path('ca.key'),
      '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '2', '-extfile', path('cert.ext'), '-out', path('cert.crt'),
    ]);
    const [cert, key] = await Promise.all([readFile(path('cert.crt'), 'utf8'), readFile(path('cert.key'), 'utf8')]);
    return { cert, key };
  });
}

/** A CA and a server certificate for 127.0.0.1, ::1, localhost (and `host`). */
export async function makeCertificates(host: string): Promise<{ ca: string; key: string; cert: string }> {
  const sans = new Set(['IP:127.0.0.1', 'IP:::1', 'DNS:localhost']);
  sans.add(isIP(host) ? `IP:${host}` : `DNS:${host}`);
  const ca = await makeCa('headless-sd test CA', 'tls');
  const server = await issueCertificate(
    ca,
    '/CN=localhost',
    `subjectAltName=${[...sans].join(',')}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n`,
    'tls',
  );
  return { ca: ca.cert, ...server };
}

/** A client certificate naming `user` (its CN, in the group system:masters), signed by `ca`. */
export function issueClientCertificate(ca: TestCa, user: string): Promise<TestCertificate> {
  return issueCertificate(ca, `/O=system:masters/CN=${user}`, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n', 'clientCertificate');
}
