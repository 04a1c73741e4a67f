import t from 'tap';
import { createLanes } from '../../../server/infra/lanes.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('steps of one key run one at a time in order; other keys do not wait; a failed step does not stop the lane', async (t) => {
  const serial = createLanes();
  const seen: string[] = [];
  const slow = serial('a', async () => {
    await tick(30);
    seen.push('a1');
    return 1;
  });
  const failing = serial('a', async () => {
    seen.push('a2');
    throw new Error('boom');
  });
  const after = serial('a', async () => {
    seen.push('a3');
    return 3;
  });
  const other = serial('b', async () => {
    seen.push('b1');
    return 'b';
  });
  t.equal(await other, 'b');
  t.same(seen, ['b1'], 'key b ran while key a was still busy');
  t.equal(await slow, 1);
  await t.rejects(failing, /boom/, 'the failing step reports its own error');
  t.equal(await after, 3);
  t.same(seen, ['b1', 'a1', 'a2', 'a3'], 'key a ran in order, and on after the failure');
});
