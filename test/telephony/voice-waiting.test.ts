/**
 * What waiting callers get on a real Asterisk: position and wait announcements, a callback that
 * keeps the caller's place (the agent is reserved first, then the customer dialled through the
 * outside line; a busy customer is tried again), a second call from a customer whose callback
 * waits taking that callback's place, overflow to another queue, a max-wait message, and a
 * voicemail at max wait. Callers are SIPp UACs (RFC 2833 keys), agents and the customer's phone
 * on the outside line SIPp UASs at fixed addresses.
 */
import t from 'tap';
import { createSilentLogger } from '../../server/infra/logger.js';
import { createAriClient } from '../../server/telephony/ari-client.js';
import { bearer, buildVoiceTestApp, jsonApi, eventually, loginAs } from '../helpers/app.js';
import { ensureAsterisk, uniqueName } from '../helpers/asterisk.js';
import { pushOutsideLine } from '../helpers/outside-line.js';
import { freeUdpPort, runSipp, runSippUas, waitUdpListening, type SippResult } from '../helpers/sipp.js';

t.setTimeout(300_000);

interface CallRow {
  id: string;
  caller_number: string;
  direction: string;
  interaction_id: string;
  queue_id: string | null;
  agent_id: string | null;
  answered_at: Date | null;
  outcome: string | null;
}

