/**
 * Inbound voice through the ACD on a real Asterisk: a SIPp caller dials an entry point, waits in
 * its queue with music, the router offers the call to the ready agent, the agent's phone (a SIPp
 * UAS with a static contact) rings, answers, is bridged with the caller and recorded, and hangs
 * up; the caller is hung up by us and the agent's capacity is freed.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { createSilentLogger } from '../../server/infra/logger.js';
import { createAriClient } from '../../server/telephony/ari-client.js';
import { agentEndpointId } from '../../server/domain/sip-endpoint.js';
import { bearer, buildTestAppWithTelephony, eventually, loginAs, serverLog } from '../helpers/app.js';
import { ensureAsterisk, uniqueName } from '../helpers/asterisk.js';
import { freeUdpPort, runSipp, runSippUas, waitUdpListening } from '../helpers/sipp.js';

t.test('given a queue, a ready agent and an entry point on a real Asterisk', async (t) => {
  const asterisk = await ensureAsterisk('main');
  const appName = uniqueName('voice');
  const agentId = uniqueName('ag').toLowerCase().replace(/[^a-z0-9]/g, '');
  const entry = `8${Date.now().toString().slice(-7)}`;
  const app = await buildTestAppWithTelephony(t, {
    IPCC_ASTERISK_SERVERS: `main=${asterisk.ariUrl.replace('://', `://${asterisk.ariUser}:${asterisk.ariPassword}@`)}`,
    IPCC_ARI_APP: appName,
    IPCC_ROUTER_LEASE_MS: '1000',
  });
  await eventually(async () => app.telephony?.health().every((h) => h.up), 10000);
  await eventually(async () => app.router?.isLeader(), 5000);

  // The agent's phone: a static contact on loopback, pushed into Asterisk over ARI.
  const agentIp = '127.0.0.1';
  const agentPort = await freeUdpPort(agentIp, 1);
  const ari = createAriClient({ name: 'provision', baseUrl: asterisk.ariUrl, username: asterisk.ariUser, password: asterisk.ariPassword, app: `${appName}-prov`, logger: createSilentLogger() });
  const push = (type: string, id: string, fields: Record<string, string>) =>
    ari.request('PUT', `/asterisk/config/dynamic/res_pjsip/${type}/${id}`, { body: { fields: Object.entries(fields).map(([attribute, value]) => ({ attribute, value })) } });
  // The endpoint is named as the server names agents' endpoints; its contact is static (no REGISTER).
  const endpoint = agentEndpointId(app.tenantId, agentId);
  await push('aor', endpoint, { contact: `sip:agent@${agentIp}:${agentPort}`, max_contacts: '1' });
  await push('endpoint', endpoint, { aors: endpoint, context: 'ipcc-agents', allow: '!all,ulaw', direct_media: 'no' });
  t.teardown(async () => {
    await ari.request('DELETE', `/asterisk/config/dynamic/res_pjsip/endpoint/${endpoint}`).catch(() => undefined);
    await ari.request('DELETE', `/asterisk/config/dynamic/res_pjsip/aor/${endpoint}`).catch(() => undefined);
  });

  const admin = await loginAs(app, ['admin']);
  const H = bearer(admin.token);
  const put = (url: string, payload: object) => app.inject({ method: 'PUT', url, headers: H, payload });
  t.equal((await put('/v1/skills/voice', { name: 'Voice' })).statusCode, 201);
  t.equal((await put('/v1/queues/hotline', { name: 'Hotline', strategy: 'longest_idle', skills: [{ skillId: 'voice', minLevel: 1 }], serviceLevel: { percent: 80, withinSeconds: 20 } })).statusCode, 201);
  t.equal((await put(`/v1/agents/${agentId}`, { name: 'Agent', skills: [{ skillId: 'voice', level: 5 }] })).statusCode, 201);
  const ep = await put(`/v1/entry-points/${entry}`, { queueId: 'hotline' });
  t.equal(ep.statusCode, 200, ep.body);
  const badEp = await put(`/v1/entry-points/${entry}9`, { queueId: 'nope' });
  t.equal(badEp.statusCode, 400);
  t.equal(badEp.json().code, 'unknown_reference');
  await eventually(async () => (await app.inject({ method: 'PUT', url: `/v1/agents/${agentId}/presence`, headers: H, payload: { kind: 'ready' } })).statusCode === 202, 5000);
  await eventually(async () => (await app.inject({ method: 'GET', url: `/v1/agents/${agentId}/state`, headers: H })).json().presence.kind === 'ready', 5000);

  await t.test('when a caller dials the entry point then the agent rings, answers, is bridged and recorded, and both sides end cleanly', async (t) => {
    const callerNumber = `6${Date.now().toString().slice(-9)}`;
    const agentPhone = runSippUas({ instance: asterisk, scenario: 'agent-answers-then-hangs-up.xml', ip: agentIp, port: agentPort, timeoutMs: 40_000 });
    // The phone must be listening before the call rings it (a ring to a closed port fails at once).
    await waitUdpListening(agentIp, agentPort, 10_000);
    const caller = await runSipp({ instance: asterisk, scenario: 'caller-far-end-hangs-up.xml', service: entry, keys: { app: appName, caller: callerNumber }, timeoutMs: 40_000 });
    const agent = await agentPhone;
    t.equal(caller.exitCode, 0, `caller SIPp succeeded: ${caller.errors || caller.stderr.slice(-500)}`);
    t.equal(caller.successful, 1, 'the caller was answered and then hung up by us');
    t.equal(agent.exitCode, 0, `agent SIPp succeeded: ${agent.errors || agent.stderr.slice(-500)}`);
    t.equal(agent.successful, 1, 'the agent phone rang, answered and hung up');

    const [rows] = (await app.mysql.query('SELECT id FROM voice_calls WHERE entry = ?', [entry])) as unknown as [{ id: string }[]];
    t.equal(rows.length, 1, 'one call on record');
    const callId = rows[0]!.id;
    if (caller.exitCode !== 0 || agent.exitCode !== 0) {
      // Say what the router decided for this call, so a failure can be read from the report.
      const [ds] = (await app.mysql.query('SELECT kind, body FROM route_decisions WHERE task_id = ? ORDER BY id', [callId])) as unknown as [{ kind: string; body: unknown }[]];
      const [evs] = (await app.mysql.query('SELECT event_id, body FROM routing_events ORDER BY at_ms, event_id')) as unknown as [{ event_id: string; body: unknown }[]];
      t.comment(`decisions for ${callId}: ${JSON.stringify(ds)}`);
      t.comment(`router input: ${JSON.stringify(evs.map((e) => e.body)).slice(0, 3000)}`);
      t.comment(`server log:\n${serverLog.filter((l) => !l.includes('"msg":"request completed"') && !l.includes('"msg":"incoming request"')).slice(-40).join('')}`);
    }
    const call = await eventually(async () => {
      const r = (await app.inject({ method: 'GET', url: `/v1/calls/${callId}`, headers: H })).json();
      return r.outcome ? r : undefined;
    }, 5000);
    t.equal(call.queueId, 'hotline');
    t.equal(call.agentId, agentId);
    t.equal(call.outcome, 'completed');
    t.ok(call.answeredAt && call.endedAt, 'answered and ended times are recorded');
    const task = (await app.inject({ method: 'GET', url: `/v1/tasks/${callId}`, headers: H })).json();
    t.equal(task.assignedAgentId, agentId, 'the ACD assigned the call to the agent');
    await eventually(async () => (await app.inject({ method: 'GET', url: `/v1/tasks/${callId}`, headers: H })).json().state === 'ended', 5000);
    const file = path.join(asterisk.instanceDir, 'spool/recording', `${call.recording}.wav`);
    await eventually(async () => existsSync(file) && statSync(file).size > 44, 5000);
    t.ok(statSync(file).size > 1000, `the bridged call was recorded (${statSync(file).size} bytes)`);
    // Played back over HTTP to allowed roles, whole or by range, each access audited.
    const qa = bearer((await loginAs(app, ['qa'])).token);
    const whole = await app.inject({ method: 'GET', url: `/v1/calls/${callId}/recording`, headers: qa });
    t.equal(whole.statusCode, 200);
    t.equal(whole.headers['accept-ranges'], 'bytes');
    t.equal(whole.rawPayload.length, statSync(file).size, 'the whole file');
    t.equal(whole.rawPayload.subarray(0, 4).toString('ascii'), 'RIFF', 'a WAV file');
    const part = await app.inject({ method: 'GET', url: `/v1/calls/${callId}/recording`, headers: { ...qa, range: 'bytes=100-199' } });
    t.equal(part.statusCode, 206);
    t.equal(part.headers['content-range'], `bytes 100-199/${statSync(file).size}`);
    t.same(part.rawPayload, whole.rawPayload.subarray(100, 200));
    const tail = await app.inject({ method: 'GET', url: `/v1/calls/${callId}/recording`, headers: { ...qa, range: 'bytes=-10' } });
    t.equal(tail.rawPayload.length, 10, 'a suffix range');
    const outside = await app.inject({ method: 'GET', url: `/v1/calls/${callId}/recording`, headers: { ...qa, range: 'bytes=99999999-' } });
    t.equal(outside.statusCode, 416);
    t.equal(outside.json().code, 'range_not_satisfiable');
    const agentToken = bearer((await loginAs(app, ['agent'])).token);
    t.equal((await app.inject({ method: 'GET', url: `/v1/calls/${callId}/recording`, headers: agentToken })).statusCode, 403, 'agents may not play recordings');
    t.equal((await app.inject({ method: 'GET', url: '/v1/calls/no-such-call/recording', headers: qa })).statusCode, 404);
    const [audits] = (await app.mysql.query("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'recording.fetch' AND target = ?", [callId])) as unknown as [{ n: number }[]];
    t.equal(Number(audits[0]?.n), 4, 'every access is audited');
    const events = (await app.inject({ method: 'GET', url: `/v1/agents/${agentId}/events`, headers: H })).json().items.map((i: { event: { kind: string } }) => i.event);
    const kinds = events.map((e: { kind: string }) => e.kind);
    t.ok(kinds.indexOf('route') >= 0 && kinds.indexOf('screen_pop') > kinds.indexOf('route'), `the desktop got the offer, then the screen-pop (${kinds.join(', ')})`);
    t.match(events.find((e: { kind: string }) => e.kind === 'screen_pop'), { taskId: callId, queueId: 'hotline', entry, caller: { number: callerNumber } });
    const state = await eventually(async () => {
      const s = (await app.inject({ method: 'GET', url: `/v1/agents/${agentId}/state`, headers: H })).json();
      return s.loadUnits === 0 ? s : undefined;
    }, 5000);
    t.equal(state.loadUnits, 0, "the agent's capacity is free again");
    t.equal(state.presence.kind, 'ready');
  });

  await t.test('when a caller dials an unknown number then it hears an announcement and is hung up', async (t) => {
    const r = await runSipp({ instance: asterisk, scenario: 'caller-far-end-hangs-up.xml', service: `${entry}77`, keys: { app: appName, caller: '600000001' }, timeoutMs: 30_000 });
    t.equal(r.exitCode, 0, r.errors || r.stderr.slice(-300));
    const [rows] = (await app.mysql.query('SELECT outcome FROM voice_calls WHERE entry = ?', [`${entry}77`])) as unknown as [{ outcome: string }[]];
    t.same(rows.map((x) => x.outcome), ['no_entry_point']);
  });
});
