import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Makes a CA and a server certificate for 127.0.0.1, ::1, localhost (and `host`) with `openssl`, in a temp dir removed at once. */
export async function makeCertificates(host: string): Promise<{ ca: string; key: string; cert: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'headless-sd-api-'));
  const path = (name: string): string => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const sans = new Set(['IP:127.0.0.1', 'IP:::1', 'DNS:localhost']);
  if (isIP(host)) sans.add(`IP:${host}`);
  else sans.add(`DNS:${host}`);
  try {
    await run('openssl', [
      'req', '-x509', ...ec, '-keyout', path('ca.key'), '-out', path('ca.crt'), '-days', '2',
      '-subj', '/CN=headless-sd test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await run('openssl', ['req', ...ec, '-keyout', path('server.key'), '-out', path('server.csr'), '-subj', '/CN=localhost']);
    await writeFile(
      path('server.ext'),
      `subjectAltName=${[...sans].join(',')}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n`,
    );
    await run('openssl', [
      'x509', '-req', '-in', path('server.csr'), '-CA', path('ca.crt'), '-CAkey', path('ca.key'),
      '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '2', '-extfile', path('server.ext'), '-out', path('server.crt'),
    ]);
    const [ca, key, cert] = await Promise.all(['ca.crt', 'server.key', 'server.crt'].map((f) => readFile(path(f), 'utf8')));
    return { ca: ca!, key: key!, cert: cert! };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('createFakeKubernetesApi({ tls: true }) needs the openssl command (apt-get install openssl)', { cause: err });
    throw new Error(`openssl failed to make the test certificates: ${e.stderr?.trim() || e.message}`, { cause: err });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