t.test('given queues with waiting rules on a real Asterisk and an outside line', async (t) => {
  const asterisk = await ensureAsterisk('main');
  const appName = uniqueName('wait');
  const trunk = uniqueName('line');
  const app = await buildVoiceTestApp(t, asterisk, appName, { IPCC_OUTBOUND_DIAL: `PJSIP/{number}@${trunk}`, IPCC_CALLBACK_RETRY_SECONDS: '5' });
  const ari = createAriClient({ name: 'wait-check', baseUrl: asterisk.ariUrl, username: asterisk.ariUser, password: asterisk.ariPassword, app: `${appName}-check`, logger: createSilentLogger() });
  const H = bearer((await loginAs(app, ['admin'])).token);
  const { api, must } = jsonApi(app, H);
  const announced: { callId: string; position: number }[] = [];
  app.events.subscribe('voice.announced', (e) => {
    announced.push({ callId: e.callId, position: e.position });
  });
  const serviceLevel = { percent: 80, withinSeconds: 20 };
  await must('PUT', '/v1/skills/voice', { name: 'Voice' });
  await must('PUT', '/v1/skills/night', { name: 'Night' });
  const skills = [{ skillId: 'voice', minLevel: 1 }];
  await must('PUT', '/v1/queues/care', { name: 'Care', strategy: 'longest_idle', skills, serviceLevel, voice: { announceEverySeconds: 10, callbackKey: '1' } });
  await must('PUT', '/v1/queues/late', { name: 'Late', strategy: 'longest_idle', skills: [{ skillId: 'night', minLevel: 1 }], serviceLevel });
  await must('PUT', '/v1/queues/first', { name: 'First', strategy: 'longest_idle', skills: [{ skillId: 'night', minLevel: 1 }], serviceLevel, maxWaitSeconds: 3, overflowQueueId: 'care' });
  await must('PUT', '/v1/queues/short', { name: 'Short', strategy: 'longest_idle', skills: [{ skillId: 'night', minLevel: 1 }], serviceLevel, maxWaitSeconds: 3 });
  await must('PUT', '/v1/queues/leave-message', { name: 'Leave a message', strategy: 'longest_idle', skills: [{ skillId: 'night', minLevel: 1 }], serviceLevel, maxWaitSeconds: 3, voice: { onMaxWait: 'voicemail' } });
  const bad = await api('PUT', '/v1/queues/bad', { name: 'Bad', strategy: 'longest_idle', skills, serviceLevel, voice: { callbackKey: '11' } });
  t.equal(bad.statusCode, 400, 'a callback key is one key');
  const agent = `wa${Date.now().toString(36).slice(-5)}`;
  await must('PUT', `/v1/agents/${agent}`, { name: agent, skills: [{ skillId: 'voice', level: 5 }] });
  const agentPort = await freeUdpPort('127.0.0.1', 1);
  await must('PUT', `/v1/agents/${agent}/sip-login`, { contact: `sip:agent@127.0.0.1:${agentPort}` });
  const entries: Record<string, string> = {};
  const base = `3${Date.now().toString().slice(-6)}`;
  for (const [i, q] of ['care', 'first', 'short', 'leave-message'].entries()) {
    entries[q] = `${base}${i}`;
    await must('PUT', `/v1/entry-points/${entries[q]}`, { queueId: q });
  }
  // The outside line: its one contact is the customer's phone.
  const customerPort = await freeUdpPort('127.0.0.1', 1);
  await pushOutsideLine(t, asterisk, { name: trunk, port: customerPort, appName });

  const presence = async (kind: 'ready' | 'not_ready') => {
    const state = async () => (await api('GET', `/v1/agents/${agent}/state`)).json().presence.kind as string;
    await eventually(async () => (await state()) === kind || (await api('PUT', `/v1/agents/${agent}/presence`, kind === 'ready' ? { kind } : { kind, reason: 'test' })).statusCode === 202, 5000);
    await eventually(async () => (await state()) === kind, 5000);
  };
  const uas = async (port: number, scenario: string, o: { pauseMs?: number; calls?: number } = {}): Promise<{ done: Promise<SippResult> }> => {
    const done = runSippUas({ instance: asterisk, scenario, ip: '127.0.0.1', port, timeoutMs: 90_000, ...(o.pauseMs ? { pauseMs: o.pauseMs } : {}), ...(o.calls ? { calls: o.calls } : {}) });
    await waitUdpListening('127.0.0.1', port, 10_000);
    return { done };
  };
  const dial = (caller: string, entry: string, scenario = 'caller-waits-for-far-end.xml', pauseMs?: number) =>
    runSipp({ instance: asterisk, scenario, service: entry, keys: { app: appName, caller }, timeoutMs: 90_000, ...(pauseMs ? { pauseMs } : {}) });
  const rows = async (where: string, args: unknown[]): Promise<CallRow[]> =>
    ((await app.mysql.query(`SELECT id, caller_number, direction, interaction_id, queue_id, agent_id, answered_at, outcome FROM voice_calls WHERE ${where} ORDER BY arrived_at`, args)) as unknown as [CallRow[]])[0];
  const stamp = Date.now().toString().slice(-6);
  const explain = async () => {
    const [ds] = await app.mysql.query('SELECT task_id, kind, body FROM route_decisions ORDER BY id');
    t.comment(`decisions: ${JSON.stringify((ds as { task_id: string; kind: string; body: { kind: string; reason?: string; offers?: { agentId: string }[] } }[]).map((d) => [d.task_id, d.kind, d.body.reason ?? d.body.offers?.map((o) => o.agentId).join(',') ?? '']))}`);
  };

  await t.test('when a caller waits in a queue that announces then the caller hears the place regularly', async (t) => {
    await presence('not_ready');
    const caller = `81${stamp}`;
    // The caller hangs up by itself after 12 s + 8 s (announcements come every 10 s).
    const run = dial(caller, entries.care!, 'caller-leaves-message.xml', 12_000);
    const call = await eventually(async () => (await rows('caller_number = ?', [caller]))[0], 10_000, 100);
    await eventually(async () => announced.some((a) => a.callId === call.id), 15_000, 200);
    t.same(announced.find((a) => a.callId === call.id)?.position, 1, 'told the place in the queue (first)');
    const r0 = await run;
    t.equal(r0.exitCode, 0, `the caller talked and hung up: ${r0.errors || r0.stderr.slice(-300)}`);
    const ended = await eventually(async () => (await rows('caller_number = ?', [caller]))[0]?.outcome, 10_000, 100);
    t.equal(ended, 'abandoned', 'a caller who hangs up while waiting abandoned');
  });

  await t.test('when a waiting caller presses the callback key then the place is kept, the agent is reserved first and a busy customer is tried again', async (t) => {
    await presence('not_ready');
    const first = `82${stamp}`;
    const second = `83${stamp}`;
    // The first caller asks for a callback after 3 s; the second arrived later and keeps waiting.
    const firstRun = dial(first, entries.care!, 'caller-asks-for-callback.xml', 3000);
    await eventually(async () => (await rows('caller_number = ?', [first])).length === 1, 10_000, 100);
    await new Promise((r) => setTimeout(r, 500));
    const secondRun = dial(second, entries.care!);
    const asked = await firstRun;
    t.equal(asked.exitCode, 0, `the first caller was thanked and let go: ${asked.errors}`);
    const origin = (await rows('caller_number = ? AND direction = ?', [first, 'inbound']))[0]!;
    t.equal(origin.outcome, 'callback_requested');
    const cbId = `cb-${origin.id}`;
    const waiting = (await api('GET', `/v1/callbacks/${cbId}`)).json();
    t.match(waiting, { state: 'waiting', queueId: 'care', interactionId: origin.interaction_id, attempts: 0 });
    // The customer's phone is busy the first time, then answers and talks for 2 s.
    const busy = await uas(customerPort, 'phone-busy.xml');
    const agentPhone = await uas(agentPort, 'agent-waits-for-far-end.xml', { calls: 3 });
    await presence('ready');
    t.equal((await busy.done).exitCode, 0, 'the customer was dialled (and was busy)');
    const retry = await eventually(async () => {
      const c = (await api('GET', `/v1/callbacks/${cbId}`)).json();
      return c.state === 'scheduled' ? c : undefined;
    }, 15_000, 100).catch(async (err: unknown) => {
      await explain();
      throw err;
    });
    t.same(retry.history.map((h: { result: string }) => h.result), ['busy'], 'the busy attempt is on record');
    t.equal(retry.agentId, agent, 'the agent was reserved before dialling');
    // While the callback waits for its next try, the second caller (who came later) is served; that call is then hung up.
    const secondCall = await eventually(async () => (await rows('caller_number = ?', [second])).find((r) => r.answered_at), 15_000, 100);
    t.equal(secondCall.agent_id, agent);
    await ari.request('DELETE', `/channels/${secondCall.id}`);
    t.equal((await secondRun).exitCode, 0);
    const answers = await uas(customerPort, 'agent-talks-then-hangs-up.xml', { pauseMs: 2000 });
    t.equal((await answers.done).exitCode, 0, 'the customer answered the second attempt and hung up');
    const done = await eventually(async () => {
      const c = (await api('GET', `/v1/callbacks/${cbId}`)).json();
      return c.state === 'completed' ? c : undefined;
    }, 20_000, 100);
    t.same(done.history.map((h: { result: string }) => h.result), ['busy', 'answered']);
    const cbCall = (await rows('id = ?', [cbId]))[0]!;
    t.match(cbCall, { direction: 'callback', agent_id: agent, outcome: 'completed', interaction_id: origin.interaction_id }, 'the callback is a call of the same interaction');
    const interaction = (await api('GET', `/v1/interactions/${origin.interaction_id}`)).json();
    t.same(interaction.calls.map((c: { direction: string }) => c.direction), ['inbound', 'callback'], 'one interaction: the first call and the callback');
    await presence('not_ready');
    await agentPhone.done.catch(() => undefined);
  });

  await t.test('when a customer with a waiting callback calls again then the call takes the callback’s place', async (t) => {
    await presence('not_ready');
    const caller = `84${stamp}`;
    const other = `85${stamp}`;
    t.equal((await dial(caller, entries.care!, 'caller-asks-for-callback.xml', 1500)).exitCode, 0);
    const origin = (await rows('caller_number = ? AND direction = ?', [caller, 'inbound']))[0]!;
    const otherRun = dial(other, entries.care!);
    await eventually(async () => (await rows('caller_number = ?', [other])).length === 1, 10_000, 100);
    const again = dial(caller, entries.care!);
    const merged = await eventually(async () => {
      const c = (await api('GET', `/v1/callbacks/cb-${origin.id}`)).json();
      return c.state === 'merged' ? c : undefined;
    }, 10_000, 100);
    t.ok(merged.mergedCallId, 'the callback was merged into the new call');
    const agentPhone = await uas(agentPort, 'agent-talks-then-hangs-up.xml', { pauseMs: 1000, calls: 2 });
    await presence('ready');
    const [a, b] = await Promise.all([again, otherRun]);
    t.equal(a.exitCode, 0, a.errors || a.stderr.slice(-300));
    t.equal(b.exitCode, 0, b.errors || b.stderr.slice(-300));
    t.equal((await agentPhone.done).successful, 2);
    const newCall = (await rows('id = ?', [merged.mergedCallId]))[0]!;
    const otherCall = (await rows('caller_number = ?', [other]))[0]!;
    t.equal(newCall.interaction_id, origin.interaction_id, 'the new call continues the same interaction');
    t.ok(newCall.answered_at! < otherCall.answered_at!, 'served before the caller who came after the callback was asked for');
    t.equal((await rows('caller_number = ? AND direction = ?', [caller, 'callback'])).filter((r) => r.answered_at).length, 0, 'never called back as well');
    await presence('not_ready');
  });

  await t.test('when a caller waits past max wait then it overflows to another queue, or hears a message, or leaves a voicemail', async (t) => {
    await presence('not_ready');
    const over = `86${stamp}`;
    const overRun = dial(over, entries.first!);
    await eventually(async () => (await rows('caller_number = ?', [over]))[0]?.queue_id === 'care', 15_000, 100);
    t.pass('the caller overflowed from first to care');
    const agentPhone = await uas(agentPort, 'agent-talks-then-hangs-up.xml', { pauseMs: 1000 });
    await presence('ready');
    const ro = await overRun;
    t.equal(ro.exitCode, 0, ro.errors || ro.stderr.slice(-300));
    t.equal((await agentPhone.done).exitCode, 0, 'and was answered there');
    await presence('not_ready');

    const short = `87${stamp}`;
    t.equal((await dial(short, entries.short!)).exitCode, 0, 'the caller heard the message and was hung up');
    t.equal((await rows('caller_number = ?', [short]))[0]?.outcome, 'max_wait');

    const message = `88${stamp}`;
    const vm = dial(message, entries['leave-message']!, 'caller-leaves-message.xml', 7000);
    t.equal((await vm).exitCode, 0, 'the caller talked after the greeting and hung up');
    const row = await eventually(async () => (await rows('caller_number = ?', [message]))[0]?.outcome ? (await rows('caller_number = ?', [message]))[0] : undefined, 10_000, 100);
    t.equal(row.outcome, 'max_wait', 'the call ended at max wait, with a message left');
    const list = (await api('GET', '/v1/voicemails?mailbox=leave-message')).json().items;
    const mine = list.find((v: { callId: string }) => v.callId === row.id);
    t.ok(mine, 'the voicemail is kept with the call');
    t.ok(mine.durationMs >= 2000, `the message has a length (${mine.durationMs} ms)`);
    t.equal(mine.interactionId, row.interaction_id);
    const audio = await api('GET', `/v1/voicemails/${mine.id}/audio`);
    t.equal(audio.statusCode, 200);
    t.equal(audio.rawPayload.subarray(0, 4).toString('ascii'), 'RIFF', 'its audio is a WAV file');
  });
});
