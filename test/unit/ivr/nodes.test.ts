import t from 'tap';
import { Call, OFFICE, T0, flowOf } from './helpers.js';
import type { FlowNode, IvrAction, TerminalAction } from '../../../ivr/types.js';

const bye: FlowNode = { type: 'hangup', reason: 'done' };
const play = (a: readonly IvrAction[]) => a.find((x): x is Extract<IvrAction, { type: 'play' }> => x.type === 'play');
const endOf = (c: Call): TerminalAction => {
  const e = c.session.end?.action;
  if (e === undefined) throw new Error(`the call has not ended (status ${c.session.status})`);
  return e;
};

t.test('given a play node when started then it plays its prompts with the interruptible flag and moves on when they finish', async (t) => {
  const c = new Call(flowOf({ hello: { type: 'play', prompts: [{ tts: 'Hello' }, { sound: 'beep' }], interruptible: false, next: 'bye' }, bye }));
  const p = play(c.start());
  t.same(p?.prompts, [
    { kind: 'tts', text: 'Hello', language: undefined },
    { kind: 'sound', name: 'beep', language: undefined },
  ]);
  t.equal(p?.interruptible, false);
  t.equal(c.session.status, 'running');
  c.finishPrompt();
  t.same(c.path, ['hello', 'bye']);
  t.match(endOf(c), { type: 'hangup', reason: 'done' });
});

const menuFlow = (over: Partial<Extract<FlowNode, { type: 'menu' }>> = {}) =>
  flowOf({
    menu: {
      type: 'menu',
      prompts: [{ tts: 'Press 1 or 2' }],
      invalidPrompts: [{ tts: 'Invalid' }],
      noInputPrompts: [{ tts: 'Nothing heard' }],
      choices: { '1': 'one', '2': 'two' },
      retries: 2,
      timeoutMs: 4000,
      noInput: 'silent',
      invalid: 'wrong',
      ...over,
    },
    one: { type: 'hangup', reason: 'one' },
    two: { type: 'hangup', reason: 'two' },
    silent: { type: 'hangup', reason: 'silent' },
    wrong: { type: 'hangup', reason: 'wrong' },
  });

t.test('given a menu when the caller presses a listed key then the call goes to that choice', async (t) => {
  const c = new Call(menuFlow());
  c.start();
  c.finishPrompt();
  t.same(c.types(), ['start_timer']);
  t.match(c.last[0], { ms: 4000 });
  c.press('2');
  t.match(endOf(c), { reason: 'two' });
  t.same(c.path, ['menu', 'two']);
});

t.test('given a menu when the caller never presses then it re-prompts with the no-input prompt and ends at noInput after the retries', async (t) => {
  const c = new Call(menuFlow());
  c.start();
  for (let i = 0; i < 3; i++) {
    c.finishPrompt();
    c.fireTimer();
  }
  t.same(c.heardPrompts(), ['Press 1 or 2', 'Nothing heard', 'Press 1 or 2', 'Nothing heard', 'Press 1 or 2']);
  t.match(endOf(c), { reason: 'silent' });
  t.equal(c.now - T0, 3 * 4000, 'three waits of timeoutMs');
  t.equal(c.session.journey[0]?.input, 'no_input no_input no_input');
  t.equal(c.session.journey[0]?.outcome, 'no_input');
});

t.test('given a menu when wrong keys exhaust the retries then it ends at invalid, and without invalid at noInput', async (t) => {
  const c = new Call(menuFlow());
  c.start();
  c.press('9');
  c.finishPrompt();
  c.fireTimer();
  c.finishPrompt();
  c.press('7');
  t.same(c.heardPrompts(), ['Press 1 or 2', 'Invalid', 'Press 1 or 2', 'Nothing heard', 'Press 1 or 2']);
  t.match(endOf(c), { reason: 'wrong' });
  t.equal(c.session.journey[0]?.input, 'invalid:9 no_input invalid:7');

  const d = new Call(menuFlow({ invalid: undefined, retries: 0 }));
  d.start();
  d.press('5');
  t.match(endOf(d), { reason: 'silent' });
});

t.test('given a menu when a wrong key is followed by a right one then the retry takes the right one', async (t) => {
  const c = new Call(menuFlow());
  c.start();
  c.finishPrompt();
  c.press('8');
  c.finishPrompt();
  c.press('1');
  t.match(endOf(c), { reason: 'one' });
});

