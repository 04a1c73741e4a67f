import t from 'tap';
import { createRedis } from '../../server/infra/redis.js';
import { createLiveCallStore, type LiveCallRecord } from '../../server/modules/voice/store.js';
import { REDIS_URL, deleteKeys, uniqueId } from '../helpers/app.js';

const call = (callId: string, state: LiveCallRecord['state'], legSeq: number): LiveCallRecord => ({
  server: 'main', callId, interactionId: `i-${callId}`, direction: 'inbound', entry: '100', callerNumber: '600100200', callerName: '',
  queueId: 'sales', arrivedAt: 1, state, taskId: `task-${callId}`, taskSeq: 1, legs: {}, others: [], legSeq, queueMs: 0, talkGrossMs: 0, holdMs: 0, transfers: 0,
});

t.test('given live calls saved over and over when another process reads them then it finds each call once, as last saved, and none removed', async (t) => {
  const prefix = `${uniqueId('lcs')}:`;
  t.teardown(() => deleteKeys(prefix));
  const first = createRedis({ url: REDIS_URL, prefix }, 'test-a');
  const second = createRedis({ url: REDIS_URL, prefix }, 'test-b');
  t.teardown(() => {
    first.disconnect();
    second.disconnect();
  });
  const a = createLiveCallStore(first, 7);
  // Saves of one call issued back to back (the first one lists the call, the rest write the value).
  await Promise.all([a.save(call('c1', 'queued', 1)), a.save(call('c1', 'queued', 2)), a.save(call('c1', 'connected', 3))]);
  await a.save(call('c2', 'queued', 1));
  await a.save(call('c3', 'queued', 1));
  await a.remove('c3');
  // Saved again after its removal (a late event): listed again, not left as a value nobody reads.
  await a.save(call('c3', 'connected', 2));
  await a.remove('c2');

  const b = createLiveCallStore(second, 7);
  const loaded = (await b.loadAll()).sort((x, y) => x.callId.localeCompare(y.callId));
  t.same(loaded.map((c) => [c.callId, c.state, c.legSeq]), [['c1', 'connected', 3], ['c3', 'connected', 2]]);
  t.same((await second.smembers('voice:t7:calls')).sort(), ['c1', 'c3'], 'the set holds exactly the live calls');
  t.equal(await second.exists('voice:t7:call:c2'), 0, 'a removed call leaves nothing');

  // The process that took the calls over saves and removes them as its own.
  await b.save(call('c1', 'ended', 4));
  await b.remove('c3');
  t.same((await createLiveCallStore(first, 7).loadAll()).map((c) => [c.callId, c.state, c.legSeq]), [['c1', 'ended', 4]]);
  t.same(await second.smembers('voice:t7:calls'), ['c1']);
});
