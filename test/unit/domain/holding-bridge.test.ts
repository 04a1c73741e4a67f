import t from 'tap';
import { holdingShard } from '../../../server/domain/holding-bridge.js';

t.test('given one shard when placing any caller then it is always the first bridge', async (t) => {
  for (const id of ['1733.1', 'cb-1733.2', '', 'x'.repeat(200)]) t.equal(holdingShard(id, 1), 0);
  t.equal(holdingShard('1733.1', 0), 0, 'no shards counts as one');
});

t.test('given a call id when placing it twice then it lands in the same shard (any process finds it)', async (t) => {
  t.equal(holdingShard('1764777600.4711', 8), holdingShard('1764777600.4711', 8));
  // Fixed values: a release that changed the function would strand callers waiting across an upgrade.
  t.same(['a', 'b', '1764777600.1', '1764777600.2'].map((id) => holdingShard(id, 8)), ['a', 'b', '1764777600.1', '1764777600.2'].map((id) => fnv(id) % 8));
});

t.test('given 8000 Asterisk-style call ids when spreading them over 8 shards then each shard holds about an eighth', async (t) => {
  const counts = new Array<number>(8).fill(0);
  // Asterisk's unique ids: the epoch second of the arrival, a dot, a counter.
  for (let i = 0; i < 8000; i++) counts[holdingShard(`${1764777600 + Math.floor(i / 7)}.${4000 + i * 3}`, 8)]!++;
  for (const [shard, n] of counts.entries()) t.ok(n > 850 && n < 1150, `shard ${shard} holds ${n} of 8000`);
});

/** FNV-1a 32-bit, written out from the published definition (offset basis 2166136261, prime 16777619). */
function fnv(s: string): number {
  let h = 2166136261n;
  for (const ch of s) h = ((h ^ BigInt(ch.charCodeAt(0))) * 16777619n) & 0xffffffffn;
  return Number(h);
}
