import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runToSuccess } from '../cli/child.ts';

test('npm run example:grpc: the client follows 3 -> 5 -> 2 pods, no call fails, exits 0', { timeout: 180_000 }, async () => {
  const out = await runToSuccess('examples/grpc/run.ts');
  assert.match(out, /^scaled to 5: answered by greeter-0 x\d+, greeter-1 x\d+, greeter-2 x\d+, greeter-3 x\d+, greeter-4 x\d+/m);
  assert.match(out, /^scaled to 2: 50 calls in a row on greeter-0 and greeter-1 only/m);
  assert.match(out, /^no call failed$/m);
});
