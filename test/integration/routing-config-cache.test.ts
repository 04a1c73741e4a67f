/**
 * The configuration routing and calls read is cached per tenant: a write through the service is
 * seen at once, a write by another process once the cache time has passed, and repeated reads
 * in between do not touch the database.
 */
import t from 'tap';
import { buildTestApp } from '../helpers/app.js';
import { createRoutingService } from '../../server/modules/routing/service.js';
import { createRoutingStore } from '../../server/modules/routing/store.js';

t.test('routing configuration view', async (t) => {
  const app = await buildTestApp(t);
  let clock = 1_000_000;
  const deps = (countQueries: { n: number; gate?: Promise<void> }) => {
    const store = createRoutingStore(app.mysql);
    const counted = new Proxy(store, {
      get(target, key: keyof typeof store) {
        const v = target[key];
        return typeof v === 'function'
          ? async (...args: unknown[]) => {
              countQueries.n += 1;
              // A database that takes long to answer: held until the test lets it go.
              if (countQueries.gate) await countQueries.gate;
              return (v as (...a: unknown[]) => unknown).apply(target, args);
            }
          : v;
      },
    });
    return { store: counted, events: app.events, audit: async () => undefined, clock: { now: () => clock }, userExists: async () => true, configCacheMs: 1000 };
  };
  const readsA: { n: number; gate?: Promise<void> } = { n: 0 };
  const readsB: { n: number; gate?: Promise<void> } = { n: 0 };
  const a = createRoutingService(deps(readsA));
  const b = createRoutingService(deps(readsB)); // another process on the same database
  const tenant = app.tenantId;
  const queue = (wrapUpSeconds: number) => ({ name: 'Cached', strategy: 'longest_idle' as const, serviceLevel: { percent: 80, withinSeconds: 20 }, wrapUpSeconds, voice: { announceEverySeconds: 30 } });

  await a.putQueue(tenant, 'cached', queue(5), 'test', 'r1');
  t.same(await a.afterCall(tenant, 'cached'), { wrapUpMs: 5000, dispositions: [] }, 'the writer sees its write');
  t.same(await b.afterCall(tenant, 'cached'), { wrapUpMs: 5000, dispositions: [] }, 'another process reads it on first use');

  readsB.n = 0;
  for (let i = 0; i < 50; i++) {
    await b.load(tenant);
    await b.voiceRules(tenant, 'cached');
    await b.recordingPolicy(tenant, 'cached');
  }
  t.equal(readsB.n, 0, '150 reads within the cache time touch the database 0 times');

  await a.putQueue(tenant, 'cached', queue(9), 'test', 'r2');
  t.same(await a.afterCall(tenant, 'cached'), { wrapUpMs: 9000, dispositions: [] }, 'the writer sees its change at once');
  t.same(await b.afterCall(tenant, 'cached'), { wrapUpMs: 5000, dispositions: [] }, 'another process still has the older view inside the cache time');
  clock += 1001;
  t.same(await b.afterCall(tenant, 'cached'), { wrapUpMs: 9000, dispositions: [] }, 'and the new one once the cache time has passed');

  readsB.n = 0;
  clock += 1001;
  await b.load(tenant);
  t.equal(readsB.n, 1, 'an unchanged configuration costs one version read per cache time');

  // Past a quarter of the cache time the view is checked again ahead of time, behind the read: a read
  // never waits for a slow database while its view is still trusted.
  readsB.n = 0;
  let release: () => void = () => undefined;
  readsB.gate = new Promise<void>((r) => (release = r));
  clock += 600;
  const ahead = await Promise.race([b.load(tenant).then(() => 'answered'), new Promise<string>((r) => setTimeout(() => r('waited for the database'), 1000))]);
  t.equal(ahead, 'answered', 'past a quarter of the cache time a read is answered from the view at once');
  t.equal(readsB.n, 1, 'and the version is checked behind it');
  await b.load(tenant);
  t.equal(readsB.n, 1, 'one check at a time');
  clock += 500; // 1100 ms after the last finished check, which is still on its way
  const stale = await Promise.race([b.load(tenant).then(() => 'answered'), new Promise<string>((r) => setTimeout(() => r('waited for the database'), 1000))]);
  t.equal(stale, 'answered', 'just past the cache time, with the check on its way, a read is answered from the view');
  clock += 4000; // 5100 ms: past the cache time and the grace of a check on its way
  const waiting = b.load(tenant);
  const early = await Promise.race([waiting.then(() => 'answered'), new Promise<string>((r) => setTimeout(() => r('waiting'), 200))]);
  t.equal(early, 'waiting', 'past the cache time and its grace with no finished check, a read waits for the check');
  t.equal(readsB.n, 1, 'still one check at a time');
  readsB.gate = undefined;
  release();
  t.ok((await waiting).queues.some((q) => q.id === 'cached'), 'and gets the view once the database answers');
  t.equal(readsB.n, 1, 'the check ahead of time served the waiting read (no second check)');

  const concurrent = await Promise.all(Array.from({ length: 20 }, () => (clock += 1, b.load(tenant))));
  t.ok(concurrent.every((c) => c.queues.some((q) => q.id === 'cached')), 'concurrent reads all get the configuration');

  await a.remove('queue', tenant, 'cached', 'test', 'r3');
  t.equal(await a.afterCall(tenant, 'cached'), undefined, 'a removed queue is gone for the writer at once');
});
