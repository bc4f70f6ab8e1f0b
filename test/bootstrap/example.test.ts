import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runToSuccess } from '../cli/child.ts';

test('npm run example:bootstrap: three processes form one cluster and print its seed', { timeout: 90_000 }, async () => {
  const out = await runToSuccess('examples/bootstrap/run.ts');
  assert.match(out, /^ {2}\[app-0\] app-0: formed a new cluster; seed: app-0@127\.1\.0\.1:8558$/m);
  assert.match(out, /^ {2}\[app-1\] app-1: joined the cluster; seed: app-0@127\.1\.0\.1:8558$/m);
  assert.match(out, /^ {2}\[app-2\] app-2: joined the cluster; seed: app-0@127\.1\.0\.1:8558$/m);
  assert.match(out, /^one cluster: app-0 formed it, the other 2 joined; seed: app-0@127\.1\.0\.1:8558$/m);
});
