/**
 * Supervision on a real Asterisk, proved with the audio each party received.
 *
 * The customer (SIPp) plays SIPp's G.711 speech sample; the agent's phone sends a 1400 Hz tone
 * and the supervisor's phone a 2600 Hz tone (each phone is a SIPp UAS whose SDP points at an RTP
 * socket of the test, which sends the tone and keeps what it receives; the customer's socket sits
 * on SIPp's media port). For each mode, a window of what every party received is measured with sox
 * in three bands: speech (200–700 Hz: the customer), 1300–1500 Hz (the agent) and 2500–2700 Hz
 * (the supervisor). Listening, whispering and barging are told apart by who received the
 * supervisor's tone, and whether the supervisor received the other two.
 */
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { createSilentLogger } from '../../server/infra/logger.js';
import { createAriClient, type AriClient } from '../../server/telephony/ari-client.js';
import { agentEndpointId } from '../../server/domain/sip-endpoint.js';
import { bearer, buildTestAppWithTelephony, eventually, loginAs, serverLog } from '../helpers/app.js';
import { ensureAsterisk, uniqueName } from '../helpers/asterisk.js';
import { bandRms, startRtpPeer, writeLongPcap, type RtpPeer } from '../helpers/rtp-peer.js';
import { freeUdpPort, runSipp, runSippUas, waitUdpListening, type SippResult } from '../helpers/sipp.js';
import path from 'node:path';

const SPEECH: [number, number] = [200, 700];
const AGENT_HZ = 1400;
const AGENT_BAND: [number, number] = [1300, 1500];
const SUPERVISOR_HZ = 2600;
const SUPERVISOR_BAND: [number, number] = [2500, 2700];
/**
 * Band RMS (of full scale) above which a party heard a source, and below which it did not. A tone
 * heard measures ~0.13 and the customer's speech 0.03–0.05; a band with nothing of its source in
 * it stays at the speech's own floor there, ~0.002.
 */
const HEARD = 0.01;
const SILENT = 0.008;
const TONE_AMPLITUDE = 6000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// About 45 s of call and a few seconds of set-up; tap's default of 30 s per file is too short.
t.setTimeout(120_000);

interface Heard {
  packets: number;
  speech: number;
  agent: number;
  supervisor: number;
}
type Window = Record<'customer' | 'agent' | 'supervisor', Heard>;