const collectFlow = (over: Partial<Extract<FlowNode, { type: 'collect' }>> = {}) =>
  flowOf({
    pin: {
      type: 'collect',
      prompts: [{ tts: 'Enter your code' }],
      invalidPrompts: [{ tts: 'Invalid code' }],
      variable: 'code',
      minLength: 4,
      maxLength: 6,
      pattern: '[0-9]+',
      retries: 1,
      timeoutMs: 5000,
      interDigitTimeoutMs: 2000,
      next: 'ok',
      noInput: 'silent',
      invalid: 'wrong',
      ...over,
    },
    ok: { type: 'hangup', reason: 'ok' },
    silent: { type: 'hangup', reason: 'silent' },
    wrong: { type: 'hangup', reason: 'wrong' },
  });

t.test('given a collect node when digits end with the terminator then they are stored without it', async (t) => {
  const c = new Call(collectFlow());
  c.start();
  c.finishPrompt();
  c.press('1234#');
  t.equal(c.session.context.vars.code, '1234');
  t.match(endOf(c), { reason: 'ok' });
});

t.test('given a collect node when maxLength digits arrive then it completes and swallows a trailing terminator', async (t) => {
  const c = new Call(flowOf({ ...collectFlow().nodes, ok: { type: 'menu', prompts: [{ tts: 'Menu' }], choices: { '#': 'wrong', '1': 'silent' }, noInput: 'silent' } }));
  c.start();
  c.finishPrompt();
  c.press('123456');
  t.equal(c.session.context.vars.code, '123456');
  t.equal(c.session.nodeId, 'ok');
  c.press('#');
  t.same(c.session.typeAhead, [], 'the habitual # is not a menu choice');
  t.equal(c.session.status, 'running');
  c.press('#');
  t.match(endOf(c), { reason: 'wrong' }, 'a second # is a real key');
});

t.test('given a collect node when the caller stops typing then the inter-digit timeout ends the entry', async (t) => {
  const c = new Call(collectFlow());
  c.start();
  c.finishPrompt();
  c.press('98765');
  t.match(c.last.at(-1), { type: 'start_timer', ms: 2000 });
  c.fireTimer();
  t.equal(c.session.context.vars.code, '98765');
});

t.test('given a collect node when the entry is too short or fails the pattern then it retries and ends at invalid', async (t) => {
  const c = new Call(collectFlow({ pattern: '9[0-9]*' }));
  c.start();
  c.finishPrompt();
  c.press('12#');
  t.same(c.heardPrompts(), ['Enter your code', 'Invalid code', 'Enter your code']);
  c.finishPrompt();
  c.press('12345#');
  t.match(endOf(c), { reason: 'wrong' });
  t.equal(c.session.context.vars.code, undefined);
  t.equal(c.session.journey[0]?.input, 'invalid:12 invalid:12345');
});

t.test('given a masked collect node when the caller enters a secret then the journey shows stars and the context keeps it', async (t) => {
  const c = new Call(collectFlow({ mask: true }));
  c.start();
  c.press('4321#');
  t.equal(c.session.journey[0]?.input, '****');
  t.equal(c.session.context.vars.code, '4321');
});

t.test('given a collect node with no terminator when # is pressed then it counts as a digit', async (t) => {
  const c = new Call(collectFlow({ terminator: null, pattern: '[0-9#]+', minLength: 2, maxLength: 3 }));
  c.start();
  c.press('1#2');
  t.equal(c.session.context.vars.code, '1#2');
});

const branchFlow = (cases: Extract<FlowNode, { type: 'branch' }>['cases']) =>
  flowOf({
    b: { type: 'branch', cases, default: 'other' },
    yes: { type: 'hangup', reason: 'yes' },
    other: { type: 'hangup', reason: 'other' },
  });

t.test('given a branch node when conditions look at the caller number, variables and logic then the first true case wins', async (t) => {
  const rows: [string, Extract<FlowNode, { type: 'branch' }>['cases'][number]['when'], string][] = [
    ['prefix on caller number', { var: 'caller.number', op: 'prefix', value: '+336' }, 'yes'],
    ['prefix that does not match', { var: 'caller.number', op: 'prefix', value: '+44' }, 'other'],
    ['regex on caller number', { var: 'caller.number', op: 'matches', value: '^\\+33[67]' }, 'yes'],
    ['unset variable', { var: 'tier', op: 'set' }, 'other'],
    ['not', { not: { var: 'tier', op: 'set' } }, 'yes'],
    ['all with one false', { all: [{ var: 'caller.number', op: 'set' }, { var: 'caller.dialed', op: 'eq', value: '3000' }] }, 'other'],
    ['any with one true', { any: [{ var: 'caller.dialed', op: 'eq', value: '3000' }, { var: 'flow.version', op: 'ge', value: 3 }] }, 'yes'],
  ];
  for (const [name, when, expected] of rows) {
    const c = new Call(branchFlow([{ when, next: 'yes' }]));
    c.start();
    t.match(endOf(c), { reason: expected }, name);
  }
});

