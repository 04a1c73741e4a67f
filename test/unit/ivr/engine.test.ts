import t from 'tap';
import { createSession, step } from '../../../ivr/engine.js';
import type { Flow, FlowNode, IvrAction } from '../../../ivr/types.js';
import { Call, T0, flowOf } from './helpers.js';

const twoMenus = (interruptible: boolean): Flow =>
  flowOf({
    welcome: { type: 'play', prompts: [{ tts: 'Welcome' }], interruptible, next: 'main' },
    main: { type: 'menu', prompts: [{ tts: 'Main menu' }], interruptible, choices: { '1': 'sub', '2': 'two' }, noInput: 'silent' },
    sub: { type: 'menu', prompts: [{ tts: 'Sub menu' }], interruptible, choices: { '3': 'three', '4': 'four' }, noInput: 'silent' },
    two: { type: 'hangup', reason: 'two' },
    three: { type: 'hangup', reason: 'three' },
    four: { type: 'hangup', reason: 'four' },
    silent: { type: 'hangup', reason: 'silent' },
  });

const played = (a: readonly IvrAction[]): string[] =>
  a.flatMap((x) => (x.type === 'play' ? x.prompts.map((p) => (p.kind === 'tts' ? p.text : p.name)) : []));

t.test('given an interruptible menu prompt when a key is pressed then playback stops and the key is the choice', async (t) => {
  const c = new Call(twoMenus(true));
  c.start();
  c.finishPrompt();
  const playing = c.session.playback?.id;
  const a = c.press('2');
  t.same(a[0], { type: 'stop_playback', playbackId: playing });
  t.match(c.end, { reason: 'two' });
  t.equal(c.session.journey[1]?.input, '2');
});

t.test('given a non-interruptible prompt when a key is pressed then the prompt plays on and the key is taken after it', async (t) => {
  const c = new Call(twoMenus(false));
  c.start();
  c.finishPrompt();
  const a = c.press('1');
  t.same(a, [], 'no stop, no choice yet');
  t.same(c.session.typeAhead, ['1']);
  c.finishPrompt();
  t.equal(c.session.nodeId, 'sub');
  t.same(c.session.typeAhead, []);
});

t.test('given a caller who types ahead when keys arrive during a non-interruptible welcome then each menu takes its key in order and skips its prompt', async (t) => {
  const flow = twoMenus(true);
  const c = new Call({ ...flow, nodes: { ...flow.nodes, welcome: { type: 'play', prompts: [{ tts: 'Welcome' }], interruptible: false, next: 'main' } } });
  c.start();
  t.same(c.press('14'), []);
  c.finishPrompt();
  t.match(c.end, { reason: 'four' });
  t.same(c.path, ['welcome', 'main', 'sub', 'four']);
  t.same(played(c.all), ['Welcome'], 'the menus were skipped, not played');
  t.same(
    c.session.journey.map((j) => j.outcome),
    ['next', 'choice', 'choice', 'end'],
  );
});

t.test('given interruptible prompts when keys arrive one after another then each key cuts the prompt playing', async (t) => {
  const c = new Call(twoMenus(true));
  c.start();
  const a = c.press('14');
  t.match(c.end, { reason: 'four' });
  t.same(played(c.all), ['Welcome', 'Sub menu']);
  t.equal(a.filter((x) => x.type === 'stop_playback').length, 2);
  t.same(
    c.session.journey.map((j) => j.outcome),
    ['interrupted', 'choice', 'choice', 'end'],
  );
});

t.test('given keys pressed before the call starts when it starts then they are kept for the first menu', async (t) => {
  const c = new Call(twoMenus(false));
  c.press('2');
  t.equal(c.session.status, 'ready');
  c.start();
  c.finishPrompt();
  c.finishPrompt();
  t.match(c.end, { reason: 'two' });
});

t.test('given keys during a data dip when the dip ends then the next menu reads them', async (t) => {
  const c = new Call(
    flowOf({
      dip: { type: 'http', url: 'https://crm.test/x', next: 'main', fallback: 'main' },
      ...twoMenus(true).nodes,
    }),
  );
  c.start();
  c.press('13');
  t.same(c.session.typeAhead, ['1', '3']);
  c.http({ outcome: 'ok', status: 200, body: {} });
  t.match(c.end, { reason: 'three' });
});

t.test('given a timer cancelled by a key when the old timer fires late then it is ignored', async (t) => {
  const c = new Call(
    flowOf({
      pin: { type: 'collect', variable: 'pin', maxLength: 4, timeoutMs: 5000, next: 'bye', noInput: 'silent' },
      bye: { type: 'hangup', reason: 'ok' },
      silent: { type: 'hangup', reason: 'silent' },
    }),
  );
  c.start();
  const first = c.session.timer?.id;
  const a = c.press('1');
  t.same(c.types(a), ['cancel_timer', 'start_timer']);
  t.not(c.session.timer?.id, first);
  const before = c.session;
  const stale = c.send({ type: 'timer_fired', timerId: first ?? '' }, 100);
  t.same(stale, []);
  t.same(c.session.context, before.context);
  t.equal(c.session.phase.kind, 'gather');
  t.same(c.send({ type: 'prompt_finished', playbackId: 'c1-p999' }), [], 'an unknown playback is ignored');
});

