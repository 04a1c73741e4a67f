import t from 'tap';
import {
  hashId, isExpired, isPaused, pciClose, pciMutedMs, pciPause, pciResume, recordingBucket, retentionCutoff, retentionPlan, shouldRecord, validateRecordingPolicy,
  type PciWindow,
} from '../../../server/domain/recording.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
/** Ids shaped like Asterisk channel ids: neighbours differ in the last digits only. */
const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `${1_790_000_000 + Math.floor(i / 7)}.${i}`);

t.test('given the percentage policy', async (t) => {
  t.test('when the same call is asked twice then the answer is the same (a hash of the id, not chance)', async (t) => {
    for (const id of ids(200)) t.equal(shouldRecord({ mode: 'percent', percent: 37 }, id), shouldRecord({ mode: 'percent', percent: 37 }, id));
    t.equal(hashId('1790000000.1'), hashId('1790000000.1'));
    t.not(hashId('1790000000.1'), hashId('1790000000.2'), 'neighbouring ids hash apart');
  });

  t.test('when 20,000 calls arrive then the recorded share is within 1.5 points of the percentage', async (t) => {
    const all = ids(20_000);
    for (const percent of [1, 10, 25, 50, 90]) {
      const share = (all.filter((id) => shouldRecord({ mode: 'percent', percent }, id)).length / all.length) * 100;
      t.ok(Math.abs(share - percent) < 1.5, `${percent} % asked, ${share.toFixed(2)} % recorded`);
    }
  });

  t.test('when the percentage rises then every call recorded before is still recorded (buckets are nested)', async (t) => {
    const all = ids(5_000);
    const at30 = all.filter((id) => shouldRecord({ mode: 'percent', percent: 30 }, id));
    t.ok(at30.every((id) => shouldRecord({ mode: 'percent', percent: 60 }, id)));
  });

  t.test('when the percentage is 0 or 100, or the mode is always or never, then the answer is fixed', async (t) => {
    const all = ids(2_000);
    t.ok(all.every((id) => !shouldRecord({ mode: 'percent', percent: 0 }, id)), '0 % records nothing');
    t.ok(all.every((id) => shouldRecord({ mode: 'percent', percent: 100 }, id)), '100 % records everything');
    t.ok(all.every((id) => shouldRecord({ mode: 'always' }, id)));
    t.ok(all.every((id) => !shouldRecord({ mode: 'never' }, id)));
    t.ok(all.every((id) => recordingBucket(id) >= 0 && recordingBucket(id) < 10_000));
  });

  t.test('when a policy is checked then a percent mode without a percentage, or a percentage with another mode, names the field', async (t) => {
    t.equal(validateRecordingPolicy({ mode: 'percent' })?.details?.field, 'recording.percent');
    t.equal(validateRecordingPolicy({ mode: 'percent' })?.code, 'recording.percent_required');
    t.equal(validateRecordingPolicy({ mode: 'always', percent: 5 })?.code, 'recording.percent_without_percent_mode');
    t.equal(validateRecordingPolicy({ mode: 'percent', percent: 12.5 }), undefined);
    t.equal(validateRecordingPolicy({ mode: 'never', retentionDays: 7 }), undefined);
  });
});