t.test('given a branch on collected digits when compared as numbers and lists then strings and numbers compare by value', async (t) => {
  const flow = flowOf({
    set: { type: 'set', values: { amount: '0150', tier: 'gold' }, next: 'b' },
    b: {
      type: 'branch',
      cases: [
        { when: { var: 'amount', op: 'gt', value: 200 }, next: 'big' },
        { when: { all: [{ var: 'amount', op: 'eq', value: 150 }, { var: 'tier', op: 'in', value: ['gold', 'platinum'] }] }, next: 'yes' },
      ],
      default: 'other',
    },
    big: { type: 'hangup', reason: 'big' },
    yes: { type: 'hangup', reason: 'yes' },
    other: { type: 'hangup', reason: 'other' },
  });
  const c = new Call(flow);
  c.start();
  t.match(endOf(c), { reason: 'yes' });
});

t.test('given a branch on a business calendar when the call comes in open, closed, on a holiday or without the calendar then each takes its path', async (t) => {
  const flow = flowOf({
    b: {
      type: 'branch',
      cases: [
        { when: { holiday: 'main-office' }, next: 'holiday' },
        { when: { open: 'main-office' }, next: 'yes' },
      ],
      default: 'other',
    },
    yes: { type: 'hangup', reason: 'open' },
    holiday: { type: 'hangup', reason: 'holiday' },
    other: { type: 'hangup', reason: 'closed' },
  });
  const rows: [string, boolean, string][] = [
    ['2025-01-06T10:00:00Z', true, 'open'], // Monday 11:00 local
    ['2025-01-06T17:30:00Z', true, 'closed'], // Monday 18:30 local
    ['2025-01-04T10:00:00Z', true, 'closed'], // Saturday
    ['2025-01-01T10:00:00Z', true, 'holiday'], // Wednesday, New Year's Day
    ['2025-01-06T10:00:00Z', false, 'closed'], // calendar not supplied: treated as closed
  ];
  for (const [iso, withCalendar, expected] of rows) {
    const c = new Call(flow, withCalendar ? { calendars: { 'main-office': OFFICE } } : {});
    c.send({ type: 'start' }, Date.parse(iso) - c.now);
    t.match(endOf(c), { reason: expected }, `${iso} calendar=${withCalendar}`);
  }
});

t.test('given a set node when values hold literals and placeholders then the context gets them', async (t) => {
  const c = new Call(
    flowOf({
      s: { type: 'set', values: { n: 3, flag: true, none: null, who: 'caller {{caller.number}} on {{flow.id}}' }, next: 'bye' },
      bye,
    }),
  );
  c.start();
  t.same(c.session.context.vars, { n: 3, flag: true, none: null, who: 'caller +33600000001 on test-flow' });
});

const langFlow = flowOf(
  {
    lang: { type: 'language', prompts: [{ prompt: 'pick' }], choices: { '1': 'en', '2': 'fr', '3': 'de' }, default: 'fr', retries: 0, next: 'hi' },
    hi: { type: 'play', prompts: [{ prompt: 'hi' }, { tts: 'lang={{language}}' }], next: 'bye' },
    bye,
  },
  {
    defaultLanguage: 'en',
    prompts: {
      pick: { en: { tts: 'Press 1 for English, 2 pour le français' } },
      hi: { en: { sound: 'hi-en' }, fr: { tts: 'Bonjour' } },
    },
  },
);

t.test('given a language node with choices when the caller picks a language then later prompts use it', async (t) => {
  const c = new Call(langFlow);
  c.start();
  const a = c.press('2');
  t.equal(c.session.context.language, 'fr');
  t.same(play(a)?.prompts, [
    { kind: 'tts', text: 'Bonjour', language: 'fr' },
    { kind: 'tts', text: 'lang=fr', language: 'fr' },
  ]);
});

t.test('given a language with no translation when a prompt plays then the default language version plays', async (t) => {
  const c = new Call(langFlow);
  c.start();
  const a = c.press('3');
  t.same(play(a)?.prompts, [
    { kind: 'sound', name: 'hi-en', language: 'en' },
    { kind: 'tts', text: 'lang=de', language: 'de' },
  ]);
});

