import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

// The built package, as `require('headless-sd')` and `require('headless-sd/testing')` load it.
// CI builds before `npm test`; a checkout without dist/ builds here.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(import.meta.url);

function built(): void {
  if (!existsSync(`${ROOT}dist/index.cjs`) || !existsSync(`${ROOT}dist/testing/index.cjs`)) {
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  }
}

test('CommonJS: classes are shared between headless-sd and headless-sd/testing', { timeout: 300_000 }, async () => {
  built();
  const main = require(`${ROOT}dist/index.cjs`) as typeof import('../../src/index.ts');
  const testing = require(`${ROOT}dist/testing/index.cjs`) as typeof import('../../src/testing/index.ts');
  assert.throws(() => testing.createTestCluster({ ttl: -1 }), main.InvalidArgumentError);
  assert.throws(() => testing.parsePodsSpec('A=1'), main.InvalidArgumentError);
  // A DnsError made by the testing entry's code is the main entry's DnsError.
  const cluster = testing.createTestCluster();
  const dns = await testing.createTestServer({ cluster });
  try {
    await assert.rejects(main.peers('nothere', { namespace: 'default', servers: dns.servers, timeout: 2000 }), main.DnsError);
  } finally {
    await dns.close();
  }
});

test('ESM: the same holds for import', { timeout: 300_000 }, async () => {
  built();
  const main = (await import(`${ROOT}dist/index.js`)) as typeof import('../../src/index.ts');
  const testing = (await import(`${ROOT}dist/testing/index.js`)) as typeof import('../../src/testing/index.ts');
  assert.throws(() => testing.createTestCluster({ ttl: -1 }), main.InvalidArgumentError);
});