t.test('given a call in a menu when the caller hangs up then the visit closes as caller_hangup and the timer is cancelled', async (t) => {
  const c = new Call(twoMenus(true));
  c.start();
  c.finishPrompt();
  c.finishPrompt();
  const timer = c.session.timer?.id;
  const a = c.send({ type: 'hangup' }, 1500);
  t.same(a, [{ type: 'cancel_timer', timerId: timer }]);
  t.equal(c.session.status, 'ended');
  t.same(c.session.end, { by: 'caller', nodeId: 'main', at: T0 + 1500, action: undefined });
  t.match(c.session.journey.at(-1), { nodeId: 'main', outcome: 'caller_hangup', leftAt: T0 + 1500 });
});

t.test('given a call when it runs then every visit is journaled with flow id, version, node, input and fixed-clock times', async (t) => {
  const c = new Call(twoMenus(false));
  c.start();
  c.send({ type: 'prompt_finished', playbackId: c.session.playback?.id ?? '' }, 2000);
  c.send({ type: 'prompt_finished', playbackId: c.session.playback?.id ?? '' }, 3000);
  c.send({ type: 'dtmf', digit: '2' }, 1000);
  t.same(c.session.journey, [
    { flowId: 'test-flow', flowVersion: 3, nodeId: 'welcome', nodeType: 'play', enteredAt: T0, leftAt: T0 + 2000, input: undefined, outcome: 'next', next: 'main' },
    { flowId: 'test-flow', flowVersion: 3, nodeId: 'main', nodeType: 'menu', enteredAt: T0 + 2000, leftAt: T0 + 6000, input: '2', outcome: 'choice', next: 'two' },
    { flowId: 'test-flow', flowVersion: 3, nodeId: 'two', nodeType: 'hangup', enteredAt: T0 + 6000, leftAt: T0 + 6000, input: undefined, outcome: 'end', next: undefined },
  ]);
  t.same(c.closed, c.session.journey, 'each visit was handed out once, when it closed');
});

t.test('given a call started on version 1 when version 2 is published then the call continues on version 1', async (t) => {
  const v1 = { ...twoMenus(false), version: 1 };
  const c = new Call(v1);
  c.start();
  const v2: Flow = { ...v1, version: 2, nodes: { ...v1.nodes, two: { type: 'hangup', reason: 'v2' } } };
  t.not(v2, c.session.flow);
  c.finishPrompt();
  c.press('2');
  c.finishPrompt();
  t.match(c.end, { reason: 'two' });
  t.ok(c.session.journey.every((j) => j.flowVersion === 1));
});

t.test('given a step when it runs then the input session is not changed', async (t) => {
  const s0 = createSession({ id: 'c1', flow: twoMenus(true), env: { callerNumber: '+100' } });
  const r1 = step(s0, { type: 'start' }, T0);
  const copy = JSON.parse(JSON.stringify(r1.session)) as unknown;
  const r2 = step(r1.session, { type: 'dtmf', digit: '1' }, T0 + 1);
  t.same(JSON.parse(JSON.stringify(r1.session)), copy);
  t.not(r2.session, r1.session);
  t.equal(s0.status, 'ready');
});

t.test('given set and branch nodes that loop without waiting when run then the guard hangs up instead of spinning', async (t) => {
  const nodes: Record<string, FlowNode> = {
    a: { type: 'set', values: { x: 1 }, next: 'b' },
    b: { type: 'branch', cases: [{ when: { var: 'x', op: 'eq', value: 2 }, next: 'out' }], default: 'a' },
    out: { type: 'hangup' },
  };
  const c = new Call(flowOf(nodes));
  c.start();
  t.match(c.end, { type: 'hangup', reason: 'visit_limit' });
  t.equal(c.session.end?.by, 'guard');
  t.equal(c.path.length, 100);
});

t.test('given a menu whose no-input target is itself when the caller stays silent then the per-call visit cap ends the call', async (t) => {
  const c = new Call(
    flowOf({
      m: { type: 'menu', prompts: [{ tts: 'Menu' }], choices: { '1': 'out' }, retries: 0, noInput: 'm' },
      out: { type: 'hangup' },
    }),
    { maxVisits: 5 },
  );
  c.start();
  for (let i = 0; i < 5; i++) {
    c.finishPrompt();
    c.fireTimer();
  }
  t.match(c.end, { type: 'hangup', reason: 'visit_limit' });
});

t.test('given a key that is not DTMF when sent then it is ignored', async (t) => {
  const c = new Call(twoMenus(false));
  c.start();
  c.send({ type: 'dtmf', digit: 'x' });
  c.send({ type: 'dtmf', digit: '12' });
  t.same(c.session.typeAhead, []);
});
