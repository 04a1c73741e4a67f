import fc from 'fast-check';
import t from 'tap';
import { createKeyedSerialQueue, TaskTimeoutError } from '../../../server/telephony/keyed-serial-queue.js';

const tick = () => new Promise<void>((r) => setImmediate(r));

t.test('given tasks of one key when earlier ones are slow then later ones wait and keep their order', async (t) => {
  const q = createKeyedSerialQueue({ onError: () => t.fail('no error expected') });
  const log: string[] = [];
  const gates: Array<() => void> = [];
  for (let i = 0; i < 5; i += 1) {
    q.push('channel:a', async () => {
      log.push(`start ${i}`);
      await new Promise<void>((r) => gates.push(r));
      log.push(`end ${i}`);
    });
  }
  await tick();
  t.same(log, ['start 0'], 'only the first task runs');
  while (gates.length > 0 || q.pending() > 0) {
    gates.shift()?.();
    await tick();
  }
  t.same(log, ['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3', 'start 4', 'end 4']);
});

t.test('given a stuck task on one key when another key gets work then that key is not blocked', async (t) => {
  const q = createKeyedSerialQueue({ onError: () => undefined });
  let release!: () => void;
  q.push('channel:slow', () => new Promise<void>((r) => (release = r)));
  let otherRan = false;
  q.push('channel:fast', () => {
    otherRan = true;
  });
  await tick();
  t.ok(otherRan, 'the other channel ran');
  t.equal(q.activeKeys(), 1, 'only the slow key is still active');
  release();
  t.ok(await q.whenIdle(1_000), 'the queue drains');
});

t.test('given push when called then no task code runs on the caller stack', async (t) => {
  const q = createKeyedSerialQueue({ onError: () => undefined });
  let ran = false;
  q.push('k', () => {
    ran = true;
  });
  t.notOk(ran, 'push returned before the task ran');
  await tick();
  t.ok(ran, 'the task ran afterwards');
});

t.test('given a failing task when later tasks of the key exist then they still run and the error is reported', async (t) => {
  const errors: Array<{ error: unknown; key: string }> = [];
  const q = createKeyedSerialQueue({ onError: (error, key) => errors.push({ error, key }) });
  const log: number[] = [];
  q.push('k', () => {
    throw new Error('sync boom');
  });
  q.push('k', async () => {
    log.push(1);
    throw new Error('async boom');
  });
  q.push('k', () => {
    log.push(2);
  });
  t.ok(await q.whenIdle(1_000));
  t.same(log, [1, 2]);
  t.equal(errors.length, 2);
  t.same(
    errors.map((e) => e.key),
    ['k', 'k'],
  );
});

t.test('given a task that never settles when its time limit passes then it is reported and the key moves on', async (t) => {
  const errors: unknown[] = [];
  const q = createKeyedSerialQueue({ onError: (e) => errors.push(e), taskTimeoutMs: 30 });
  let nextRan = false;
  q.push('k', () => new Promise<void>(() => undefined));
  q.push('k', () => {
    nextRan = true;
  });
  t.ok(await q.whenIdle(1_000), 'the queue drains despite the stuck task');
  t.ok(nextRan);
  t.equal(errors.length, 1);
  t.ok(errors[0] instanceof TaskTimeoutError);
});

t.test('given a deep backlog when the high-water mark is reached then it is signalled once per backlog', async (t) => {
  const marks: Array<[string, number]> = [];
  const q = createKeyedSerialQueue({ onError: () => undefined, highWaterMark: 3, onHighWater: (k, d) => marks.push([k, d]) });
  let release!: () => void;
  q.push('k', () => new Promise<void>((r) => (release = r)));
  for (let i = 0; i < 5; i += 1) q.push('k', () => undefined);
  t.same(marks, [['k', 3]]);
  await tick();
  release();
  t.ok(await q.whenIdle(1_000));
});

t.test('given whenIdle with work that does not finish when its timeout passes then it answers false', async (t) => {
  const q = createKeyedSerialQueue({ onError: () => undefined });
  q.push('k', () => new Promise<void>(() => undefined));
  t.equal(await q.whenIdle(20), false);
  t.equal(q.pending(), 1);
});

t.test('given random interleavings of events over keys when handlers take random time then each key sees its events in push order, none lost or merged', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 60 }),
      async (pushes) => {
        const q = createKeyedSerialQueue({ onError: () => undefined });
        const handled = new Map<number, number[]>();
        const running = new Set<number>();
        let overlap = false;
        pushes.forEach(([key, waits], seq) => {
          q.push(`k${key}`, async () => {
            if (running.has(key)) overlap = true;
            running.add(key);
            for (let i = 0; i < waits; i += 1) await tick();
            running.delete(key);
            handled.set(key, [...(handled.get(key) ?? []), seq]);
          });
        });
        if (!(await q.whenIdle(5_000))) return false;
        for (let key = 0; key <= 4; key += 1) {
          const expected = pushes.map(([k], seq) => (k === key ? seq : -1)).filter((s) => s >= 0);
          const got = handled.get(key) ?? [];
          if (got.join(',') !== expected.join(',')) return false;
        }
        return !overlap && q.pending() === 0 && q.activeKeys() === 0;
      },
    ),
    { numRuns: 100 },
  );
});
