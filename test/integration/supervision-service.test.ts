/**
 * The supervision service's own logic over an in-memory media server (the CallControl port's
 * fake): what happens when the media server fails or goes quiet, and the clean-up after a
 * (re)connect. What each mode sounds like is proved on the real stack in
 * test/telephony/supervision.test.ts.
 */
import t from 'tap';
import { isAppError } from '../../server/domain/errors.js';
import { systemClock } from '../../server/infra/clock.js';
import { createEventBus } from '../../server/infra/events.js';
import { createSilentLogger } from '../../server/infra/logger.js';
import type { AuditEntry } from '../../server/infra/audit.js';
import { createSupervisionService, type LiveCallView } from '../../server/modules/supervision/service.js';
import { createSupervisionStore } from '../../server/modules/supervision/store.js';
import type { CallControl, ServerSnapshot } from '../../server/telephony/call-control.js';
import { createFakeCallControl, mediaError } from '../helpers/fake-call-control.js';
import { eventually } from '../helpers/app.js';

const call: LiveCallView = { server: 'fake', callId: 'c1', state: 'connected', agentId: 'a1', agentLeg: 'agent-leg-1', bridgeId: 'call-c1' };
const actor = { name: 'user:sup' };

function setup(opts: { snapshot?: ServerSnapshot } = {}) {
  const fake = createFakeCallControl();
  let snap: ServerSnapshot = opts.snapshot ?? { channels: [], bridges: [] };
  const calls = new Proxy(fake.calls, {
    get: (target, prop) => (prop === 'snapshot' ? async () => snap : Reflect.get(target, prop)),
  }) as CallControl;
  const live = new Map<string, LiveCallView>([[call.callId, { ...call }]]);
  const audits: AuditEntry[] = [];
  const events = createEventBus(() => undefined);
  const ended: { sessionId: string; reason: string }[] = [];
  events.subscribe('supervision.ended', (e) => ended.push(e));
  let n = 0;
  const service = createSupervisionService({
    store: createSupervisionStore(),
    calls,
    liveCall: (id) => live.get(id),
    liveCallOfAgent: () => undefined,
    agentPhone: async (agentId) => (agentId === 'boss' ? 'PJSIP/agent-1-boss' : undefined),
    endpointPhone: (e) => `PJSIP/${e}`,
    events,
    audit: async (e) => {
      audits.push(e);
    },
    clock: systemClock,
    log: createSilentLogger(),
    tenantId: 1,
    timing: { ringGraceMs: 50, lossGraceMs: 20, hangupWaitMs: 50 },
    newId: () => `s${++n}`,
  });
  const answer = async (legId: string) => {
    service.onCallEvent({ type: 'side_leg_answered', server: 'fake', legId });
    await eventually(async () => service.list('c1').items.find((s) => `sup-${s.id}` === legId)?.state === 'active', 2000, 5);
  };
  return { fake, service, live, audits, ended, answer, setSnapshot: (s: ServerSnapshot) => (snap = s) };
}

const codeOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return isAppError(e) ? e.code : `not an AppError: ${String(e)}`;
  }
};

t.test('given a listening session when the whisper snoop cannot be made then the mode stays listen with its snoop, and the failure is a 503 with a stable code', async (t) => {
  const { fake, service, answer, audits } = setup();
  const s = await service.start('c1', { mode: 'listen', phone: { kind: 'agent', agentId: 'boss' } }, actor);
  await answer('sup-s1');
  t.same(fake.made('snoop').map((a) => [a[1], a[2]]), [['agent-leg-1', { snoopId: 'sup-s1-snoop-1', listen: 'both', speak: 'none', timeoutMs: 3000 }]], 'listen taps the agent leg, hearing both ways, speaking nowhere');
  fake.failWhen('snoop', () => mediaError('timeout', 'ari.timeout'));
  t.equal(await codeOf(service.switchMode('c1', s.id, 'whisper', actor)), 'supervision_media_failed');
  const after = service.list('c1').items[0];
  t.match(after, { mode: 'listen', state: 'active' }, 'still listening');
  t.notOk(fake.made('hangup').some((a) => a[1] === 'sup-s1-snoop-1'), 'the working snoop was not dropped');
  t.ok(audits.some((a) => a.action === 'supervision.switch' && a.outcome === 'failed'), 'the failed switch is audited');
  fake.failWhen('snoop', () => undefined);
  t.match(await service.switchMode('c1', s.id, 'whisper', actor), { mode: 'whisper' }, 'a later switch works');
  t.same(fake.made('snoop').at(-1)?.[2], { snoopId: 'sup-s1-snoop-3', listen: 'both', speak: 'out', timeoutMs: 3000 }, 'whisper speaks only towards the agent');
  t.ok(fake.made('hangup').some((a) => a[1] === 'sup-s1-snoop-1'), 'and then the listen snoop is dropped');
});

