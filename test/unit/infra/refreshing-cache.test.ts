import t from 'tap';
import { createRefreshingCache } from '../../../server/infra/refreshing-cache.js';

/** A loader the test answers by hand: each read waits until `answer` is called. */
function heldLoader() {
  const pending: { key: string; resolve: (v: string) => void; reject: (e: Error) => void }[] = [];
  let version = 1;
  return {
    pending,
    setVersion: (v: number) => (version = v),
    load: (key: string) => new Promise<string>((resolve, reject) => pending.push({ key, resolve, reject })),
    answer: () => {
      const p = pending.shift();
      if (!p) throw new Error('no read is waiting');
      p.resolve(`${p.key}@${version}`);
    },
    fail: () => pending.shift()?.reject(new Error('database down')),
  };
}
const settled = () => new Promise((r) => setImmediate(r));
/** A cache over a held loader: trusted 1 s, served 4 s more while a read is on its way. */
const cacheOver = (db: ReturnType<typeof heldLoader>, now: () => number) => createRefreshingCache({ load: db.load, now, trustMs: 1000, staleWhileLoadingMs: 4000 });
const race = <T>(p: Promise<T>, ms = 50) => Promise.race([p.then((v) => ({ v })), new Promise<'waiting'>((r) => setTimeout(() => r('waiting'), ms))]);

t.test('a value is read once, trusted, read again ahead of time behind the caller, and served while a slow read is on its way', async (t) => {
  let clock = 0;
  const db = heldLoader();
  const cache = cacheOver(db, () => clock);

  const first = cache.get('78000001');
  const second = cache.get('78000001');
  t.equal(db.pending.length, 1, 'callers arriving together share one read');
  db.answer();
  t.same([await first, await second], ['78000001@1', '78000001@1']);

  clock = 200;
  t.same(await race(cache.get('78000001')), { v: '78000001@1' }, 'inside a quarter of the trust: served, nothing read');
  t.equal(db.pending.length, 0);

  clock = 300;
  db.setVersion(2);
  t.same(await race(cache.get('78000001')), { v: '78000001@1' }, 'past a quarter: served at once');
  t.equal(db.pending.length, 1, 'and read again behind the caller');
  await race(cache.get('78000001'));
  t.equal(db.pending.length, 1, 'one read at a time');

  clock = 1500;
  t.same(await race(cache.get('78000001')), { v: '78000001@1' }, 'past the trust, the read on its way: the value is still served');
  clock = 5200;
  const late = cache.get('78000001');
  t.equal(await race(late), 'waiting', 'past the trust and the grace: the caller waits for the read');
  db.answer();
  t.equal(await late, '78000001@2', 'and gets the new value');
  // That read started at 300: the value is dated from then, not from when it arrived.
  clock = 1250;
  t.same(await race(cache.get('78000001')), { v: '78000001@2' }, 'trusted from when its read started');
  clock = 5300;
  const again = cache.get('78000001');
  t.equal(await race(again), 'waiting', 'so long after it, read again');
  db.answer();
  t.equal(await again, '78000001@2');
});

t.test('a failed read is not cached and a later caller reads again', async (t) => {
  const clock = 0;
  const db = heldLoader();
  const cache = cacheOver(db, () => clock);
  const p = cache.get('x');
  db.fail();
  await t.rejects(p, /database down/, 'the caller sees the failure');
  const again = cache.get('x');
  t.equal(db.pending.length, 1, 'the next caller reads again');
  db.answer();
  t.equal(await again, 'x@1');
});

t.test('invalidate drops a value at once, and a read started before it does not put the old value back', async (t) => {
  let clock = 0;
  const db = heldLoader();
  const cache = cacheOver(db, () => clock);
  const p = cache.get('e');
  db.answer();
  await p;
  clock = 300;
  await cache.get('e'); // starts a read ahead of time, still held
  t.equal(db.pending.length, 1);
  cache.invalidate('e');
  db.setVersion(2);
  const fresh = cache.get('e');
  t.equal(db.pending.length, 2, 'after invalidate the next caller reads again at once');
  t.equal(await race(fresh), 'waiting', 'and waits for that read (nothing trusted is left)');
  db.answer(); // the read started before the write answers (with the new version here, but it must not be stored)
  await settled();
  db.answer();
  t.equal(await fresh, 'e@2');
});

t.test('the number of keys is bounded (the oldest go first)', async (t) => {
  const cache = createRefreshingCache({ load: async (k: number) => k * 2, now: () => 0, trustMs: 1000, staleWhileLoadingMs: 0, maxKeys: 3 });
  for (const k of [1, 2, 3, 4, 5]) await cache.get(k);
  t.equal(cache.size(), 3);
});