t.test('given PCI window bookkeeping', async (t) => {
  t.test('when paused and resumed twice then two closed windows keep their offsets', async (t) => {
    let w: PciWindow[] = [];
    for (const [from, to] of [[3_000, 6_500], [9_000, 9_400]] as const) {
      const p = pciPause(w, from);
      if (!p.ok) throw new Error(p.code);
      t.ok(isPaused(p.windows));
      const r = pciResume(p.windows, to);
      if (!r.ok) throw new Error(r.code);
      w = r.windows;
    }
    t.same(w, [{ startMs: 3_000, endMs: 6_500 }, { startMs: 9_000, endMs: 9_400 }]);
    t.equal(pciMutedMs(w, 20_000), 3_900);
    t.notOk(isPaused(w));
  });

  t.test('when paused twice or resumed without a pause then the second call is refused with a stable code', async (t) => {
    const p = pciPause([], 1_000);
    t.ok(p.ok);
    if (!p.ok) return;
    t.same(pciPause(p.windows, 2_000), { ok: false, code: 'already_paused' });
    t.same(pciResume([], 2_000), { ok: false, code: 'not_paused' });
    t.same(pciResume([{ startMs: 1, endMs: 2 }], 3), { ok: false, code: 'not_paused' });
  });

  t.test('when a mark comes earlier than the last one (another process with a slower clock) then the timeline never runs backwards', async (t) => {
    const p = pciPause([{ startMs: 1_000, endMs: 5_000 }], 4_200);
    t.ok(p.ok && p.windows[1]!.startMs === 5_000, 'the pause starts no earlier than the last resume');
    const r = p.ok ? pciResume(p.windows, 4_000) : p;
    t.ok(r.ok && r.windows[1]!.endMs === 5_000, 'an empty window rather than a negative one');
    const neg = pciPause([], -30);
    t.ok(neg.ok && neg.windows[0]!.startMs === 0, 'never before the start');
  });

  t.test('when the call ends during a pause then the window closes at the end, and the input is not changed', async (t) => {
    const open: PciWindow[] = [{ startMs: 2_000, endMs: 3_000 }, { startMs: 7_000, endMs: null }];
    t.same(pciClose(open, 12_000), [{ startMs: 2_000, endMs: 3_000 }, { startMs: 7_000, endMs: 12_000 }]);
    t.same(open[1], { startMs: 7_000, endMs: null }, 'input untouched');
    t.same(pciClose([{ startMs: 1, endMs: 2 }], 10), [{ startMs: 1, endMs: 2 }], 'nothing open: unchanged');
    t.equal(pciMutedMs(open, 9_000), 3_000, 'an open pause counts up to now');
  });
});

t.test('given the retention rules', async (t) => {
  t.test('when the retention is 90 days then the cutoff is exactly 90 days before now; 0 keeps forever', async (t) => {
    t.equal(retentionCutoff(NOW, 90), NOW - 90 * DAY);
    t.equal(retentionCutoff(NOW, 0), undefined);
    t.equal(retentionCutoff(NOW, 1), NOW - DAY);
  });

  t.test('when queues override the default then each group has its cutoff and keep-forever groups are left out', async (t) => {
    const plan = retentionPlan(NOW, 90, [{ queueId: 'sales', days: 30 }, { queueId: 'legal', days: 0 }, { queueId: 'vip', days: 30 }, { queueId: 'kyc', days: 365 }]);
    t.same(plan, [
      { kind: 'queues', queueIds: ['sales', 'vip'], days: 30, cutoff: NOW - 30 * DAY },
      { kind: 'queues', queueIds: ['kyc'], days: 365, cutoff: NOW - 365 * DAY },
      { kind: 'default', exceptQueues: ['kyc', 'legal', 'sales', 'vip'], days: 90, cutoff: NOW - 90 * DAY },
    ]);
    const at = (days: number) => NOW - days * DAY;
    t.ok(isExpired(plan, { queueId: 'sales', startedAt: at(31) }), 'sales after 31 days');
    t.notOk(isExpired(plan, { queueId: 'sales', startedAt: at(29) }), 'sales before 30 days');
    t.notOk(isExpired(plan, { queueId: 'legal', startedAt: at(5000) }), 'legal keeps forever');
    t.notOk(isExpired(plan, { queueId: 'kyc', startedAt: at(100) }), 'kyc keeps a year');
    t.ok(isExpired(plan, { queueId: 'other', startedAt: at(91) }), 'other queues: the default');
    t.ok(isExpired(plan, { queueId: null, startedAt: at(91) }), 'no queue: the default');
    t.notOk(isExpired(plan, { queueId: 'other', startedAt: at(90) }), 'exactly at the cutoff is kept');
  });

  t.test('when the default keeps forever then only overriding queues expire', async (t) => {
    const plan = retentionPlan(NOW, 0, [{ queueId: 'sales', days: 7 }]);
    t.same(plan.map((g) => g.kind), ['queues']);
    t.ok(isExpired(plan, { queueId: 'sales', startedAt: NOW - 8 * DAY }));
    t.notOk(isExpired(plan, { queueId: 'other', startedAt: NOW - 8000 * DAY }));
    t.same(retentionPlan(NOW, 0, []), [], 'nothing to do at all');
  });
});
