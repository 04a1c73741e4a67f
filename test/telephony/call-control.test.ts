/**
 * Call control of an agent's call on a real Asterisk: hold and mute, blind transfer to a queue,
 * attended transfer to an agent, a consultation with an outside number turned into a three-way
 * conference, and a transfer started on the agent's phone (SIP REFER). Callers are SIPp UACs,
 * agents and the outside party SIPp UASs at fixed addresses; the outside line is a PJSIP
 * endpoint pushed for the test and named in IPCC_OUTBOUND_DIAL.
 */
import t from 'tap';
import { createSilentLogger } from '../../server/infra/logger.js';
import { createAriClient } from '../../server/telephony/ari-client.js';
import { bearer, buildVoiceTestApp, jsonApi, eventually, loginAs, serverLog } from '../helpers/app.js';
import { ensureAsterisk, uniqueName } from '../helpers/asterisk.js';
import { pushOutsideLine } from '../helpers/outside-line.js';
import { freeUdpPort, runSipp, runSippUas, waitUdpListening, type SippResult } from '../helpers/sipp.js';

t.setTimeout(240_000);

interface CallRow {
  id: string;
  agent_id: string | null;
  outcome: string | null;
  transfers: number;
  hold_ms: number | null;
  talk_ms: number | null;
  queue_ms: number | null;
}

