/**
 * What calls leave behind on Asterisk between reconnections — a phone held by a leg no call owns,
 * a call bridge after its call — is found by the server's periodic sweep and put right after two
 * checks in a row, while a caller waiting in the queue (in the holding bridge its call id picks)
 * is left alone.
 */
import t from 'tap';
import { createSilentLogger } from '../../server/infra/logger.js';
import { createAriClient } from '../../server/telephony/ari-client.js';
import { agentEndpointId } from '../../server/domain/sip-endpoint.js';
import { holdingShard } from '../../server/domain/holding-bridge.js';
import { bearer, buildVoiceTestApp, jsonApi, eventually, loginAs, serverLog } from '../helpers/app.js';
import { ensureAsterisk, uniqueName } from '../helpers/asterisk.js';
import { freeUdpPort, runSipp, runSippUas, waitUdpListening } from '../helpers/sipp.js';

t.setTimeout(90_000);

const SHARDS = 4;

t.test('given a server sweeping every second on a real Asterisk, a queue with a waiting caller', async (t) => {
  const asterisk = await ensureAsterisk('main');
  const appName = uniqueName('sweep');
  const app = await buildVoiceTestApp(t, asterisk, appName, { IPCC_SWEEP_SECONDS: '1', IPCC_HOLD_BRIDGE_SHARDS: String(SHARDS) });
  const H = bearer((await loginAs(app, ['admin'])).token);
  const { api, must } = jsonApi(app, H);
  const queueId = `sw${Date.now().toString(36).slice(-5)}`;
  await must('PUT', '/v1/skills/voice', { name: 'Voice' });
  await must('PUT', `/v1/queues/${queueId}`, { name: 'Sweep', strategy: 'longest_idle', skills: [{ skillId: 'voice', minLevel: 1 }], serviceLevel: { percent: 80, withinSeconds: 20 }, offerTimeoutSeconds: 6 });
  const entry = `6${Date.now().toString().slice(-7)}`;
  await must('PUT', `/v1/entry-points/${entry}`, { queueId });
  const ari = createAriClient({ name: 'sweep-check', baseUrl: asterisk.ariUrl, username: asterisk.ariUser, password: asterisk.ariPassword, app: `${appName}-check`, logger: createSilentLogger() });
  const exists = (path: string) => ari.request('GET', path).then(() => true, (err: { kind?: string }) => (err.kind === 'not_found' ? false : Promise.reject(err)));

  /** An agent (not ready) whose static-contact phone is a SIPp UAS running `scenario`. */
  const agentWithPhone = async (prefix: string, scenario: string, timeoutMs: number) => {
    const agentId = `${prefix}${Date.now().toString(36).slice(-6)}`;
    const port = await freeUdpPort('127.0.0.1', 1);
    await must('PUT', `/v1/agents/${agentId}`, { name: agentId, skills: [{ skillId: 'voice', level: 5 }] });
    await must('PUT', `/v1/agents/${agentId}/sip-login`, { contact: `sip:agent@127.0.0.1:${port}` });
    const phone = runSippUas({ instance: asterisk, scenario, ip: '127.0.0.1', port, timeoutMs });
    await waitUdpListening('127.0.0.1', port, 10_000);
    return { agentId, phone };
  };

  // The caller waits: no agent is ready.
  const callerNumber = `76${Date.now().toString().slice(-7)}`;
  const caller = runSipp({ instance: asterisk, scenario: 'caller-waits-for-far-end.xml', service: entry, keys: { app: appName, caller: callerNumber }, timeoutMs: 60_000 });
  const callId = await eventually(async () => {
    const [rows] = (await app.mysql.query('SELECT id FROM voice_calls WHERE caller_number = ? AND queued_at IS NOT NULL', [callerNumber])) as unknown as [{ id: string }[]];
    return rows[0]?.id;
  }, 15_000, 100);
  const shard = holdingShard(callId, SHARDS);
  const holding = `hold-${appName}-${app.tenantId}-${queueId}${shard ? `-${shard}` : ''}`;

  await t.test('when the caller waits then it is in the holding bridge its call id picks', async (t) => {
    const bridge = await eventually(async () => {
      const b = await ari.request<{ channels: string[]; bridge_type: string }>('GET', `/bridges/${holding}`).catch(() => undefined);
      return b?.channels.includes(callId) ? b : undefined;
    }, 10_000, 100).catch(() => undefined);
    t.ok(bridge, `the caller is in ${holding} (shard ${shard} of ${SHARDS})`);
    t.equal(bridge?.bridge_type, 'holding');
  });

  await t.test('when a phone is held by a leg and a call bridge outlives its call then the sweep lets the phone go and destroys the bridge', async (t) => {
    // A phone (SIPp) answers a leg put into our application that no call owns, as a hang-up
    // Asterisk did not answer under load leaves it, and waits for the far end to hang up.
    const { agentId, phone } = await agentWithPhone('sw', 'agent-waits-for-far-end.xml', 40_000);
    const legId = `leg-stray-${Date.now().toString(36)}`;
    const bridgeId = `call-stray-${Date.now().toString(36)}`;
    const heldSince = Date.now();
    await ari.request('POST', '/channels', { query: { endpoint: `PJSIP/${agentEndpointId(app.tenantId, agentId)}`, app: appName, appArgs: 'leg,stray', channelId: legId, timeout: 10 } });
    await ari.request('POST', '/bridges', { query: { bridgeId, type: 'mixing', name: bridgeId } });
    await ari.request('POST', `/applications/${appName}/subscription`, { query: { eventSource: `bridge:${bridgeId}` } });
    const answered = await eventually(async () => (await ari.request<{ state: string }>('GET', `/channels/${legId}`).catch(() => undefined))?.state === 'Up', 10_000, 100).catch(() => false);
    t.ok(answered, 'the phone answered the stray leg');

    const gone = await eventually(async () => !(await exists(`/channels/${legId}`)) && !(await exists(`/bridges/${bridgeId}`)), 10_000, 200).catch(() => false);
    t.ok(gone, 'the stray leg is hung up and the stray bridge destroyed');
    const took = Date.now() - heldSince;
    // Two checks in a row a second apart, not the first look: a channel being placed is briefly unowned.
    t.ok(took < 8000, `within a few sweeps (${took} ms)`);
    const p = await phone;
    t.equal(p.exitCode, 0, `the phone was hung up by the server: ${p.errors || p.stderr.slice(-300)}`);
    t.ok(serverLog.some((l) => l.includes(legId) && l.includes('no call owns this channel')), 'the server logs the channel it hung up');
    t.ok(serverLog.some((l) => l.includes(bridgeId) && l.includes('no call owns this bridge')), 'and the bridge it destroyed');
  });

  await t.test('when an agent phone rings longer than two sweeps then it rings until the offer runs out', async (t) => {
    // A leg that rings across sweeps is not a lost leg.
    const { agentId, phone } = await agentWithPhone('sr', 'agent-rings-until-cancelled.xml', 30_000);
    await eventually(async () => (await api('PUT', `/v1/agents/${agentId}/presence`, { kind: 'ready' })).statusCode === 202, 5000);
    const rangAt = await eventually(async () => {
      const [rows] = (await app.mysql.query('SELECT rang_at FROM voice_calls WHERE id = ?', [callId])) as unknown as [{ rang_at: Date | null }[]];
      return rows[0]?.rang_at ? Date.now() : undefined;
    }, 10_000, 50);
    const p = await phone;
    const rang = Date.now() - rangAt;
    await must('PUT', `/v1/agents/${agentId}/presence`, { kind: 'not_ready', reason: 'break' });
    t.equal(p.exitCode, 0, `the phone rang until it was cancelled: ${p.errors || p.stderr.slice(-300)}`);
    t.ok(rang >= 5000, `it rang for the offer's 6 s, not cut short by the sweep (${rang} ms)`);
    t.notOk(serverLog.some((l) => l.includes(callId) && l.includes('a leg ended without our hearing it')), 'the sweep took no leg of the call for lost');
  });

  await t.test('when the sweeps have run then the waiting caller is still queued in its bridge', async (t) => {
    const call = (await api('GET', `/v1/calls/${callId}`)).json();
    t.equal(call.outcome ?? null, null, 'the call goes on');
    t.equal((await eventually(async () => {
      const task = (await api('GET', `/v1/tasks/${callId}`)).json();
      return task.state === 'queued' ? task : undefined;
    }, 5000, 100).catch(() => ({ state: 'not queued' }))).state, 'queued');
    const b = await ari.request<{ channels: string[] }>('GET', `/bridges/${holding}`);
    t.ok(b.channels.includes(callId), 'the caller hears the music still');
    // Asterisk hangs the caller up (as an admin would): the call ends, on record as lost.
    await ari.request('DELETE', `/channels/${callId}`);
    const c = await caller;
    t.equal(c.exitCode, 0, `the caller's call ended cleanly: ${c.errors || c.stderr.slice(-300)}`);
    const ended = await eventually(async () => (await api('GET', `/v1/calls/${callId}`)).json().outcome as string | undefined, 5000);
    t.equal(ended, 'lost');
  });
});
