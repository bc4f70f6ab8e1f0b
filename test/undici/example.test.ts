import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startNode } from '../cli/child.ts';

test('npm run example:http: the dispatcher and the ring follow 3 -> 5 -> 2 pods, no request fails, exits 0', { timeout: 180_000 }, async () => {
  const run = startNode('examples/http/run.ts');
  const { code } = await run.exited;
  const out = run.stdout.join('\n');
  assert.equal(code, 0, `example exited ${code}\n${out}\n${run.stderr.join('\n')}`);
  assert.match(out, /^scaled to 5: answered by api-0 x\d+, api-1 x\d+, api-2 x\d+, api-3 x\d+, api-4 x\d+/m);
  assert.match(out, /^scaled to 2: 50 requests in a row on api-0 and api-1 only/m);
  assert.match(out, /^ring over 2: (user:\d->api-[01] ?){6}$/m);
  assert.match(out, /^no request failed$/m);
});