t.test('given agents on a real Asterisk and an outside line', async (t) => {
  const asterisk = await ensureAsterisk('main');
  const appName = uniqueName('cc');
  const trunk = uniqueName('trunk');
  const app = await buildVoiceTestApp(t, asterisk, appName, { IPCC_OUTBOUND_DIAL: `PJSIP/{number}@${trunk}` });
  const ari = createAriClient({ name: 'cc-check', baseUrl: asterisk.ariUrl, username: asterisk.ariUser, password: asterisk.ariPassword, app: `${appName}-check`, logger: createSilentLogger() });
  const H = bearer((await loginAs(app, ['admin'])).token);
  const { api, must } = jsonApi(app, H);
  await must('PUT', '/v1/skills/voice', { name: 'Voice' });
  for (const q of ['front', 'back']) await must('PUT', `/v1/queues/${q}`, { name: q, strategy: 'longest_idle', skills: [{ skillId: 'voice', minLevel: 1 }], serviceLevel: { percent: 80, withinSeconds: 20 } });
  const tag = Date.now().toString(36).slice(-5);
  const a1 = `cca${tag}`;
  const a2 = `ccb${tag}`;
  const ports: Record<string, number> = {};
  for (const a of [a1, a2]) {
    await must('PUT', `/v1/agents/${a}`, { name: a, skills: [{ skillId: 'voice', level: 5 }] });
    ports[a] = await freeUdpPort('127.0.0.1', 1);
    await must('PUT', `/v1/agents/${a}/sip-login`, { contact: `sip:agent@127.0.0.1:${ports[a]}` });
  }
  const entry = `4${Date.now().toString().slice(-7)}`;
  const entryBack = `${entry}2`;
  await must('PUT', `/v1/entry-points/${entry}`, { queueId: 'front' });
  await must('PUT', `/v1/entry-points/${entryBack}`, { queueId: 'back' });
  // The outside line: a PJSIP endpoint whose contact is a SIPp UAS (the outside party).
  const outsidePort = await freeUdpPort('127.0.0.1', 1);
  await pushOutsideLine(t, asterisk, { name: trunk, port: outsidePort, appName });

  const ready = async (agentId: string) => {
    const state = async () => (await api('GET', `/v1/agents/${agentId}/state`)).json().presence.kind as string;
    await eventually(async () => (await state()) === 'ready' || (await api('PUT', `/v1/agents/${agentId}/presence`, { kind: 'ready' })).statusCode === 202, 5000).catch(async (err: unknown) => {
      t.comment(`${agentId} cannot go ready: ${(await api('PUT', `/v1/agents/${agentId}/presence`, { kind: 'ready' })).body}; state ${(await api('GET', `/v1/agents/${agentId}/state`)).body}`);
      throw err;
    });
    await eventually(async () => (await api('GET', `/v1/agents/${agentId}/state`)).json().presence.kind === 'ready', 5000).catch(async (err: unknown) => {
      t.comment(`${agentId} is not ready: ${(await api('GET', `/v1/agents/${agentId}/state`)).body}`);
      throw err;
    });
  };
  const notReady = async (agentId: string) => {
    await eventually(async () => (await api('PUT', `/v1/agents/${agentId}/presence`, { kind: 'not_ready', reason: 'test' })).statusCode === 202, 5000);
  };
  /** Starts an agent's phone and waits until it listens; `done` is its SIPp verdict (a wrapper: an async function would wait for it). */
  const phone = async (agentId: string, scenario: string, o: { pauseMs?: number; keys?: Record<string, string>; autoAnswer?: boolean } = {}): Promise<{ done: Promise<SippResult> }> => {
    const done = runSippUas({ instance: asterisk, scenario, ip: '127.0.0.1', port: ports[agentId]!, timeoutMs: 60_000, ...(o.pauseMs ? { pauseMs: o.pauseMs } : {}), ...(o.keys ? { keys: o.keys } : {}), ...(o.autoAnswer ? { autoAnswer: true } : {}) });
    await waitUdpListening('127.0.0.1', ports[agentId]!, 10_000);
    return { done };
  };
  const dial = (caller: string, service = entry) => runSipp({ instance: asterisk, scenario: 'caller-waits-for-far-end.xml', service, keys: { app: appName, caller }, timeoutMs: 60_000 });
  const callOf = async (caller: string): Promise<CallRow | undefined> => {
    const [rows] = (await app.mysql.query('SELECT id, agent_id, outcome, transfers, hold_ms, talk_ms, queue_ms FROM voice_calls WHERE caller_number = ? ORDER BY arrived_at DESC LIMIT 1', [caller])) as unknown as [CallRow[]];
    return rows[0];
  };
  const connectedTo = (agentId: string) => eventually(async (): Promise<{ callId: string; onHold: boolean } | undefined> => {
    const r = await api('GET', `/v1/agents/${agentId}/call`);
    if (r.statusCode !== 200) return undefined;
    const v = r.json() as { callId: string; onHold: boolean; state: string };
    return v.state === 'connected' ? v : undefined;
  }, 15_000, 100).catch(async (err: unknown) => {
    const [calls] = await app.mysql.query('SELECT id, queue_id, agent_id, queued_at, rang_at, answered_at, outcome FROM voice_calls ORDER BY arrived_at');
    const [ds] = await app.mysql.query('SELECT task_id, kind, body FROM route_decisions ORDER BY id');
    t.comment(`calls: ${JSON.stringify(calls)}\ndecisions: ${JSON.stringify(ds).slice(0, 3000)}\nlog:\n${serverLog.filter((l) => !/request (completed|rejected)|incoming request/.test(l)).slice(-30).join('')}`);
    throw err;
  });
  const bridgeMembers = async (callId: string): Promise<string[]> => (await ari.request<{ channels: string[] }>('GET', `/bridges/call-${callId}`)).channels;
  const finished = (caller: string) => eventually(async () => {
    const c = await callOf(caller);
    return c?.outcome ? c : undefined;
  }, 15_000, 100);
  const stamp = Date.now().toString().slice(-6);

  await t.test('when the agent holds, mutes and hangs up through the API then the customer leaves and rejoins the bridge and the hold time is on record', async (t) => {
    await notReady(a2);
    const agentPhone = (await phone(a1, 'agent-waits-for-far-end.xml')).done;
    await ready(a1);
    const caller = `71${stamp}`;
    const customer = dial(caller);
    const view = await connectedTo(a1);
    t.equal(view.onHold, false);
    await eventually(async () => (await bridgeMembers(view.callId)).length === 2, 5000, 50);
    t.pass('customer and agent share the call bridge');
    const held = await api('POST', `/v1/agents/${a1}/call/hold`);
    t.equal(held.statusCode, 200, held.body);
    t.equal(held.json().onHold, true);
    t.equal((await bridgeMembers(view.callId)).length, 1, 'only the agent is left in the bridge');
    t.notOk((await bridgeMembers(view.callId)).includes(view.callId), 'the customer is out of the bridge (hearing music)');
    const again = await api('POST', `/v1/agents/${a1}/call/hold`);
    t.equal(again.statusCode, 409);
    t.equal(again.json().code, 'call_state_unchanged');
    await new Promise((r) => setTimeout(r, 1200));
    t.equal((await api('POST', `/v1/agents/${a1}/call/unhold`)).statusCode, 200);
    t.ok((await bridgeMembers(view.callId)).includes(view.callId), 'the customer is back in the bridge');
    t.equal((await api('POST', `/v1/agents/${a1}/call/mute`)).json().muted, true);
    t.equal((await api('POST', `/v1/agents/${a1}/call/unmute`)).json().muted, false);
    t.equal((await api('POST', `/v1/agents/${a1}/call/hangup`)).statusCode, 200);
    const [c, p] = await Promise.all([customer, agentPhone]);
    t.equal(c.exitCode, 0, `the customer was hung up by us: ${c.errors}`);
    t.equal(p.exitCode, 0, `the agent phone was hung up by us: ${p.errors}`);
    const row = await finished(caller);
    t.equal(row.outcome, 'completed');
    t.ok(Number(row.hold_ms) >= 1000, `hold time recorded (${row.hold_ms} ms)`);
    t.ok(row.talk_ms !== null && Number(row.talk_ms) >= 0, `talk time recorded (${row.talk_ms} ms)`);
    const interaction = (await api('GET', `/v1/interactions/${row.id}`)).json();
    t.equal(interaction.holdMs, Number(row.hold_ms), 'the interaction carries the hold time');
    t.equal(interaction.outcome, 'completed');
    t.equal((await api('POST', `/v1/agents/${a1}/call/hold`)).json().code, 'no_active_call', 'no call, no hold');
    const audits = (await app.mysql.query("SELECT action FROM audit_log WHERE target = ? ORDER BY id", [row.id]))[0] as { action: string }[];
    t.same(audits.map((a) => a.action).filter((a) => a.startsWith('call.')), ['call.hold', 'call.unhold', 'call.mute', 'call.unmute', 'call.hangup'], 'each step is audited');
  });

  await t.test('when the agent transfers blind to another queue then the agent leaves and an agent of that queue takes the customer', async (t) => {
    const p1 = (await phone(a1, 'agent-waits-for-far-end.xml')).done;
    const p2 = (await phone(a2, 'agent-talks-then-hangs-up.xml', { pauseMs: 1500 })).done;
    await notReady(a2);
    await ready(a1);
    const caller = `72${stamp}`;
    const customer = dial(caller);
    await connectedTo(a1);
    await ready(a2);
    const r = await api('POST', `/v1/agents/${a1}/call/transfer`, { queueId: 'back' });
    t.equal(r.statusCode, 200, r.body);
    const [c, x1, x2] = await Promise.all([customer, p1, p2]);
    t.equal(x1.exitCode, 0, `the first agent was taken out of the call: ${x1.errors}`);
    t.equal(x2.exitCode, 0, `the second agent answered and hung up: ${x2.errors}`);
    t.equal(c.exitCode, 0, `the customer stayed until the end: ${c.errors}`);
    const row = await finished(caller);
    t.match(row, { outcome: 'completed', agent_id: a2, transfers: 1 });
    const call = (await api('GET', `/v1/calls/${row.id}`)).json();
    t.same(call.legs.map((l: { kind: string; party: string }) => `${l.kind}:${l.party}`), [`customer:${caller}`, `agent:${a1}`, `agent:${a2}`], 'the legs of the call');
    t.equal(call.legs[1].endReason, 'transferred');
    const interaction = (await api('GET', `/v1/interactions/${row.id}`)).json();
    t.match(interaction, { firstQueueId: 'front', lastQueueId: 'back', lastAgentId: a2, transfers: 1 });
  });

  await t.test('when the agent consults another agent and completes the transfer then the customer ends up with the consulted agent', async (t) => {
    const p1 = (await phone(a1, 'agent-waits-for-far-end.xml')).done;
    const p2 = (await phone(a2, 'agent-talks-then-hangs-up.xml', { pauseMs: 4000 })).done;
    await notReady(a2);
    await ready(a1);
    const caller = `73${stamp}`;
    const customer = dial(caller);
    const view = await connectedTo(a1);
    await ready(a2);
    const c1 = await api('POST', `/v1/agents/${a1}/call/consult`, { agentId: a2 });
    t.equal(c1.statusCode, 200, c1.body);
    t.equal(c1.json().onHold, true, 'the customer waits on hold during the consultation');
    const during = await eventually(async () => {
      const v = (await api('GET', `/v1/agents/${a1}/call`)).json();
      return v.consultation?.answered ? v : undefined;
    }, 15_000, 100);
    t.equal(during.consultation.agentId, a2);
    const members = await bridgeMembers(view.callId);
    t.equal(members.length, 2, 'the two agents talk in the call bridge');
    t.notOk(members.includes(view.callId), 'without the customer');
    t.equal((await api('POST', `/v1/agents/${a1}/call/hold`)).json().code, 'consultation_in_progress');
    t.equal((await api('POST', `/v1/agents/${a1}/call/consult/complete`)).statusCode, 200);
    await eventually(async () => (await bridgeMembers(view.callId)).includes(view.callId), 5000, 100);
    t.equal((await bridgeMembers(view.callId)).length, 2, 'the customer and the consulted agent');
    const [c, x1, x2] = await Promise.all([customer, p1, p2]);
    t.equal(c.exitCode, 0, c.errors);
    t.equal(x1.exitCode, 0, x1.errors);
    t.equal(x2.exitCode, 0, x2.errors);
    const row = await finished(caller);
    t.match(row, { outcome: 'completed', agent_id: a2, transfers: 1 });
    t.ok(Number(row.hold_ms) > 0, 'the consultation counts as hold time');
  });

  await t.test('when the agent consults an outside number and makes it a conference then all three talk and the call goes on after the agent leaves', async (t) => {
    await notReady(a2);
    const p1 = (await phone(a1, 'agent-talks-then-hangs-up.xml', { pauseMs: 9000 })).done;
    const outside = runSippUas({ instance: asterisk, scenario: 'agent-talks-then-hangs-up.xml', ip: '127.0.0.1', port: outsidePort, pauseMs: 9000, timeoutMs: 60_000 });
    await waitUdpListening('127.0.0.1', outsidePort, 10_000);
    await ready(a1);
    const caller = `74${stamp}`;
    const customer = dial(caller);
    const view = await connectedTo(a1);
    const c1 = await api('POST', `/v1/agents/${a1}/call/consult`, { number: '5550123' });
    t.equal(c1.statusCode, 200, c1.body);
    await eventually(async () => (await api('GET', `/v1/agents/${a1}/call`)).json().consultation?.answered, 15_000, 100);
    const conf = await api('POST', `/v1/agents/${a1}/call/conference`);
    t.equal(conf.statusCode, 200, conf.body);
    t.equal(conf.json().parties.length, 1);
    await eventually(async () => (await bridgeMembers(view.callId)).length === 3, 5000, 100);
    t.pass('customer, agent and outside party are in one bridge');
    const [c, x1, o] = await Promise.all([customer, p1, outside]);
    t.equal(x1.exitCode, 0, `the agent hung up first: ${x1.errors}`);
    t.equal(o.exitCode, 0, `the outside party talked on and hung up: ${o.errors}`);
    t.equal(c.exitCode, 0, `the customer was hung up by us after the last party left: ${c.errors}`);
    const row = await finished(caller);
    t.equal(row.outcome, 'completed');
    const legs = (await api('GET', `/v1/calls/${row.id}`)).json().legs.map((l: { kind: string; party: string }) => `${l.kind}:${l.party}`);
    t.ok(legs.includes('external:5550123'), `the outside leg is on record (${legs.join(', ')})`);
  });

  await t.test("when the agent's phone transfers with a SIP REFER to an entry point then the customer goes to that entry's queue", async (t) => {
    const p1 = (await phone(a1, 'agent-transfers-by-refer.xml', { keys: { refer_to: entryBack }, autoAnswer: true })).done;
    const p2 = (await phone(a2, 'agent-talks-then-hangs-up.xml', { pauseMs: 1500 })).done;
    await notReady(a2);
    await ready(a1);
    const caller = `75${stamp}`;
    const customer = dial(caller);
    await connectedTo(a1);
    await ready(a2);
    const [c, x1, x2] = await Promise.all([customer, p1, p2]);
    t.equal(x1.exitCode, 0, `the transferring phone got 202 and was taken out: ${x1.errors || x1.stderr.slice(-400)}`);
    t.equal(x2.exitCode, 0, `the agent of the other queue answered: ${x2.errors}`);
    t.equal(c.exitCode, 0, c.errors);
    const row = await finished(caller);
    t.match(row, { outcome: 'completed', agent_id: a2, transfers: 1 });
  });

  await t.test('when call control is asked wrongly then it answers with clear errors', async (t) => {
    const agentToken = bearer((await loginAs(app, ['agent'])).token);
    const other = await app.inject({ method: 'POST', url: `/v1/agents/${a1}/call/hold`, headers: agentToken });
    t.equal(other.statusCode, 403, 'an agent user may not control another agent’s call');
    const bad = await api('POST', `/v1/agents/${a1}/call/transfer`, { queueId: 'front', number: '123' });
    t.equal(bad.statusCode, 400);
    t.equal(bad.json().code, 'validation_failed');
    const unknown = await api('POST', `/v1/agents/${a1}/call/transfer`, { queueId: 'nowhere' });
    t.equal(unknown.statusCode, 400);
    t.equal(unknown.json().code, 'unknown_reference');
    const none = await api('POST', `/v1/agents/${a1}/call/consult/complete`);
    t.equal(none.statusCode, 409);
    t.equal(none.json().code, 'no_active_call');
  });
});
