/**
 * The IVR's other ends on a real Asterisk: a menu whose key 1 records a voicemail (kept with the
 * interaction and what the IVR collected), key 2 transfers to an outside number, and key 3 asks
 * for a callback (the agent is reserved, then the caller's number dialled through the outside
 * line). Callers are SIPp UACs sending RFC 2833 keys; the agent and the outside party are SIPp
 * UASs at fixed addresses.
 */
import t from 'tap';
import { bearer, eventually, loginAs } from '../helpers/app.js';
import { ensureAsterisk, uniqueName } from '../helpers/asterisk.js';
import { pushOutsideLine } from '../helpers/outside-line.js';
import { buildIvrTestApp, publishFlowAt } from '../helpers/ivr.js';
import { freeUdpPort, runSipp, runSippUas, waitUdpListening } from '../helpers/sipp.js';

t.setTimeout(240_000);

t.test('given an IVR menu leading to a voicemail, an outside transfer and a callback', async (t) => {
  const asterisk = await ensureAsterisk('main');
  const appName = uniqueName('ivrend');
  const line = uniqueName('line');
  const { app } = await buildIvrTestApp(t, asterisk, appName, { IPCC_OUTBOUND_DIAL: `PJSIP/{number}@${line}`, IPCC_ROUTER_LEASE_MS: '1000' });
  await eventually(async () => app.router?.isLeader(), 5000);
  const H = bearer((await loginAs(app, ['admin'])).token);
  const must = async (method: 'PUT' | 'GET' | 'POST', url: string, payload?: object) => {
    const r = await app.inject({ method, url, headers: H, ...(payload ? { payload } : {}) });
    if (r.statusCode >= 300) throw new Error(`${method} ${url} → ${r.statusCode} ${r.body}`);
    return r.json();
  };
  await must('PUT', '/v1/skills/voice', { name: 'Voice' });
  await must('PUT', '/v1/queues/sales', { name: 'Sales', strategy: 'longest_idle', skills: [{ skillId: 'voice', minLevel: 1 }], serviceLevel: { percent: 80, withinSeconds: 20 } });
  const agent = `ie${Date.now().toString(36).slice(-5)}`;
  await must('PUT', `/v1/agents/${agent}`, { name: agent, skills: [{ skillId: 'voice', level: 5 }] });
  const agentPort = await freeUdpPort('127.0.0.1', 1);
  await must('PUT', `/v1/agents/${agent}/sip-login`, { contact: `sip:agent@127.0.0.1:${agentPort}` });
  const outsidePort = await freeUdpPort('127.0.0.1', 1);
  await pushOutsideLine(t, asterisk, { name: line, port: outsidePort, appName });
  const flowId = `ends-${Date.now().toString(36)}`;
  const entry = `2${Date.now().toString().slice(-7)}`;
  const flow = {
    id: flowId, name: 'Ends', start: 'menu', defaultLanguage: 'en',
    nodes: {
      menu: { type: 'menu', prompts: [{ sound: 'beep' }], choices: { '1': 'message', '2': 'outside', '3': 'later' }, timeoutMs: 8000, retries: 0, noInput: 'bye' },
      message: { type: 'voicemail', mailbox: 'sales', maxSeconds: 20 },
      outside: { type: 'transfer', number: '5550177', timeoutMs: 20000 },
      later: { type: 'callback', queue: 'sales' },
      bye: { type: 'hangup' },
    },
  };
  await publishFlowAt(app, H, flow, entry);
  const dial = (caller: string, scenario: string, pauseMs: number) => runSipp({ instance: asterisk, scenario, service: entry, keys: { app: appName, caller }, timeoutMs: 60_000, pauseMs });
  const callOf = async (caller: string) => {
    const [rows] = (await app.mysql.query('SELECT id, interaction_id, outcome, direction FROM voice_calls WHERE caller_number = ? ORDER BY arrived_at', [caller])) as unknown as [{ id: string; interaction_id: string; outcome: string | null; direction: string }[]];
    return rows;
  };
  const stamp = Date.now().toString().slice(-6);

  await t.test('when the caller presses 1 and talks then the message is kept as a voicemail of the interaction', async (t) => {
    const caller = `91${stamp}`;
    const r = await dial(caller, 'ivr-caller-1-leaves-message.xml', 1500);
    t.equal(r.exitCode, 0, `the caller left a message and hung up: ${r.errors || r.stderr.slice(-300)}`);
    const row = await eventually(async () => (await callOf(caller))[0]?.outcome ? (await callOf(caller))[0] : undefined, 10_000, 100);
    const vm = await eventually(async () => (await must('GET', '/v1/voicemails?mailbox=sales')).items.find((v: { callId: string }) => v.callId === row.id), 10_000, 200);
    t.equal(vm.interactionId, row.interaction_id);
    t.ok(vm.durationMs > 1000, `the message has a length (${vm.durationMs} ms)`);
    t.same(vm.context?.path?.slice(0, 2), ['menu', 'message'], 'the IVR path travels with the voicemail');
    const audio = await app.inject({ method: 'GET', url: `/v1/voicemails/${vm.id}/audio`, headers: H });
    t.equal(audio.statusCode, 200);
    t.ok(audio.rawPayload.length > 8000, `audio is there (${audio.rawPayload.length} bytes)`);
  });

  await t.test('when the caller presses 2 then the call is transferred to the outside number, which answers', async (t) => {
    const outside = runSippUas({ instance: asterisk, scenario: 'agent-talks-then-hangs-up.xml', ip: '127.0.0.1', port: outsidePort, pauseMs: 2000, timeoutMs: 60_000 });
    await waitUdpListening('127.0.0.1', outsidePort, 10_000);
    const caller = `92${stamp}`;
    const r = await dial(caller, 'caller-presses-2.xml', 1500);
    t.equal(r.exitCode, 0, `the caller talked to the outside party and was hung up by us: ${r.errors || r.stderr.slice(-300)}`);
    t.equal((await outside).exitCode, 0, 'the outside number rang, answered and hung up');
    const row = await eventually(async () => (await callOf(caller))[0]?.outcome ? (await callOf(caller))[0] : undefined, 10_000, 100);
    t.equal(row.outcome, 'completed');
    const call = await must('GET', `/v1/calls/${row.id}`);
    t.ok(call.legs.some((l: { kind: string; party: string }) => l.kind === 'external' && l.party === '5550177'), 'the outside leg is on record');
    t.equal(call.transfers, 1);
  });

  await t.test('when the caller presses 3 then a callback waits in the queue and the agent is reserved before the caller is dialled', async (t) => {
    const caller = `93${stamp}`;
    const r = await dial(caller, 'caller-presses-3.xml', 1500);
    t.equal(r.exitCode, 0, `the caller was thanked and let go: ${r.errors || r.stderr.slice(-300)}`);
    const [origin] = await callOf(caller);
    t.equal(origin?.outcome, 'callback_requested');
    const cb = await must('GET', `/v1/callbacks/cb-${origin!.id}`);
    t.match(cb, { state: 'waiting', queueId: 'sales', number: caller });
    const agentPhone = runSippUas({ instance: asterisk, scenario: 'agent-waits-for-far-end.xml', ip: '127.0.0.1', port: agentPort, timeoutMs: 60_000 });
    const customer = runSippUas({ instance: asterisk, scenario: 'agent-talks-then-hangs-up.xml', ip: '127.0.0.1', port: outsidePort, pauseMs: 2000, timeoutMs: 60_000 });
    await waitUdpListening('127.0.0.1', agentPort, 10_000);
    await waitUdpListening('127.0.0.1', outsidePort, 10_000);
    await eventually(async () => (await app.inject({ method: 'PUT', url: `/v1/agents/${agent}/presence`, headers: H, payload: { kind: 'ready' } })).statusCode === 202, 5000);
    t.equal((await customer).exitCode, 0, 'the customer was called back, answered and hung up');
    t.equal((await agentPhone).exitCode, 0, 'the agent was on the line first and was let go at the end');
    const done = await eventually(async () => {
      const c = await must('GET', `/v1/callbacks/cb-${origin!.id}`);
      return c.state === 'completed' ? c : undefined;
    }, 10_000, 100);
    t.equal(done.agentId, agent);
    t.same(done.history.map((h: { result: string }) => h.result), ['answered']);
    const calls = await callOf(caller);
    t.same(calls.map((c) => c.direction), ['inbound', 'callback']);
    t.equal(calls[1]?.interaction_id, origin!.interaction_id, 'the callback continues the same interaction');
  });
});