t.test('given a language node when the caller chooses nothing then its default applies', async (t) => {
  const c = new Call(langFlow);
  c.start();
  c.finishPrompt();
  c.fireTimer();
  t.equal(c.session.context.language, 'fr');
  t.equal(c.session.nodeId, 'hi');
});

t.test('given a fixed language node fed by a variable when entered then it sets that language', async (t) => {
  const c = new Call(flowOf({ s: { type: 'set', values: { pref: 'es' }, next: 'l' }, l: { type: 'language', language: '{{pref}}', next: 'bye' }, bye }));
  c.start();
  t.equal(endOf(c).context.language, 'es');
});

t.test('given a queue node when reached then route_to_queue carries priority, skills and context after its prompt', async (t) => {
  const c = new Call(
    flowOf({
      s: { type: 'set', values: { prio: '7', product: 'fiber' }, next: 'q' },
      q: {
        type: 'queue',
        queue: 'support',
        priority: '{{prio}}',
        skills: [{ skill: '{{product}}', minLevel: 4 }, { skill: 'lang_{{language}}' }, { skill: '{{unset}}' }, { skill: 'fiber', minLevel: 2 }],
        prompts: [{ tts: 'Connecting' }],
      },
    }),
  );
  const a = c.start();
  t.equal(play(a)?.interruptible, false, 'the last prompt is not cut');
  t.equal(c.session.status, 'running');
  c.press('5');
  t.equal(c.session.status, 'running', 'a key does not cut it');
  c.finishPrompt();
  const end = endOf(c);
  t.same(end.type === 'route_to_queue' && [end.queueId, end.priority, end.requiredSkills], [
    'support',
    7,
    [
      { skillId: 'fiber', minLevel: 4 },
      { skillId: 'lang_', minLevel: 1 },
    ],
  ]);
  t.same(end.context.vars, { prio: '7', product: 'fiber' });
  t.same(end.context.path, ['s', 'q']);
  t.equal(c.session.end?.by, 'flow');
});

t.test('given a queue node whose priority placeholder is not a number when reached then priority is 0', async (t) => {
  const c = new Call(flowOf({ q: { type: 'queue', queue: 'general', priority: '{{nothing}}' } }));
  c.start();
  t.match(endOf(c), { type: 'route_to_queue', priority: 0, requiredSkills: [] });
});

t.test('given a callback node when reached then offer_callback uses the collected number, else the caller number', async (t) => {
  const nodes = (number?: string): Record<string, FlowNode> => ({
    q: { type: 'callback', queue: 'billing', ...(number === undefined ? {} : { number }), priority: 2, skills: [{ skill: 'billing' }] },
  });
  const a = new Call(flowOf(nodes()));
  a.start();
  t.match(endOf(a), { type: 'offer_callback', queueId: 'billing', number: '+33600000001', priority: 2 });
  const b = new Call(flowOf({ n: { type: 'set', values: { cb: '0612 34-56-78' }, next: 'q' }, ...nodes('{{cb}}') }));
  b.start();
  t.match(endOf(b), { type: 'offer_callback', number: '0612345678' });
});

t.test('given a voicemail node when reached then the action has the mailbox and the max length in ms', async (t) => {
  const c = new Call(flowOf({ v: { type: 'voicemail', mailbox: 'sales', maxSeconds: 90, beep: false } }));
  c.start();
  t.match(endOf(c), { type: 'voicemail', mailbox: 'sales', maxLengthMs: 90_000, beep: false });
});

t.test('given a transfer node when reached then it transfers, and a malformed number from placeholders hangs up instead', async (t) => {
  const a = new Call(flowOf({ x: { type: 'transfer', number: '+33 1 23 45 67 89', timeoutMs: 20_000 } }));
  a.start();
  t.match(endOf(a), { type: 'transfer', number: '+33123456789', timeoutMs: 20_000 });
  const b = new Call(flowOf({ x: { type: 'transfer', number: '{{missing}}' } }));
  b.start();
  t.match(endOf(b), { type: 'hangup', reason: 'invalid_transfer_number' });
});

t.test('given a hangup node when reached then the call ends and later inputs change nothing', async (t) => {
  const c = new Call(flowOf({ h: { type: 'hangup' } }));
  const a = c.start();
  t.same(c.types(a), ['hangup']);
  t.equal(c.session.status, 'ended');
  const before = c.session;
  t.same(c.press('1'), []);
  t.equal(c.session, before);
});
