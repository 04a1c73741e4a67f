/**
 * An agent's phone that hangs up a moment after its answer has dropped the call, even when the
 * router's assignment was taken first and the call is already connected: the caller goes back to
 * the queue at its place and the next agent takes it. A hang-up later than that ends the call.
 * The events here carry no media-server times (the fake's), so the window is timed by our clock.
 */
import t from 'tap';
import { eventually } from '../helpers/app.js';
import { bridgedCall, queueWith, readyAgent, voiceAppWithFake } from '../helpers/voice-calls.js';

t.test('given the app with a fake media server whose phones answer at once', async (t) => {
  const c = await voiceAppWithFake(t);
  const { app, fake, admin } = c;
  const get = async (url: string) => (await app.inject({ method: 'GET', url, headers: admin })).json();
  /** The agent leg a connected call has: the last leg the fake rang, with the offer it rang for. */
  const lastLeg = () => {
    const rings = fake.made('ringLeg');
    return { legId: `leg-${rings.length}`, tag: (rings[rings.length - 1]?.[1] as { tag: string }).tag };
  };
  const phoneHangsUp = (leg: { legId: string; tag: string }) => fake.emit({ type: 'leg_ended', server: 'fake', legId: leg.legId, tag: leg.tag, answered: true, cause: 16, endedBy: 'remote' });

  await t.test('when the connected agent phone hangs up right after answering then the caller goes back to its place and the next agent takes it', async (t) => {
    const q = await queueWith(c);
    const first = await readyAgent(c, q.skill);
    const callId = await bridgedCall(c, q.entry, '+34600333444');
    const connected = await get(`/v1/calls/${callId}`);
    t.equal(connected.agentId, first, 'the call was connected to the first agent (the assignment came first)');
    const waitingSince = (await get(`/v1/tasks/${callId}`)).waitingSince;
    await phoneHangsUp(lastLeg());

    const state = await eventually(async () => {
      const s = await get(`/v1/agents/${first}/state`);
      return s.presence.kind === 'not_ready' && s.loadUnits === 0 ? s : undefined;
    }, 5000).catch(() => undefined);
    t.same(state?.presence, { kind: 'not_ready', reason: 'call_dropped' }, 'the agent whose phone dropped the call is not ready, its capacity free');
    const requeued = await eventually(async () => {
      const v = await app.inject({ method: 'GET', url: `/v1/tasks/${callId}~1`, headers: admin });
      return v.statusCode === 200 ? (v.json() as { queueId: string; waitingSince: string; state: string }) : undefined;
    }, 5000).catch(() => undefined);
    t.equal(requeued?.queueId, q.queueId, 'the caller is back in its queue');
    t.equal(requeued?.waitingSince, waitingSince, 'at the place it had');
    t.equal((await get(`/v1/calls/${callId}`)).outcome ?? null, null, 'the call goes on');

    const next = await readyAgent(c, q.skill);
    const taken = await eventually(async () => {
      const v = await get(`/v1/calls/${callId}`);
      return v.agentId === next ? v : undefined;
    }, 5000).catch(() => undefined);
    t.ok(taken, 'the next agent took the caller');
    const [legs] = (await app.mysql.query("SELECT party, end_reason FROM call_legs WHERE call_id = ? AND kind = 'agent' ORDER BY started_at, leg_id", [callId])) as unknown as [{ party: string; end_reason: string | null }[]];
    t.same(legs.map((l) => [l.party, l.end_reason]), [[first, 'dropped'], [next, null]], "the dropped leg's end says so");
    await fake.emit({ type: 'call_ended', server: 'fake', callId, cause: 16, causeText: 'Normal Clearing', endedBy: 'customer' });
  });

  await t.test('when the connected agent phone hangs up a second after answering then the call ends as completed', async (t) => {
    const q = await queueWith(c);
    const agent = await readyAgent(c, q.skill);
    const callId = await bridgedCall(c, q.entry, '+34600333555');
    const leg = lastLeg();
    await new Promise((r) => setTimeout(r, 1000));
    await phoneHangsUp(leg);
    const ended = await eventually(async () => (await get(`/v1/calls/${callId}`)).outcome as string | undefined, 5000).catch(() => undefined);
    t.equal(ended, 'completed', 'a real answer that then hangs up is a call');
    t.equal((await app.inject({ method: 'GET', url: `/v1/tasks/${callId}~1`, headers: admin })).statusCode, 404, 'and the caller was not queued again');
    t.not((await get(`/v1/agents/${agent}/state`)).presence.kind, 'not_ready', 'nor the agent made not ready');
  });
});
