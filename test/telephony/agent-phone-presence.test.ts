/**
 * An agent with a SIP phone is offered calls only while the phone is registered: going ready with
 * an unregistered phone is refused, and a phone that drops its registration takes the ready agent
 * out of routing (not ready, reason phone_offline). A real baresip phone registers to the endpoint
 * the server pushed into Asterisk.
 */
import t from 'tap';
import { bearer, buildTestAppWithTelephony, eventually, loginAs } from '../helpers/app.js';
import { ensureAsterisk, uniqueName } from '../helpers/asterisk.js';
import { startPhone } from '../helpers/baresip.js';

t.test('given an agent with a SIP login on a real Asterisk', async (t) => {
  const asterisk = await ensureAsterisk('main');
  const app = await buildTestAppWithTelephony(t, {
    IPCC_ASTERISK_SERVERS: `main=${asterisk.ariUrl.replace('://', `://${asterisk.ariUser}:${asterisk.ariPassword}@`)}`,
    IPCC_ARI_APP: uniqueName('phone'),
    IPCC_ROUTER_LEASE_MS: '1000',
  });
  await eventually(async () => app.telephony?.health().every((h) => h.up), 10000);
  await eventually(async () => app.router?.isLeader(), 5000);
  const H = bearer((await loginAs(app, ['admin'])).token);
  const agentId = uniqueName('ph').toLowerCase().replace(/[^a-z0-9]/g, '');
  t.equal((await app.inject({ method: 'PUT', url: `/v1/agents/${agentId}`, headers: H, payload: { name: 'Phone agent' } })).statusCode, 201);
  const login = await app.inject({ method: 'PUT', url: `/v1/agents/${agentId}/sip-login`, headers: H });
  t.equal(login.statusCode, 201, login.body);
  const { username, password } = login.json();
  t.teardown(async () => {
    await app.inject({ method: 'DELETE', url: `/v1/agents/${agentId}/sip-login`, headers: H });
  });
  await eventually(async () => (await app.inject({ method: 'GET', url: `/v1/agents/${agentId}/state`, headers: H })).statusCode === 200, 5000);

  await t.test('when the phone is not registered then going ready is refused with 409 phone_not_registered', async (t) => {
    const r = await app.inject({ method: 'PUT', url: `/v1/agents/${agentId}/presence`, headers: H, payload: { kind: 'ready' } });
    t.equal(r.statusCode, 409);
    t.equal(r.json().code, 'phone_not_registered');
    const nr = await app.inject({ method: 'PUT', url: `/v1/agents/${agentId}/presence`, headers: H, payload: { kind: 'not_ready', reason: 'training' } });
    t.equal(nr.statusCode, 202, 'not ready needs no phone');
  });

  await t.test('when the phone registers the agent can go ready; when it drops, the agent leaves routing', async (t) => {
    const phone = await startPhone({ instance: asterisk, username, password, registerIntervalS: 60 });
    t.teardown(() => phone.stop());
    t.equal((await phone.waitForAnswer([200, 401, 403], 10_000)).status, 200, 'the phone registered');
    await eventually(async () => (await app.inject({ method: 'PUT', url: `/v1/agents/${agentId}/presence`, headers: H, payload: { kind: 'ready' } })).statusCode === 202, 5000);
    await eventually(async () => (await app.inject({ method: 'GET', url: `/v1/agents/${agentId}/state`, headers: H })).json().presence.kind === 'ready', 5000);
    await phone.stop();
    const state = await eventually(async () => {
      const s = (await app.inject({ method: 'GET', url: `/v1/agents/${agentId}/state`, headers: H })).json();
      return s.presence.kind === 'not_ready' ? s : undefined;
    }, 10000);
    t.same(state.presence, { kind: 'not_ready', reason: 'phone_offline' });
  });
});
