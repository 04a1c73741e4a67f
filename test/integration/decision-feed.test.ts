/**
 * The decision feed on a real Redis: decisions handed over by this process's own router are
 * taken at once, each once, in stream order, even when the stream brings them back; a batch
 * that does not follow the last decision taken is left to the stream, so nothing another
 * router published in between is skipped.
 */
import t from 'tap';
import { Redis } from 'ioredis';
import { REDIS_URL, deleteKeys, uniqueId } from '../helpers/app.js';
import type { RouterDecision } from '../../server/acd/decisions.js';
import { createDecisionFeed } from '../../server/modules/acd/decision-feed.js';
import { partitionKeys } from '../../server/modules/acd/store.js';
import { createSilentLogger } from '../../server/infra/logger.js';

const decision = (agentId: string): RouterDecision => ({ kind: 'presence_changed', agentId, presence: { kind: 'ready' } }) as unknown as RouterDecision;

/** Resolves when `check` holds, or rejects after `ms`. */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

t.test('decision feed', async (t) => {
  const partition = `feed-${uniqueId('f')}`;
  const keys = partitionKeys(partition);
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const feed = createDecisionFeed(redis, partition, createSilentLogger(), { cursorKey: `${keys.decisions}:cursor` });
  const seen: { id: string; agentId: string }[] = [];
  feed.subscribe((d, id) => {
    seen.push({ id, agentId: (d as unknown as { agentId: string }).agentId });
  });
  t.teardown(async () => {
    await feed.stop();
    await deleteKeys(`acd:{${partition}}`);
    redis.disconnect();
  });
  const append = async (agentId: string, id = '*'): Promise<string> =>
    (await redis.xadd(keys.decisions, id, 'ev', '0-1', 'd', JSON.stringify(decision(agentId)))) as string;

  // The stream is not empty when the feed starts: it starts from its end.
  await append('before-start');
  feed.start();
  await new Promise((r) => setTimeout(r, 100));
  const first = await append('a1');
  await until(() => seen.length === 1, 3000, 'the first decision from the stream');
  t.same(seen, [{ id: first, agentId: 'a1' }], 'the feed starts at the end of the stream and takes what follows');

  await t.test('given a batch that follows the last decision taken when the local router hands it over then it is taken at once, before the stream has it, and once only', async (t) => {
    const base = Number(first.split('-')[0]);
    const ids = [`${base + 1}-0`, `${base + 1}-1`];
    feed.takeLocal({ previous: first, decisions: [{ id: ids[0]!, decision: decision('a2') }, { id: ids[1]!, decision: decision('a3') }] });
    await until(() => seen.length === 3, 1000, 'the local batch');
    t.same(seen.slice(1), [{ id: ids[0], agentId: 'a2' }, { id: ids[1], agentId: 'a3' }], 'taken in order without the stream holding them');
    // The stream then brings the same decisions (as the router's write puts them there).
    await append('a2', ids[0]);
    await append('a3', ids[1]);
    const next = await append('a4');
    await until(() => seen.length >= 4, 3000, 'the decision after the local batch');
    await new Promise((r) => setTimeout(r, 100));
    t.same(seen.slice(3), [{ id: next, agentId: 'a4' }], 'read back from the stream, the local batch is not taken again; what follows is');
    t.equal(await redis.get(`${keys.decisions}:cursor`), next, 'the saved place is the last decision taken');
  });

  await t.test('given a batch that does not follow the last decision taken when the local router hands it over then the feed leaves it to the stream and takes the gap first', async (t) => {
    const before = seen.length;
    // Another router's decision lands in the stream; this process's router, unaware of it,
    // hands over a batch that follows its own previous decision, not the stream's last.
    const other = await append('other-router');
    const base = Number(other.split('-')[0]);
    const mine = `${base + 1}-0`;
    feed.takeLocal({ previous: '1-0', decisions: [{ id: mine, decision: decision('mine') }] });
    await until(() => seen.length >= before + 1, 3000, 'the other router\'s decision');
    await append('mine', mine);
    await until(() => seen.length >= before + 2, 3000, 'the local batch from the stream');
    t.same(seen.slice(before), [{ id: other, agentId: 'other-router' }, { id: mine, agentId: 'mine' }], 'the gap first, then the batch, each once, in stream order');
  });

  await t.test('given a feed that was never started when the local router hands over a batch then nothing is taken', async (t) => {
    const idle = createDecisionFeed(redis, partition, createSilentLogger());
    let taken = 0;
    idle.subscribe(() => {
      taken += 1;
    });
    idle.takeLocal({ previous: undefined, decisions: [{ id: '99999999999999-0', decision: decision('x') }] });
    idle.takeLocal({ previous: '0-0', decisions: [{ id: '99999999999999-1', decision: decision('y') }] });
    await new Promise((r) => setTimeout(r, 50));
    t.equal(taken, 0, 'a feed that does not know where it starts takes nothing');
    await idle.stop();
  });
});
