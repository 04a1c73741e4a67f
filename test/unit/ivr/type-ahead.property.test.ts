import t from 'tap';
import fc from 'fast-check';
import { createSession, step } from '../../../ivr/engine.js';
import type { Flow, IvrInput, IvrSession } from '../../../ivr/types.js';
import { T0, flowOf } from './helpers.js';

const flow: Flow = flowOf({
  intro: { type: 'play', prompts: [{ tts: 'Calls are recorded' }], interruptible: false, next: 'acct' },
  acct: { type: 'collect', prompts: [{ tts: 'Account' }], interruptible: false, variable: 'acct', minLength: 6, maxLength: 6, next: 'menu', noInput: 'lost' },
  menu: { type: 'menu', prompts: [{ tts: 'Menu' }], choices: { '1': 'note', '2': 'note2' }, noInput: 'lost' },
  note: { type: 'play', prompts: [{ tts: 'Note one' }], next: 'pin' },
  note2: { type: 'play', prompts: [{ tts: 'Note two' }], interruptible: false, next: 'pin' },
  pin: { type: 'collect', prompts: [{ tts: 'PIN' }], variable: 'pin', minLength: 4, maxLength: 8, next: 'q', noInput: 'lost' },
  q: { type: 'queue', queue: 'billing', prompts: [{ tts: 'Connecting' }] },
  lost: { type: 'hangup', reason: 'lost' },
});

interface Outcome {
  readonly vars: unknown;
  readonly path: readonly string[];
  readonly left: readonly string[];
}

/**
 * Runs the script; at each point where the shell could deliver either a key
 * or the end of the prompt now playing, `choices` decides which came first.
 * Timers never fire: the keys always come in time.
 */
function run(keys: readonly string[], choices: readonly boolean[], gaps: readonly number[]): Outcome {
  let s: IvrSession = createSession({ id: 'p', flow, env: { callerNumber: '+100' } });
  let now = T0;
  let i = 0;
  const feed = (input: IvrInput): void => {
    now += gaps[i % gaps.length] ?? 0;
    s = step(s, input, now).session;
  };
  feed({ type: 'start' });
  let k = 0;
  let n = 0;
  while (s.status === 'running' && n++ < 1000) {
    const canKey = k < keys.length;
    const playing = s.playback;
    const keyFirst = choices[i++ % Math.max(1, choices.length)] ?? true;
    if (canKey && (playing === undefined || keyFirst)) feed({ type: 'dtmf', digit: keys[k++] as string });
    else if (playing !== undefined) feed({ type: 'prompt_finished', playbackId: playing.id });
    else break;
  }
  return { vars: s.context.vars, path: s.context.path, left: [...s.typeAhead, ...keys.slice(k)] };
}

const digit = fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '7', '8', '9');

t.test('given any timing of keys against prompts when a caller types account, choice and PIN then the same digits are collected', async (t) => {
  fc.assert(
    fc.property(
      fc.array(digit, { minLength: 6, maxLength: 6 }),
      fc.constantFrom('1', '2'),
      fc.array(digit, { minLength: 4, maxLength: 8 }),
      fc.array(fc.boolean(), { minLength: 1, maxLength: 40 }),
      fc.array(fc.integer({ min: 0, max: 1500 }), { minLength: 1, maxLength: 10 }),
      (acct, choice, pin, choices, gaps) => {
        const keys = [...acct, choice, ...pin, ...(pin.length < 8 ? ['#'] : [])];
        const reference = run(keys, [false], [0]); // every prompt heard to its end before each key
        const timed = run(keys, choices, gaps);
        const expected = { acct: acct.join(''), pin: pin.join('') };
        return (
          JSON.stringify(reference.vars) === JSON.stringify(expected) &&
          JSON.stringify(timed.vars) === JSON.stringify(expected) &&
          timed.path.includes(choice === '1' ? 'note' : 'note2') &&
          timed.path.at(-1) === 'q' &&
          timed.left.length === 0
        );
      },
    ),
    { numRuns: 300, seed: 20250106 },
  );
  t.pass('300 random timings collected the same digits');
});

t.test('given the property driver when the engine dropped a key then the check would notice', async (t) => {
  // Guard against a vacuous property: the driver must see a lost key as a difference.
  const keys = ['1', '2', '3', '4', '5', '6', '1', '9', '9', '9', '9', '#'];
  const full = run(keys, [true], [0]);
  const short = run(keys.filter((_, i) => i !== 3), [true], [0]);
  t.same(full.vars, { acct: '123456', pin: '9999' });
  t.not(JSON.stringify(short.vars), JSON.stringify(full.vars));
});

const input = fc.oneof(
  fc.constant<'key'>('key'),
  fc.constant<'prompt'>('prompt'),
  fc.constant<'timer'>('timer'),
  fc.constant<'stale'>('stale'),
  fc.constant<'http'>('http'),
);

t.test('given any sequence of inputs when the call is running then something is always pending, so no call is stranded', async (t) => {
  const withDip: Flow = flowOf({
    dip: { type: 'http', url: 'https://crm.test/a', timeoutMs: 1000, next: 'intro', fallback: 'intro' },
    ...flow.nodes,
  });
  fc.assert(
    fc.property(fc.array(fc.tuple(input, digit, fc.boolean()), { maxLength: 80 }), (events) => {
      let s: IvrSession = createSession({ id: 'x', flow: withDip, env: { callerNumber: '+100' } });
      let now = T0;
      s = step(s, { type: 'start' }, now).session;
      for (const [kind, d, ok] of events) {
        now += 100;
        let inp: IvrInput;
        if (kind === 'key') inp = { type: 'dtmf', digit: d };
        else if (kind === 'prompt') inp = { type: 'prompt_finished', playbackId: s.playback?.id ?? 'none' };
        else if (kind === 'timer') inp = { type: 'timer_fired', timerId: s.timer?.id ?? 'none' };
        else if (kind === 'http') {
          const id = s.phase.kind === 'http' ? s.phase.requestId : 'none';
          inp = { type: 'http_result', requestId: id, result: ok ? { outcome: 'ok', status: 200, body: {} } : { outcome: 'error', status: 500 } };
        } else inp = { type: 'timer_fired', timerId: `x-t${d}` };
        s = step(s, inp, now).session;
        if (s.status === 'running') {
          const pending = s.playback !== undefined || s.timer !== undefined;
          if (!pending) return false;
        }
      }
      return true;
    }),
    { numRuns: 300, seed: 42 },
  );
  t.pass('every running state had a prompt or a timer pending');
});
