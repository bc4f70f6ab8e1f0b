import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runToSuccess } from '../cli/child.ts';

test('npm run example:http: the dispatcher and the ring follow 3 -> 5 -> 2 pods, no request fails, exits 0', { timeout: 180_000 }, async () => {
  const out = await runToSuccess('examples/http/run.ts');
  assert.match(out, /^scaled to 5: answered by api-0 x\d+, api-1 x\d+, api-2 x\d+, api-3 x\d+, api-4 x\d+/m);
  assert.match(out, /^scaled to 2: 50 requests in a row on api-0 and api-1 only/m);
  assert.match(out, /^ring over 2: (user:\d->api-[01] ?){6}$/m);
  assert.match(out, /^no request failed$/m);
});
