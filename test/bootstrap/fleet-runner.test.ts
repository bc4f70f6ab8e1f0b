import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../../src/index.ts';
import { createFleet, runFleet } from '../../src/testing/index.ts';
import type { FleetOptions } from '../../src/testing/index.ts';
import { activeResources, assertNoLeaks } from '../helpers/handles.ts';

const quick: Partial<FleetOptions> = { stableFor: 300, minInterval: 100, probeInterval: 100, maxStartDelay: 300 };

describe('the fleet runner (headless-sd/testing)', () => {
  test('bad options throw InvalidArgumentError', async () => {
    for (const bad of [{ replicas: 0 }, { replicas: 2.5 }, { replicas: 3, loss: 2 }, { replicas: 3, probe: 'grpc' }, { replicas: 3, service: 'Bad_Name' }, { replicas: 3, min: 0 }]) {
      await assert.rejects(createFleet(bad as FleetOptions), InvalidArgumentError, JSON.stringify(bad));
    }
  });

  test('members as async tasks: own pods and addresses, outcome with forms, joins and timing', async () => {
    const before = activeResources();
    const outcome = await runFleet({ ...quick, replicas: 4, probe: 'memory' });
    assert.equal(outcome.forms, 1);
    assert.equal(outcome.joins, 3);
    assert.equal(outcome.clusters, 1);
    assert.deepEqual(outcome.members.map((m) => m.name).sort(), ['app-0', 'app-1', 'app-2', 'app-3']);
    assert.equal(new Set(outcome.members.map((m) => m.address)).size, 4);
    for (const m of outcome.members) {
      assert.match(m.address, /^127\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.\d+\.\d+$/);
      assert.equal(m.id, `${m.address}:7626`);
      assert.equal(m.incarnation, 0);
      assert.ok(m.readyAt !== null && m.decidedAt !== null && m.decidedAt >= m.readyAt);
      assert.equal(Object.keys(m).includes('client'), false);
    }
    assert.equal(outcome.members.find((m) => m.decision?.action === 'form')!.name, 'app-0');
    await assertNoLeaks(before);
  });

  test('close() while members are forming ends them (ECANCELLED) and leaves nothing running', async () => {
    const before = activeResources();
    const fleet = await createFleet({ ...quick, replicas: 3, maxStartDelay: 100, stableFor: 60_000 });
    const forming = fleet.form();
    await new Promise((resolve) => setTimeout(resolve, 500));
    await fleet.close();
    const outcome = await forming;
    assert.equal(outcome.forms, 0);
    for (const e of outcome.errors) assert.equal((e as { code?: string }).code, 'ECANCELLED');
    await assertNoLeaks(before);
  });
});