t.test('given a phone that cannot be rung when starting then the reply is 503 phone_ring_failed and the session is listed as ended ring_failed', async (t) => {
  const { fake, service } = setup();
  fake.failWhen('ringSideLeg', () => mediaError('invalid', 'ari.bad_request'));
  t.equal(await codeOf(service.start('c1', { mode: 'barge', phone: { kind: 'endpoint', endpoint: 'desk-9' } }, actor)), 'phone_ring_failed');
  t.match(service.list('c1').items, [{ state: 'ended', endReason: 'ring_failed', phone: { endpoint: 'desk-9' } }]);
  t.same(fake.made('ringSideLeg')[0]?.[1], { legId: 'sup-s1', endpoint: 'PJSIP/desk-9', callerId: 'Supervision', timeoutSeconds: 20 });
});

t.test('given a ringing session when the media server never reports the ring ending then our own guard ends it as no_answer', async (t) => {
  const { fake, service, ended } = setup();
  await service.start('c1', { mode: 'listen', phone: { kind: 'agent', agentId: 'boss' }, ringSeconds: 0.05 }, actor);
  await eventually(async () => service.list('c1').items[0]?.state === 'ended', 2000, 10);
  t.equal(service.list('c1').items[0]?.endReason, 'no_answer');
  t.ok(fake.made('hangup').some((a) => a[1] === 'sup-s1'), 'the ringing leg is hung up');
  await eventually(async () => ended.length === 1, 1000, 5);
  t.same(ended[0], { tenantId: 1, sessionId: 's1', callId: 'c1', reason: 'no_answer' });
});

t.test('given an active session when its snoop ends by itself then it ends as media_failed while the call goes on, and as call_ended when the call is gone', async (t) => {
  const { service, live, answer } = setup();
  await service.start('c1', { mode: 'listen', phone: { kind: 'agent', agentId: 'boss' } }, actor);
  await answer('sup-s1');
  service.onCallEvent({ type: 'side_leg_ended', server: 'fake', legId: 'sup-s1-snoop-1', answered: true, cause: 0 });
  await eventually(async () => service.list('c1').items[0]?.state === 'ended', 2000, 5);
  t.equal(service.list('c1').items[0]?.endReason, 'media_failed');

  await service.start('c1', { mode: 'whisper', phone: { kind: 'agent', agentId: 'boss' } }, actor);
  await answer('sup-s2');
  live.delete('c1');
  service.onCallEvent({ type: 'side_leg_ended', server: 'fake', legId: 'sup-s2-snoop-1', answered: true, cause: 0 });
  await eventually(async () => service.list('c1').items[1]?.state === 'ended', 2000, 5);
  t.equal(service.list('c1').items[1]?.endReason, 'call_ended');
});

t.test('given an active session when the agent leaves a call that goes on (a transfer) then the session ends as agent_left', async (t) => {
  const { service, live, answer } = setup();
  await service.start('c1', { mode: 'barge', phone: { kind: 'agent', agentId: 'boss' } }, actor);
  await answer('sup-s1');
  service.onCallEvent({ type: 'leg_ended', server: 'fake', legId: 'agent-leg-1', tag: 'o1', answered: true, cause: 16 });
  live.set('c1', { ...call, agentId: 'a2', agentLeg: 'agent-leg-2' });
  await eventually(async () => service.list('c1').items[0]?.state === 'ended', 2000, 5);
  t.equal(service.list('c1').items[0]?.endReason, 'agent_left');
});

