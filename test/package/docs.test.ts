import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DnsClient, DnsError } from '../../src/index.ts';
import { createDemoCluster, createTestServer } from '../../src/testing/index.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const REPO = 'https://github.com/headless-sd/headless-sd';
const read = (path: string): string => readFileSync(`${ROOT}${path}`, 'utf8');

describe('what reaches npm users', () => {
  test('package.json names the repository, homepage and issue tracker', () => {
    const pkg = JSON.parse(read('package.json')) as { repository?: { url?: string }; homepage?: string; bugs?: { url?: string } };
    assert.equal(pkg.repository?.url, `git+${REPO}.git`);
    assert.equal(pkg.homepage, `${REPO}#readme`);
    assert.equal(pkg.bugs?.url, `${REPO}/issues`);
  });

  test("the README's links are absolute (they resolve on the npm page) and point at files that exist", () => {
    const readme = read('README.md');
    const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
    assert.ok(links.length > 5);
    for (const link of links) {
      assert.match(link, /^(https?:\/\/|#)/, `relative link ${link}`);
      const inRepo = new RegExp(`^${REPO}/(?:blob|tree)/main/(.+?)/?(?:#.*)?$`).exec(link);
      if (inRepo) assert.ok(existsSync(`${ROOT}${inRepo[1]}`), `${link}: ${inRepo[1]} is not in the repository`);
    }
    assert.ok(links.some((l) => l.startsWith(`${REPO}/blob/main/docs/`)), 'links into docs/');
    assert.ok(links.some((l) => l.startsWith(`${REPO}/`) && l.includes('/examples/')), 'links into examples/');
  });

  test('docs name no internal issue numbers', () => {
    for (const file of readdirSync(`${ROOT}docs`)) {
      assert.doesNotMatch(read(`docs/${file}`), /\bissue \d+|\(#\d+\)/i, file);
    }
  });

  test("docs/testing.md's garbage fault gives ETIMEOUT, as it says", async () => {
    assert.match(read('docs/testing.md'), /garbage: true \}\);.*ETIMEOUT/);
    const dns = await createTestServer({ cluster: await createDemoCluster() });
    const client = new DnsClient({ servers: dns.servers, timeout: 300, attempts: 1 });
    try {
      dns.fault({ garbage: true });
      await assert.rejects(client.resolve4('web-0.nginx.default.svc.cluster.local'), (err: DnsError) => err.code === 'ETIMEOUT');
    } finally {
      client.close();
      await dns.close();
    }
  });

  test('the serve port in the docs is the default, 5300, not the mDNS port', () => {
    for (const file of ['README.md', 'docs/cli.md', 'docs/testing.md', 'docs/api.md']) {
      const text = read(file).replace(/not 5353, the mDNS port/g, '');
      assert.doesNotMatch(text, /serve[^\n]*5353|5353[^\n]*serve/, file);
    }
  });
});
