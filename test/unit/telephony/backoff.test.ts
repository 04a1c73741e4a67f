import fc from 'fast-check';
import t from 'tap';
import { backoffDelay, createBackoff, DEFAULT_BACKOFF, type BackoffPolicy } from '../../../server/telephony/backoff.js';

const policy: BackoffPolicy = { initialMs: 100, maxMs: 2_000, factor: 2, jitter: 0.5 };

t.test('given no jitter when attempts grow then delays double until the cap', async (t) => {
  const exact = { ...policy, jitter: 0 };
  const delays = [0, 1, 2, 3, 4, 5, 6, 50, 10_000].map((a) => backoffDelay(exact, a, () => 0.5));
  t.same(delays, [100, 200, 400, 800, 1_600, 2_000, 2_000, 2_000, 2_000]);
});

t.test('given jitter 0.5 when the random source is at its ends then the delay spans half to all of the base', async (t) => {
  t.equal(backoffDelay(policy, 3, () => 0), 400, 'random 0 gives half of 800');
  t.equal(backoffDelay(policy, 3, () => 0.999999), 800, 'random near 1 gives the full 800');
});

t.test('given any policy and attempt when a delay is computed then it stays within [base*(1-jitter), cap]', async () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 10_000 }),
      fc.integer({ min: 1, max: 120_000 }),
      fc.double({ min: 1, max: 4, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.integer({ min: 0, max: 10_000 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (initialMs, maxMs, factor, jitter, attempt, r) => {
        const p = { initialMs, maxMs, factor, jitter };
        const d = backoffDelay(p, attempt, () => r);
        const base = Math.min(maxMs, initialMs * Math.pow(factor, attempt));
        return Number.isFinite(d) && d <= Math.round(Math.min(maxMs, base)) && d >= Math.floor(base * (1 - jitter)) - 1;
      },
    ),
  );
});

t.test('given a backoff when it is used and then reset then it starts over from the initial delay', async (t) => {
  const values = [0, 0, 0, 0];
  let i = 0;
  const b = createBackoff({ ...policy, jitter: 1 }, () => values[i++ % values.length] as number);
  t.same([b.next(), b.next(), b.next()], [0, 0, 0], 'full jitter with random 0 gives 0');
  t.equal(b.attempts, 3);
  b.reset();
  t.equal(b.attempts, 0);
  const plain = createBackoff({ ...policy, jitter: 0 }, Math.random);
  t.same([plain.next(), plain.next(), plain.next()], [100, 200, 400]);
  plain.reset();
  t.equal(plain.next(), 100, 'after reset the first delay again');
});

t.test('given the default policy when Asterisk stays down for long then retries keep coming at most every 5 s', async (t) => {
  const b = createBackoff(DEFAULT_BACKOFF, () => 0.999);
  const delays = Array.from({ length: 100 }, () => b.next());
  t.ok(delays.every((d) => d > 0 && d <= 5_000), 'no delay above the cap, none zero');
  t.equal(delays[delays.length - 1], 4_998, 'the cap holds after 100 attempts');
});