t.test('given a connected call between a talking customer and an agent, and a supervisor phone, on a real Asterisk', async (t) => {
  const asterisk = await ensureAsterisk('main');
  const appName = uniqueName('sup');
  const stamp = Date.now().toString().slice(-7);
  const entry = `5${stamp}`;
  const waitingEntry = `4${stamp}`;
  const agentId = `ag${stamp}`;
  const bossId = `boss${stamp}`;
  const app: FastifyInstance = await buildTestAppWithTelephony(t, {
    IPCC_ASTERISK_SERVERS: `main=${asterisk.ariUrl.replace('://', `://${asterisk.ariUser}:${asterisk.ariPassword}@`)}`,
    IPCC_ARI_APP: appName,
    IPCC_ROUTER_LEASE_MS: '1000',
  });
  await eventually(async () => app.telephony?.health().every((h) => h.up), 10000);
  await eventually(async () => app.router?.isLeader(), 5000);
  const ari: AriClient = createAriClient({ name: 'sup-check', baseUrl: asterisk.ariUrl, username: asterisk.ariUser, password: asterisk.ariPassword, app: `${appName}-check`, logger: createSilentLogger() });
  // Whatever a failed run leaves in the shared Asterisk under this test's application is removed.
  t.teardown(async () => {
    const left = await ari.request<{ channel_ids: string[]; bridge_ids: string[] }>('GET', `/applications/${appName}`).catch(() => ({ channel_ids: [], bridge_ids: [] }));
    for (const id of left.channel_ids) await ari.channels.hangup(id).catch(() => undefined);
    for (const id of left.bridge_ids) if (!id.startsWith('hold-')) await ari.bridges.destroy(id).catch(() => undefined);
  });
  const seen: { name: string; payload: { sessionId: string; reason?: string } }[] = [];
  for (const name of ['supervision.started', 'supervision.connected', 'supervision.mode_changed', 'supervision.ended'] as const) {
    app.events.subscribe(name, (payload) => seen.push({ name, payload }));
  }

  const admin = bearer((await loginAs(app, ['admin'])).token);
  const supervisor = bearer((await loginAs(app, ['supervisor'])).token);
  const ok = async (method: 'PUT' | 'POST', url: string, payload: object) => {
    const r = await app.inject({ method, url, headers: admin, payload });
    if (r.statusCode >= 300) throw new Error(`${method} ${url} → ${r.statusCode} ${r.body}`);
    return r.json();
  };
  await ok('PUT', '/v1/skills/voice', { name: 'Voice' });
  await ok('PUT', '/v1/skills/nobody', { name: 'Nobody has it' });
  await ok('PUT', '/v1/skills/office', { name: 'Office' });
  await ok('PUT', '/v1/queues/care', { name: 'Care', strategy: 'longest_idle', skills: [{ skillId: 'voice', minLevel: 1 }], serviceLevel: { percent: 80, withinSeconds: 20 } });
  await ok('PUT', '/v1/queues/later', { name: 'Later', strategy: 'longest_idle', skills: [{ skillId: 'nobody', minLevel: 1 }], serviceLevel: { percent: 80, withinSeconds: 20 } });
  await ok('PUT', `/v1/agents/${agentId}`, { name: 'Agent', skills: [{ skillId: 'voice', level: 5 }] });
  // The supervisor works from an agent's SIP login (an agent record that is never made ready).
  await ok('PUT', `/v1/agents/${bossId}`, { name: 'Supervisor', skills: [{ skillId: 'office', level: 1 }] });
  await ok('PUT', `/v1/entry-points/${entry}`, { queueId: 'care' });
  await ok('PUT', `/v1/entry-points/${waitingEntry}`, { queueId: 'later' });

  // Phones at fixed addresses; each SIPp UAS's SDP names an RTP socket of the test.
  const agentSip = await freeUdpPort('127.0.0.1', 1);
  const bossSip = await freeUdpPort('127.0.0.1', 1);
  const ringOutSip = await freeUdpPort('127.0.0.1', 1);
  await ok('PUT', `/v1/agents/${agentId}/sip-login`, { contact: `sip:agent@127.0.0.1:${agentSip}` });
  await ok('PUT', `/v1/agents/${bossId}/sip-login`, { contact: `sip:boss@127.0.0.1:${bossSip}` });
  // A desk phone that is no agent's, named by its endpoint: it rings and is never answered.
  const ringOutEndpoint = `supdesk-${stamp}`;
  const push = (type: string, id: string, fields: Record<string, string>) =>
    ari.request('PUT', `/asterisk/config/dynamic/res_pjsip/${type}/${id}`, { body: { fields: Object.entries(fields).map(([attribute, value]) => ({ attribute, value })) } });
  await push('aor', ringOutEndpoint, { contact: `sip:desk@127.0.0.1:${ringOutSip}`, max_contacts: '1' });
  await push('endpoint', ringOutEndpoint, { aors: ringOutEndpoint, context: 'ipcc-agents', allow: '!all,ulaw', direct_media: 'no' });
  t.teardown(async () => {
    await ari.request('DELETE', `/asterisk/config/dynamic/res_pjsip/endpoint/${ringOutEndpoint}`).catch(() => undefined);
    await ari.request('DELETE', `/asterisk/config/dynamic/res_pjsip/aor/${ringOutEndpoint}`).catch(() => undefined);
    for (const a of [agentId, bossId]) {
      const ep = agentEndpointId(app.tenantId, a);
      for (const type of ['endpoint', 'aor', 'auth']) await ari.request('DELETE', `/asterisk/config/dynamic/res_pjsip/${type}/${ep}`).catch(() => undefined);
    }
  });

  const agentRtp = await startRtpPeer('127.0.0.1', await freeUdpPort('127.0.0.1', 2));
  const bossRtp = await startRtpPeer('127.0.0.1', await freeUdpPort('127.0.0.1', 2));
  const customerRtp = await startRtpPeer(asterisk.testCallerIp, await freeUdpPort(asterisk.testCallerIp, 4));
  t.teardown(async () => {
    for (const p of [agentRtp, bossRtp, customerRtp]) await p.close();
  });
  agentRtp.sendTone({ hz: AGENT_HZ, amplitude: TONE_AMPLITUDE, payloadType: 0 });
  bossRtp.sendTone({ hz: SUPERVISOR_HZ, amplitude: TONE_AMPLITUDE, payloadType: 0 });

  const phones: Promise<SippResult>[] = [
    runSippUas({ instance: asterisk, scenario: 'supervision-phone-answers.xml', ip: '127.0.0.1', port: agentSip, keys: { rtpport: String(agentRtp.port) }, timeoutMs: 90_000 }),
    // Two calls: one session stopped by the supervisor, one ended by the call's end.
    runSippUas({ instance: asterisk, scenario: 'supervision-phone-answers.xml', ip: '127.0.0.1', port: bossSip, keys: { rtpport: String(bossRtp.port) }, calls: 2, timeoutMs: 90_000 }),
    runSippUas({ instance: asterisk, scenario: 'supervision-phone-rings-out.xml', ip: '127.0.0.1', port: ringOutSip, timeoutMs: 90_000 }),
  ];
  for (const port of [agentSip, bossSip, ringOutSip]) await waitUdpListening('127.0.0.1', port, 10_000);
  await eventually(async () => (await app.inject({ method: 'PUT', url: `/v1/agents/${agentId}/presence`, headers: admin, payload: { kind: 'ready' } })).statusCode === 202, 5000);

  // The customer talks for 5 × 7.1 s, then hangs up; everything below happens during that call.
  // Its speech is SIPp's 7 s sample made into one continuous stream (the scenario names the file).
  writeLongPcap(path.join(asterisk.root, 'usr/share/sip-tester/g711a.pcap'), path.join(asterisk.root, 'tmp/ipcc-supervision-speech.pcap'), 6);
  const customer = runSipp({
    instance: asterisk, scenario: 'supervision-customer.xml', service: entry, keys: { app: appName, caller: `61${stamp}` }, sets: { loops: '5' },
    mediaPort: customerRtp.port, timeoutMs: 80_000,
  });
  const callOf = async (e: string) => {
    const [rows] = (await app.mysql.query('SELECT id, answered_at, queued_at FROM voice_calls WHERE entry = ?', [e])) as unknown as [{ id: string; answered_at: Date | null; queued_at: Date | null }[]];
    return rows[0];
  };
  const connected = await eventually(async () => {
    const c = await callOf(entry);
    return c?.answered_at ? c : undefined;
  }, 15_000, 100).catch((err: unknown) => {
    t.comment(`server log:\n${serverLog.filter((l) => !/request completed|incoming request/.test(l)).slice(-30).join('')}`);
    throw err;
  });
  const callId = connected.id;
  const url = `/v1/calls/${callId}/supervision`;
  const sessions = async () => (await app.inject({ method: 'GET', url, headers: supervisor })).json().items as { id: string; state: string; mode: string; endReason: string | null }[];
  const sessionState = async (id: string) => (await sessions()).find((s) => s.id === id);

  const root = asterisk.root;
  const heardBy = async (peer: RtpPeer, from: number, to: number): Promise<Heard> => {
    const a = peer.received(from, to);
    return { packets: a.packets, speech: await bandRms(root, a, SPEECH), agent: await bandRms(root, a, AGENT_BAND), supervisor: await bandRms(root, a, SUPERVISOR_BAND) };
  };
  const fmt = (h: Heard) => `${h.packets} pkts, speech ${h.speech.toFixed(4)}, agent tone ${h.agent.toFixed(4)}, supervisor tone ${h.supervisor.toFixed(4)}`;
  /** What each party received over 2.5 s, after 0.7 s for a change of media to settle. */
  const listenWindow = async (label: string): Promise<Window> => {
    await sleep(700);
    const from = Date.now();
    await sleep(2500);
    const to = Date.now();
    const w = { customer: await heardBy(customerRtp, from, to), agent: await heardBy(agentRtp, from, to), supervisor: await heardBy(bossRtp, from, to) };
    t.comment(`${label}: customer heard ${fmt(w.customer)} | agent heard ${fmt(w.agent)} | supervisor heard ${fmt(w.supervisor)}`);
    return w;
  };

  let first = '';
  await t.test('when nobody supervises then customer and agent hear each other and nobody hears the supervisor tone', async (t) => {
    const w = await listenWindow('no supervision');
    t.ok(w.agent.speech > HEARD, `the agent hears the customer (${w.agent.speech})`);
    t.ok(w.customer.agent > HEARD, `the customer hears the agent (${w.customer.agent})`);
    t.ok(w.customer.supervisor < SILENT && w.agent.supervisor < SILENT, 'no supervisor tone anywhere');
    t.equal(w.supervisor.packets, 0, 'the supervisor phone is not on the call');
  });

  await t.test('when a supervisor listens then the supervisor hears both sides and nobody hears the supervisor', async (t) => {
    const r = await app.inject({ method: 'POST', url, headers: supervisor, payload: { mode: 'listen', phone: { agentId: bossId } } });
    t.equal(r.statusCode, 201, r.body);
    const s = r.json();
    first = s.id;
    t.match(s, { callId, agentId, mode: 'listen', state: 'ringing', phone: { agentId: bossId }, endReason: null });
    await eventually(async () => (await sessionState(first))?.state === 'active', 8000, 100);
    const w = await listenWindow('listen');
    t.ok(w.supervisor.speech > HEARD, `the supervisor hears the customer (${w.supervisor.speech})`);
    t.ok(w.supervisor.agent > HEARD, `the supervisor hears the agent (${w.supervisor.agent})`);
    t.ok(w.agent.supervisor < SILENT, `the agent does not hear the supervisor (${w.agent.supervisor})`);
    t.ok(w.customer.supervisor < SILENT, `the customer does not hear the supervisor (${w.customer.supervisor})`);
    t.ok(w.agent.speech > HEARD && w.customer.agent > HEARD, 'the call itself goes on');
  });

  await t.test('when the session switches to whisper then the agent hears the supervisor and the customer does not', async (t) => {
    const r = await app.inject({ method: 'PATCH', url: `${url}/${first}`, headers: supervisor, payload: { mode: 'whisper' } });
    t.equal(r.statusCode, 200, r.body);
    t.match(r.json(), { id: first, mode: 'whisper', state: 'active' });
    const w = await listenWindow('whisper');
    t.ok(w.agent.supervisor > HEARD, `the agent hears the supervisor (${w.agent.supervisor})`);
    t.ok(w.customer.supervisor < SILENT, `the customer does not hear the supervisor (${w.customer.supervisor})`);
    t.ok(w.supervisor.speech > HEARD && w.supervisor.agent > HEARD, 'the supervisor still hears both sides');
  });

  await t.test('when the session switches to barge then everyone hears everyone', async (t) => {
    const r = await app.inject({ method: 'PATCH', url: `${url}/${first}`, headers: supervisor, payload: { mode: 'barge' } });
    t.equal(r.statusCode, 200, r.body);
    t.match(r.json(), { id: first, mode: 'barge', state: 'active' });
    const w = await listenWindow('barge');
    t.ok(w.agent.supervisor > HEARD, `the agent hears the supervisor (${w.agent.supervisor})`);
    t.ok(w.customer.supervisor > HEARD, `the customer hears the supervisor (${w.customer.supervisor})`);
    t.ok(w.supervisor.speech > HEARD && w.supervisor.agent > HEARD, 'the supervisor hears both sides');
    t.ok(w.agent.speech > HEARD && w.customer.agent > HEARD, 'customer and agent still hear each other');
  });

  await t.test('when the session goes back from barge to listen then the supervisor is heard by nobody again', async (t) => {
    const r = await app.inject({ method: 'PATCH', url: `${url}/${first}`, headers: supervisor, payload: { mode: 'listen' } });
    t.equal(r.statusCode, 200, r.body);
    const w = await listenWindow('listen again');
    t.ok(w.customer.supervisor < SILENT && w.agent.supervisor < SILENT, `nobody hears the supervisor (customer ${w.customer.supervisor}, agent ${w.agent.supervisor})`);
    t.ok(w.supervisor.speech > HEARD && w.supervisor.agent > HEARD, 'the supervisor hears both sides');
  });

  await t.test('when agents or QA staff ask then they get 403, and bad requests get stable 4xx codes', async (t) => {
    for (const role of ['agent', 'qa'] as const) {
      const h = bearer((await loginAs(app, [role])).token);
      const tries = [
        await app.inject({ method: 'POST', url, headers: h, payload: { mode: 'listen', phone: { agentId: bossId } } }),
        await app.inject({ method: 'GET', url, headers: h }),
        await app.inject({ method: 'PATCH', url: `${url}/${first}`, headers: h, payload: { mode: 'barge' } }),
        await app.inject({ method: 'DELETE', url: `${url}/${first}`, headers: h }),
      ];
      t.same(tries.map((r) => r.statusCode), [403, 403, 403, 403], `${role}: 403 everywhere`);
      t.ok(tries.every((r) => r.json().code === 'role_forbidden'));
    }
    const bad = await app.inject({ method: 'PATCH', url: `${url}/${first}`, headers: supervisor, payload: { mode: 'shout' } });
    t.equal(bad.statusCode, 400);
    t.equal(bad.json().code, 'validation_failed');
    const noPhone = await app.inject({ method: 'POST', url, headers: supervisor, payload: { mode: 'listen', phone: {} } });
    t.equal(noPhone.statusCode, 400);
    const unknown = await app.inject({ method: 'POST', url: '/v1/calls/no-such-call/supervision', headers: supervisor, payload: { mode: 'listen', phone: { agentId: bossId } } });
    t.equal(unknown.statusCode, 404);
    t.equal(unknown.json().code, 'call_not_live');
    const busy = await app.inject({ method: 'POST', url, headers: supervisor, payload: { mode: 'listen', phone: { agentId: bossId } } });
    t.equal(busy.statusCode, 409, 'a phone that already supervises cannot be rung again');
    t.equal(busy.json().code, 'phone_busy');
    const onCall = await app.inject({ method: 'POST', url, headers: supervisor, payload: { mode: 'listen', phone: { agentId } } });
    t.equal(onCall.statusCode, 409, "the supervised agent's own phone is on the call");
    t.equal(onCall.json().code, 'phone_busy');
    const noLogin = await app.inject({ method: 'POST', url, headers: supervisor, payload: { mode: 'listen', phone: { agentId: 'nobody-here' } } });
    t.equal(noLogin.statusCode, 409);
    t.equal(noLogin.json().code, 'phone_not_provisioned');
    const noSession = await app.inject({ method: 'PATCH', url: `${url}/abc123`, headers: supervisor, payload: { mode: 'listen' } });
    t.equal(noSession.statusCode, 404);
    t.equal(noSession.json().code, 'supervision_not_found');
  });

  await t.test('when a call waits in a queue then it cannot be supervised (409 call_not_live)', async (t) => {
    const waiting = runSipp({ instance: asterisk, scenario: 'supervision-customer.xml', service: waitingEntry, keys: { app: appName, caller: `62${stamp}` }, sets: { loops: '1' }, timeoutMs: 30_000 });
    const queued = await eventually(async () => {
      const c = await callOf(waitingEntry);
      return c?.queued_at ? c : undefined;
    }, 10_000, 100);
    const r = await app.inject({ method: 'POST', url: `/v1/calls/${queued.id}/supervision`, headers: supervisor, payload: { mode: 'listen', phone: { endpoint: ringOutEndpoint } } });
    t.equal(r.statusCode, 409, r.body);
    t.equal(r.json().code, 'call_not_live');
    t.equal((await waiting).exitCode, 0, 'the waiting caller hung up by itself');
  });

  await t.test('when the supervisor phone rings out then the session ends as no_answer, in GET and as an event', async (t) => {
    const r = await app.inject({ method: 'POST', url, headers: supervisor, payload: { mode: 'whisper', phone: { endpoint: ringOutEndpoint }, ringSeconds: 2 } });
    t.equal(r.statusCode, 201, r.body);
    const id = r.json().id as string;
    t.equal(r.json().state, 'ringing');
    const ended = await eventually(async () => {
      const s = await sessionState(id);
      return s?.state === 'ended' ? s : undefined;
    }, 10_000, 100);
    t.equal(ended.endReason, 'no_answer');
    // The event follows once the session's pieces are removed and the end audited.
    await eventually(async () => seen.some((e) => e.name === 'supervision.ended' && e.payload.sessionId === id && e.payload.reason === 'no_answer'), 3000, 50);
    t.pass('supervision.ended says why');
    t.equal((await sessionState(first))?.state, 'active', 'the other session goes on');
  });

  await t.test('when the supervisor stops a session then its leg, snoop and bridge are gone within a second', async (t) => {
    const r = await app.inject({ method: 'DELETE', url: `${url}/${first}`, headers: supervisor });
    t.equal(r.statusCode, 204, r.body);
    t.match(await sessionState(first), { state: 'ended', endReason: 'stopped' });
    // The reply comes once the leg is destroyed and the snoop has left the application; the
    // snoop's channel itself may take a moment longer to disappear.
    const leftOf = async () => ({
      channels: (await ari.channels.list()).map((c) => c.id).filter((id) => id.startsWith(`sup-${first}`)),
      bridges: (await ari.bridges.list()).map((b) => b.id).filter((id) => id.startsWith(`sup-${first}`)),
    });
    await eventually(async () => {
      const l = await leftOf();
      return l.channels.length === 0 && l.bridges.length === 0;
    }, 1000, 50).catch(() => undefined);
    t.same(await leftOf(), { channels: [], bridges: [] }, 'no leg, snoop or bridge of the session');
    const again = await app.inject({ method: 'DELETE', url: `${url}/${first}`, headers: supervisor });
    t.equal(again.statusCode, 204, 'stopping twice is harmless');
  });

  await t.test('when the call ends under an active session then the session ends and nothing of it is left in Asterisk', async (t) => {
    const r = await app.inject({ method: 'POST', url, headers: supervisor, payload: { mode: 'whisper', phone: { agentId: bossId } } });
    t.equal(r.statusCode, 201, r.body);
    const id = r.json().id as string;
    await eventually(async () => (await sessionState(id))?.state === 'active', 8000, 100);
    const held = await ari.channels.list();
    t.ok(held.some((c) => c.id.startsWith(`sup-${id}-snoop`)), 'a snoop is on the agent leg');
    const caller = await customer;
    t.equal(caller.exitCode, 0, `the customer talked, then hung up: ${caller.errors || caller.stderr.slice(-300)}`);
    const ended = await eventually(async () => {
      const s = await sessionState(id);
      return s?.state === 'ended' ? s : undefined;
    }, 10_000, 100);
    t.equal(ended.endReason, 'call_ended');
    await eventually(async () => {
      const a = await ari.request<{ channel_ids: string[]; bridge_ids: string[] }>('GET', `/applications/${appName}`);
      return a.channel_ids.length === 0 && a.bridge_ids.every((b) => b.startsWith('hold-'));
    }, 5000, 100).catch(async (err: unknown) => {
      t.comment(`left behind: ${JSON.stringify(await ari.request('GET', `/applications/${appName}`))}`);
      throw err;
    });
    t.pass('no channel of the application and no bridge but the queues\' holding bridges');
    const ours = (await sessions()).map((x) => `sup-${x.id}`);
    t.equal(ours.length, 3, 'the three sessions of this call are still listed, ended');
    t.same((await ari.channels.list()).filter((c) => ours.some((p) => c.id.startsWith(p))).map((c) => c.id), [], 'no leg or snoop of any session, in any application');
    t.same((await ari.bridges.list()).filter((b) => ours.some((p) => b.id.startsWith(p))).map((b) => b.id), [], 'no supervision bridge');
    const results = await Promise.all(phones);
    t.same(results.map((p) => p.exitCode), [0, 0, 0], `every phone's SIPp succeeded: ${results.map((p) => p.errors.slice(-200)).join(' | ')}`);
    const audited = async () => {
      const [rows] = (await app.mysql.query('SELECT action FROM audit_log WHERE target = ? AND action LIKE ? ORDER BY id', [callId, 'supervision.%'])) as unknown as [{ action: string }[]];
      const count = (a: string) => rows.filter((x) => x.action === a).length;
      return { start: count('supervision.start'), switch: count('supervision.switch'), stop: count('supervision.stop') };
    };
    // The end is audited once the session's channels are gone, a moment after GET shows it ended.
    await eventually(async () => (await audited()).stop === 3, 5000, 100).catch(() => undefined);
    t.same(await audited(), { start: 3, switch: 3, stop: 3 }, 'every start, switch and stop is audited');
    const names = seen.filter((e) => e.payload.sessionId === first).map((e) => e.name);
    t.same(names, ['supervision.started', 'supervision.connected', 'supervision.mode_changed', 'supervision.mode_changed', 'supervision.mode_changed', 'supervision.ended'], 'the events of the first session, in order');
  });
});
