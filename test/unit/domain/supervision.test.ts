import t from 'tap';
import { SUPERVISION_MODES, isSupervisionMode, legEndReason, mediaOf, stepsBetween, type SupervisionMode, type SupervisionStep } from '../../../server/domain/supervision.js';

t.test('given each mode when asking for its media then listen and whisper tap the agent leg and only barge joins the call', async (t) => {
  t.same(mediaOf('listen'), { snoop: { listen: 'both', speak: 'none' }, inCallBridge: false }, 'listen: hears both sides, says nothing to anyone');
  t.same(mediaOf('whisper'), { snoop: { listen: 'both', speak: 'out' }, inCallBridge: false }, 'whisper: speaks only into what the agent hears');
  t.same(mediaOf('barge'), { snoop: undefined, inCallBridge: true });
});

t.test('given a mode name when checking it then only the three modes pass', async (t) => {
  for (const m of SUPERVISION_MODES) t.ok(isSupervisionMode(m), m);
  for (const m of ['', 'spy', 'LISTEN', 3, undefined]) t.notOk(isSupervisionMode(m), String(m));
});

/** Plays steps against a model of the media and returns where the supervisor ends up. */
function play(from: SupervisionMode | undefined, steps: readonly SupervisionStep[]) {
  const before = from === undefined ? undefined : mediaOf(from);
  let own = before !== undefined && !before.inCallBridge;
  let call = before?.inCallBridge ?? false;
  /** Snoops that exist, and those in the supervisor's own bridge. */
  const snoops = new Set<string>(before?.snoop ? ['old'] : []);
  const bridged = new Set<string>(before?.snoop ? ['old'] : []);
  for (const s of steps) {
    switch (s) {
      case 'create_snoop':
        snoops.add('new');
        break;
      case 'add_snoop':
        if (!snoops.has('new')) throw new Error('add_snoop without a new snoop');
        bridged.add('new');
        break;
      case 'drop_old_snoop':
        snoops.delete('old');
        bridged.delete('old');
        break;
      case 'join_own_bridge':
        if (call) throw new Error('in two bridges at once');
        own = true;
        break;
      case 'leave_own_bridge':
        own = false;
        break;
      case 'join_call_bridge':
        if (own) throw new Error('in two bridges at once');
        call = true;
        break;
      case 'leave_call_bridge':
        call = false;
        break;
    }
  }
  return { own, call, newSnoopBridged: bridged.has('new'), oldSnoopLeft: snoops.has('old') };
}

t.test('given any mode change when its steps are played then the supervisor ends in the target media, never in two bridges, with the old snoop gone', async (t) => {
  const froms: (SupervisionMode | undefined)[] = [undefined, ...SUPERVISION_MODES];
  for (const from of froms) {
    for (const to of SUPERVISION_MODES) {
      const steps = stepsBetween(from, to);
      if (from === to) {
        t.same(steps, [], `${from} → ${to}: nothing to do`);
        continue;
      }
      const end = play(from, steps);
      const target = mediaOf(to);
      const name = `${from ?? 'answered'} → ${to}`;
      t.equal(end.call, target.inCallBridge, `${name}: in the call bridge exactly for barge`);
      t.equal(end.own, !target.inCallBridge, `${name}: in its own bridge exactly when tapping`);
      t.equal(end.newSnoopBridged, target.snoop !== undefined, `${name}: a fresh snoop bridged exactly when the mode taps`);
      t.notOk(end.oldSnoopLeft, `${name}: no snoop of the old mode left`);
    }
  }
});

t.test('given a change that needs a new snoop when planning then the snoop is made first, so a failure leaves the old mode in place', async (t) => {
  for (const [from, to] of [['listen', 'whisper'], ['whisper', 'listen'], ['barge', 'listen'], ['barge', 'whisper']] as const) {
    t.equal(stepsBetween(from, to)[0], 'create_snoop', `${from} → ${to}`);
  }
  t.same(stepsBetween('listen', 'whisper'), ['create_snoop', 'add_snoop', 'drop_old_snoop'], 'make before break between the two tapping modes');
});

t.test('given the end of the supervisor leg when naming the reason then an unanswered phone is no_answer and an answered one hung up', async (t) => {
  t.equal(legEndReason(false), 'no_answer');
  t.equal(legEndReason(true), 'supervisor_hung_up');
});
