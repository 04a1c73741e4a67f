/**
 * From an agent's answer to the call: the answering phone is joined with the caller at once,
 * before the router's assignment comes back (the parties hear each other one round trip
 * sooner), and undone — that phone hung up, the caller back to the music — when the router gives
 * the call to no one; and an answer that never becomes a call — the phone hangs up before it is joined —
 * sends the caller back to the queue at the place it had, lets the agent go (its capacity
 * freed, made not ready: its phone drops calls), and the next agent gets the caller before one
 * who came later; the dropped leg is on record. A phone that hangs up a moment after the router
 * assigned the call (within AGENT_DROP_MS of its answer) counts the same.
 */
import t from 'tap';
import { createSilentLogger } from '../../server/infra/logger.js';
import { createAriClient } from '../../server/telephony/ari-client.js';
import type { RouterRunner } from '../../server/modules/acd/router-runner.js';
import { bearer, buildVoiceTestApp, jsonApi, eventually, loginAs, serverLog } from '../helpers/app.js';
import { ensureAsterisk, uniqueName } from '../helpers/asterisk.js';
import { freeUdpPort, runSipp, runSippUas, waitUdpListening } from '../helpers/sipp.js';

t.setTimeout(120_000);

t.test('given a queue with two agents with phones on a real Asterisk', async (t) => {
  const asterisk = await ensureAsterisk('main');
  const appName = uniqueName('drop');
  const app = await buildVoiceTestApp(t, asterisk, appName);
  const H = bearer((await loginAs(app, ['admin'])).token);
  const { api, must } = jsonApi(app, H);
  await must('PUT', '/v1/skills/voice', { name: 'Voice' });
  await must('PUT', '/v1/queues/drops', { name: 'Drops', strategy: 'longest_idle', skills: [{ skillId: 'voice', minLevel: 1 }], serviceLevel: { percent: 80, withinSeconds: 20 } });
  const tag = Date.now().toString(36).slice(-5);
  const [dropper, taker] = [`da${tag}`, `db${tag}`];
  const ports: Record<string, number> = {};
  for (const a of [dropper, taker]) {
    await must('PUT', `/v1/agents/${a}`, { name: a, skills: [{ skillId: 'voice', level: 5 }] });
    ports[a] = await freeUdpPort('127.0.0.1', 1);
    await must('PUT', `/v1/agents/${a}/sip-login`, { contact: `sip:agent@127.0.0.1:${ports[a]}` });
  }
  const entry = `5${Date.now().toString().slice(-7)}`;
  await must('PUT', `/v1/entry-points/${entry}`, { queueId: 'drops' });
  const ready = (a: string) => eventually(async () => (await api('PUT', `/v1/agents/${a}/presence`, { kind: 'ready' })).statusCode === 202, 5000);
  /** A SIPp caller into the entry point who waits until the far end hangs up. */
  const dial = (caller: string) => runSipp({ instance: asterisk, scenario: 'caller-far-end-hangs-up.xml', service: entry, keys: { app: appName, caller }, timeoutMs: 60_000 });
  const phone = async (a: string, scenario: string, calls = 1, pauseMs?: number) => {
    const done = runSippUas({ instance: asterisk, scenario, ip: '127.0.0.1', port: ports[a]!, timeoutMs: 60_000, calls, ...(pauseMs !== undefined ? { pauseMs } : {}) });
    await waitUdpListening('127.0.0.1', ports[a]!, 10_000);
    // Wrapped: an async function returning the promise itself would wait for the phone's end.
    return { done };
  };

  const ari = createAriClient({ name: 'join-check', baseUrl: asterisk.ariUrl, username: asterisk.ariUser, password: asterisk.ariPassword, app: `${appName}-check`, logger: createSilentLogger() });
  // The app decorates itself with the router runner (typed there as its status only).
  const router = app.router as unknown as RouterRunner;
  t.teardown(() => {
    if (!router.isLeader()) router.start();
  });
  const rangCall = (caller: string) => eventually(async () => {
    const [rows] = (await app.mysql.query('SELECT id FROM voice_calls WHERE caller_number = ? AND rang_at IS NOT NULL', [caller])) as unknown as [{ id: string }[]];
    return rows[0]?.id;
  }, 10_000, 20);
  /** The call's record once it has ended. */
  const endedCall = (id: string) => eventually(async () => {
    const r = (await api('GET', `/v1/calls/${id}`)).json();
    return r.outcome ? (r as { agentId: string; outcome: string; answeredAt: string }) : undefined;
  }, 5000);
  const bridgeOf = (id: string) => ari.request<{ channels: string[] }>('GET', `/bridges/${id}`).catch(() => undefined);

  await t.test('when an agent answers then it is joined with the caller before the router has assigned the call', async (t) => {
    // The phone rings 1.5 s, answers and talks 8 s.
    const talks = await phone(taker, 'agent-rings-long-then-talks.xml', 1, 8000);
    await ready(taker);
    const callerNumber = `75${Date.now().toString().slice(-7)}`;
    const caller = dial(callerNumber);
    const rang = await rangCall(callerNumber);
    // While it rings, the router stops: nothing can be assigned until it is back.
    await router.stop();
    const members = await eventually(async () => {
      const b = await bridgeOf(`call-${rang}`);
      return b && b.channels.length === 2 ? b.channels : undefined;
    }, 5000, 50).catch(() => undefined);
    t.ok(members?.includes(rang), `the caller is in the call's bridge with the answered phone (${JSON.stringify(members)})`);
    const task = (await api('GET', `/v1/tasks/${rang}`)).json();
    t.not(task.state, 'assigned', `the router has not assigned it yet (task ${task.state})`);
    t.equal((await api('GET', `/v1/calls/${rang}`)).json().answeredAt ?? null, null, 'nor is the call on record as answered');
    // The router is back: the acceptance is applied and the call goes on as joined.
    router.start();
    const assigned = await eventually(async () => {
      const v = (await api('GET', `/v1/tasks/${rang}`)).json();
      return v.state === 'assigned' || v.state === 'ended' ? v : undefined;
    }, 10_000, 100).catch(async () => {
      t.comment(`router ${JSON.stringify(router.stats())} task ${JSON.stringify((await api('GET', `/v1/tasks/${rang}`)).json())}`);
      t.comment(serverLog.filter((l) => !l.includes('request completed') && !l.includes('incoming request')).slice(-25).join(''));
      return { assignedAgentId: undefined };
    });
    t.equal(assigned.assignedAgentId, taker);
    const [p, c] = await Promise.all([talks.done, caller]);
    t.equal(p.exitCode, 0, `the phone answered, talked and hung up: ${p.errors || p.stderr.slice(-300)}`);
    t.equal(c.exitCode, 0, `the caller was hung up at the end: ${c.errors || c.stderr.slice(-300)}`);
    const call = await endedCall(rang);
    t.match(call, { agentId: taker, outcome: 'completed' });
    // Back to not ready, so the next test decides who is offered calls.
    await must('PUT', `/v1/agents/${taker}/presence`, { kind: 'not_ready', reason: 'break' });
  });

  await t.test('when the answering phone hangs up at once then the caller keeps its place ahead of a later caller and the next agent takes it', async (t) => {
    // Two callers wait (first, then second) before any agent is ready.
    const stamp = Date.now().toString().slice(-7);
    const [firstNumber, secondNumber] = [`73${stamp}`, `74${stamp}`];
    const idOf = async (caller: string) => {
      const [rows] = (await app.mysql.query('SELECT id FROM voice_calls WHERE caller_number = ?', [caller])) as unknown as [{ id: string }[]];
      return rows[0]?.id;
    };
    const firstCaller = dial(firstNumber);
    const firstId = await eventually(() => idOf(firstNumber), 10_000, 100);
    await eventually(async () => (await api('GET', `/v1/tasks/${firstId}`)).json().state === 'queued', 10_000, 100);
    const secondCaller = dial(secondNumber);
    const secondId = await eventually(() => idOf(secondNumber), 10_000, 100);
    await eventually(async () => (await api('GET', `/v1/tasks/${secondId}`)).json().state === 'queued', 10_000, 100);

    // The first caller (longest waiting) is offered to the agent whose phone drops it.
    const drops = await phone(dropper, 'agent-answers-and-drops.xml');
    await ready(dropper);
    const dropped = await drops.done;
    t.equal(dropped.exitCode, 0, `the first phone rang, answered and hung up: ${dropped.errors || dropped.stderr.slice(-300)}`);
    const state = await eventually(async () => {
      const s = (await api('GET', `/v1/agents/${dropper}/state`)).json();
      return s.presence.kind === 'not_ready' && s.loadUnits === 0 ? s : undefined;
    }, 10_000, 100).catch(() => undefined);
    if (!state) t.comment(`server log:\n${serverLog.filter((l) => l.includes(firstId) || l.includes('"level":40') || l.includes('"level":50')).slice(-30).join('')}`);
    t.same(state?.presence, { kind: 'not_ready', reason: 'call_dropped' }, 'the agent whose phone dropped the call is not ready, its capacity free');
    const first = (await api('GET', `/v1/tasks/${firstId}`)).json();
    t.equal(first.assignedAgentId, dropper, 'the first caller was assigned to the agent who answered');
    const requeued = await eventually(async () => {
      const v = await api('GET', `/v1/tasks/${firstId}~1`);
      return v.statusCode === 200 && v.json().state === 'queued' ? (v.json() as { queueId: string; waitingSince: string; enqueuedAt: string }) : undefined;
    }, 5000, 100);
    t.equal(requeued.queueId, 'drops', 'the first caller is back in its queue');
    t.equal(requeued.waitingSince, first.waitingSince, `its place is the one it had: waiting since ${first.waitingSince}`);
    t.ok(Date.parse(requeued.enqueuedAt) > Date.parse(requeued.waitingSince), 'while this visit started later');
    t.equal((await api('GET', `/v1/calls/${firstId}`)).json().outcome ?? null, null, 'its call goes on');

    // The next agent takes both, the first caller first: it kept its place ahead of the second.
    const takes = await phone(taker, 'agent-answers-then-hangs-up.xml', 2);
    await ready(taker);
    const [took, c1, c2] = await Promise.all([takes.done, firstCaller, secondCaller]);
    t.equal(took.exitCode, 0, `the second phone answered both calls: ${took.errors || took.stderr.slice(-300)}`);
    t.equal(c1.exitCode, 0, `the first caller was answered and hung up at the end: ${c1.errors || c1.stderr.slice(-300)}`);
    t.equal(c2.exitCode, 0, `the second caller too: ${c2.errors || c2.stderr.slice(-300)}`);
    const [call1, call2] = [await endedCall(firstId), await endedCall(secondId)];
    t.match(call1, { agentId: taker, outcome: 'completed' });
    t.match(call2, { agentId: taker, outcome: 'completed' });
    t.ok(Date.parse(call1.answeredAt) < Date.parse(call2.answeredAt), `the first caller was answered before the second (${call1.answeredAt} < ${call2.answeredAt})`);
    const [legs] = (await app.mysql.query("SELECT party, end_reason FROM call_legs WHERE call_id = ? AND kind = 'agent' ORDER BY started_at", [firstId])) as unknown as [{ party: string; end_reason: string | null }[]];
    t.same(legs.map((l) => l.party), [dropper, taker], "both agent legs of the first call are on record");
    t.equal(legs[0]?.end_reason, 'dropped', "the dropped leg's end says so");
  });

  await t.test('when the answering phone hangs up a moment after the router assigned the call then the caller still keeps its place and the next agent takes it', async (t) => {
    // The same drop heard after the assignment instead of before it: a race of two paths that
    // must end the same way.
    await must('PUT', `/v1/agents/${taker}/presence`, { kind: 'not_ready', reason: 'break' });
    const drops = await phone(dropper, 'agent-answers-and-drops-late.xml');
    await ready(dropper);
    const callerNumber = `77${Date.now().toString().slice(-7)}`;
    const caller = dial(callerNumber);
    const callId = await rangCall(callerNumber);
    const dropped = await drops.done;
    t.equal(dropped.exitCode, 0, `the phone answered and hung up 0.3 s later: ${dropped.errors || dropped.stderr.slice(-300)}`);
    const state = await eventually(async () => {
      const s = (await api('GET', `/v1/agents/${dropper}/state`)).json();
      return s.presence.kind === 'not_ready' && s.loadUnits === 0 ? s : undefined;
    }, 10_000, 100).catch(() => undefined);
    if (!state) t.comment(`server log:\n${serverLog.filter((l) => l.includes(callId) || l.includes('"level":40') || l.includes('"level":50')).slice(-30).join('')}`);
    t.same(state?.presence, { kind: 'not_ready', reason: 'call_dropped' }, 'the agent whose phone dropped the call is not ready, its capacity free');
    const first = (await api('GET', `/v1/tasks/${callId}`)).json();
    const requeued = await eventually(async () => {
      const v = await api('GET', `/v1/tasks/${callId}~1`);
      return v.statusCode === 200 && v.json().state === 'queued' ? (v.json() as { queueId: string; waitingSince: string }) : undefined;
    }, 5000, 100).catch(() => undefined);
    t.equal(requeued?.queueId, 'drops', 'the caller is back in its queue');
    t.equal(requeued?.waitingSince, first.waitingSince, `at the place it had: waiting since ${first.waitingSince}`);
    t.equal((await api('GET', `/v1/calls/${callId}`)).json().outcome ?? null, null, 'its call goes on');
    const after = serverLog.some((l) => l.includes(callId) && l.includes('the agent phone hung up at once'));
    t.comment(`the hang-up was heard ${after ? 'after' : 'before'} the router's assignment`);

    const takes = await phone(taker, 'agent-answers-then-hangs-up.xml');
    await ready(taker);
    const [took, c] = await Promise.all([takes.done, caller]);
    t.equal(took.exitCode, 0, `the next phone answered, talked and hung up: ${took.errors || took.stderr.slice(-300)}`);
    t.equal(c.exitCode, 0, `the caller was answered and hung up at the end: ${c.errors || c.stderr.slice(-300)}`);
    t.match(await endedCall(callId), { agentId: taker, outcome: 'completed' });
    const [legs] = (await app.mysql.query("SELECT party, end_reason FROM call_legs WHERE call_id = ? AND kind = 'agent' ORDER BY started_at", [callId])) as unknown as [{ party: string; end_reason: string | null }[]];
    t.same(legs.map((l) => l.party), [dropper, taker], 'both agent legs are on record');
    t.equal(legs[0]?.end_reason, 'dropped', "the dropped leg's end says so");
  });

  await t.test('when the router does not give the call to the joined answer then that phone is hung up, the caller hears the music again and the next agent takes it', async (t) => {
    await must('PUT', `/v1/agents/${taker}/presence`, { kind: 'not_ready', reason: 'break' });
    const answers = await phone(dropper, 'agent-rings-long-waits-for-far-end.xml');
    await ready(dropper);
    const callerNumber = `76${Date.now().toString().slice(-7)}`;
    const caller = dial(callerNumber);
    const callId = await rangCall(callerNumber);
    // While the phone rings the router stops, and the agent goes not ready: once back, the router
    // withdraws the offer before it sees the answer, so the answer it then sees is refused.
    await router.stop();
    t.equal((await api('PUT', `/v1/agents/${dropper}/presence`, { kind: 'not_ready', reason: 'break' })).statusCode, 202);
    const joined = await eventually(async () => {
      const b = await bridgeOf(`call-${callId}`);
      return b && b.channels.length === 2 ? b.channels : undefined;
    }, 5000, 50).catch(() => undefined);
    t.ok(joined?.includes(callId), `the answer was joined with the caller (${JSON.stringify(joined)})`);
    if (!joined) {
      const [ds] = (await app.mysql.query('SELECT task_id, kind, body FROM route_decisions ORDER BY decided_at DESC, event_id DESC, idx DESC LIMIT 12')) as unknown as [{ task_id: string; kind: string; body: unknown }[]];
      t.comment(`call ${callId} decisions: ${JSON.stringify(ds).slice(0, 4000)}`);
    }
    router.start();
    const hungUp = await answers.done;
    t.equal(hungUp.exitCode, 0, `the joined phone was hung up by the server: ${hungUp.errors || hungUp.stderr.slice(-300)}`);
    const held = await eventually(async () => {
      const all = await ari.request<{ id: string; channels: string[] }[]>('GET', '/bridges');
      const mine = all.find((b) => b.channels.includes(callId));
      return mine && !mine.id.startsWith('call-') ? mine : undefined;
    }, 5000, 100).catch(() => undefined);
    t.ok(held, `the caller is back in the queue's holding bridge (${held?.id})`);
    t.equal((await api('GET', `/v1/calls/${callId}`)).json().outcome ?? null, null, 'the call goes on');
    t.equal((await api('GET', `/v1/tasks/${callId}`)).json().state, 'queued', 'its task waits in the queue again');

    const takes = await phone(taker, 'agent-answers-then-hangs-up.xml');
    await ready(taker);
    const [took, c] = await Promise.all([takes.done, caller]);
    t.equal(took.exitCode, 0, `the next phone answered, talked and hung up: ${took.errors || took.stderr.slice(-300)}`);
    t.equal(c.exitCode, 0, `the caller was hung up at the end: ${c.errors || c.stderr.slice(-300)}`);
    const call = await endedCall(callId);
    t.match(call, { agentId: taker, outcome: 'completed' });
  });
});