t.test('given sessions and leftovers on a media server when it (re)connects then vanished sessions end as lost and leftovers of ours are removed, nothing else', async (t) => {
  const { fake, service, answer, setSnapshot } = setup();
  await service.start('c1', { mode: 'listen', phone: { kind: 'agent', agentId: 'boss' } }, actor);
  await answer('sup-s1');
  await service.start('c1', { mode: 'barge', phone: { kind: 'endpoint', endpoint: 'desk-2' } }, actor);
  await answer('sup-s2');
  await new Promise((r) => setTimeout(r, 5)); // the snapshot is read after both started
  setSnapshot({
    channels: [
      { id: 'sup-s1', kind: 'other', arg: undefined, answered: true, createdAt: 0 },
      { id: 'sup-s1-snoop-1', kind: 'other', arg: undefined, answered: true, createdAt: 0 },
      // s2's leg is gone (the phone hung up while we were away); an old process left these:
      { id: 'sup-old', kind: 'other', arg: undefined, answered: true, createdAt: 0 },
      { id: 'sup-old-snoop-4', kind: 'other', arg: undefined, answered: true, createdAt: 0 },
      { id: 'c1', kind: 'call', arg: '100', answered: true, createdAt: 0 },
      { id: 'agent-leg-1', kind: 'leg', arg: 'o1', answered: true, createdAt: 0 },
    ],
    bridges: [
      { id: 'sup-s1', channelIds: ['sup-s1', 'sup-s1-snoop-1'] },
      { id: 'sup-old', channelIds: [] },
      { id: 'call-c1', channelIds: ['c1', 'agent-leg-1'] },
    ],
  });
  service.onCallEvent({ type: 'server_up', server: 'fake', reconnect: true, startedAt: 0 });
  await eventually(async () => fake.made('destroyBridge').some((a) => a[1] === 'sup-old'), 2000, 5);
  const items = service.list('c1').items;
  t.match(items, [{ id: 's1', state: 'active' }, { id: 's2', state: 'ended', endReason: 'lost' }]);
  const hungUp = fake.made('hangup').map((a) => a[1]);
  t.ok(hungUp.includes('sup-old') && hungUp.includes('sup-old-snoop-4'), 'leftover channels are hung up');
  t.notOk(hungUp.some((id) => id === 'c1' || id === 'agent-leg-1' || id === 'sup-s1' || id === 'sup-s1-snoop-1'), 'the call and the live session are left alone');
  t.notOk(fake.made('destroyBridge').some((a) => a[1] === 'call-c1' || a[1] === 'sup-s1'), 'only our leftover bridge is destroyed');
});

t.test('given open sessions when the server shuts down then they end as shutdown and their legs are hung up', async (t) => {
  const { fake, service, answer } = setup();
  await service.start('c1', { mode: 'whisper', phone: { kind: 'agent', agentId: 'boss' } }, actor);
  await answer('sup-s1');
  await service.close();
  t.match(service.list('c1').items, [{ state: 'ended', endReason: 'shutdown' }]);
  const hungUp = fake.made('hangup').map((a) => a[1]);
  t.ok(hungUp.includes('sup-s1') && hungUp.includes('sup-s1-snoop-1'), 'leg and snoop hung up');
  t.ok(fake.made('destroyBridge').some((a) => a[1] === 'sup-s1'), 'own bridge destroyed');
});

t.test('given a call that is not connected when starting then call_not_live, 404 when unknown and 409 when waiting', async (t) => {
  const { service, live } = setup();
  live.set('q1', { server: 'fake', callId: 'q1', state: 'queued' });
  const kindOf = async (p: Promise<unknown>) => p.then(() => 'resolved', (e: unknown) => (isAppError(e) ? `${e.kind}:${e.code}` : String(e)));
  t.equal(await kindOf(service.start('nope', { mode: 'listen', phone: { kind: 'agent', agentId: 'boss' } }, actor)), 'not_found:call_not_live');
  t.equal(await kindOf(service.start('q1', { mode: 'listen', phone: { kind: 'agent', agentId: 'boss' } }, actor)), 'conflict:call_not_live');
  t.equal(await kindOf(service.start('c1', { mode: 'listen', phone: { kind: 'agent', agentId: 'ghost' } }, actor)), 'conflict:phone_not_provisioned');
});
