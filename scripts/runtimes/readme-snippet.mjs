/**
 * The README's first snippet, from the installed package, on whatever runs this file
 * (node, bun, deno): `peers()` then `watchPeers()` for the Service nginx, port web.
 * Pointed at the test cluster's DNS server (there is no cluster DNS here), and the same
 * set read again from the fake Kubernetes API over TLS (its CA passed as kubernetes.ca).
 * Prints what it finds; exits 0 only when every step saw web-0..web-2.
 */
import { peers, watchPeers } from 'headless-sd';
import { createDemoCluster, createFakeKubernetesApi, createTestServer } from 'headless-sd/testing';

const names = (list) => list.map((p) => p.name).sort().join(',');
const expected = 'web-0,web-1,web-2';
const runtime = process.versions.bun ? `bun ${process.versions.bun}` : process.versions.deno ? `deno ${process.versions.deno}` : `node ${process.version}`;

const cluster = await createDemoCluster();
const dns = await createTestServer({ cluster, port: 0 });
const api = await createFakeKubernetesApi({ cluster, tls: true, token: 'snippet-token' });
const where = { port: 'web', namespace: 'default', servers: dns.servers };
try {
  // The snippet: every ready pod, then the first change of a watch (the whole set, all added).
  const members = await peers('nginx', where);
  console.log(`peers(): ${names(members)}`);
  let added = [];
  const watcher = watchPeers('nginx', { ...where, signal: AbortSignal.timeout(20_000) });
  for await (const change of watcher) {
    added = change.added;
    break; // the first change is the whole set; leaving the loop does not close the watcher
  }
  watcher.close();
  console.log(`watchPeers(): ${names(added)}`);
  // The Kubernetes source over TLS: the cluster CA must be used (Bun replaces `import 'undici'`).
  const fromApi = await peers('nginx', {
    port: 'web',
    source: 'kubernetes',
    namespace: 'default',
    kubernetes: { url: api.url, ca: api.ca, token: 'snippet-token' },
  });
  console.log(`peers(source: 'kubernetes', TLS): ${names(fromApi)}`);
  const ok = [members, added, fromApi].every((list) => names(list) === expected);
  console.log(`${ok ? 'ok' : 'FAILED'}: the README snippet on ${runtime}`);
  process.exitCode = ok ? 0 : 1;
} finally {
  await api.close();
  await dns.close();
}
