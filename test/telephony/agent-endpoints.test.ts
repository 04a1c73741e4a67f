/**
 * Agent endpoints on a real Asterisk: provisioned over ARI push configuration, registered to
 * by a real SIP phone (baresip) with digest auth, removed, and kept in line by the reconciler.
 * Endpoint tests use a tenant id of their own, so the reconciler cannot touch anyone else's
 * agents on the shared instance; the HTTP test uses the app's tenant with unique agent ids.
 */
import { randomBytes, randomInt } from 'node:crypto';
import t from 'tap';
import { buildApp } from '../../server/app.js';
import { AppError } from '../../server/domain/errors.js';
import { agentEndpointId } from '../../server/domain/sip-endpoint.js';
import { createSilentLogger } from '../../server/infra/logger.js';
import { dropDatabase } from '../../server/infra/mysql.js';
import { createSipLoginStore } from '../../server/modules/sip-logins/store.js';
import { createAriClient, createAgentEndpoints, type AriClient, type RegistrationChange } from '../../server/telephony/index.js';
import { bearer, deleteKeys, loginAs, testConfig } from '../helpers/app.js';
import { asteriskCli, ensureAsterisk, uniqueName, type AsteriskInstance } from '../helpers/asterisk.js';
import { startPhone, type Phone } from '../helpers/baresip.js';
import { timed, waitFor } from '../helpers/telephony-wait.js';

const logger = createSilentLogger();

/** Poll an async condition (ARI state) until it holds. */
async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function exists(client: AriClient, type: 'auth' | 'aor' | 'endpoint', id: string): Promise<boolean> {
  const { error } = await timed(client.request('GET', `/asterisk/config/dynamic/res_pjsip/${type}/${id}`));
  if (error === undefined) return true;
  if (error instanceof AppError && error.kind === 'not_found') return false;
  throw error;
}

const agentId = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;

t.test('given a running Asterisk and the agent endpoints of a tenant of our own', async (t) => {
  const asterisk: AsteriskInstance = await ensureAsterisk('main');
  const client = createAriClient({ name: asterisk.name, baseUrl: asterisk.ariUrl, username: asterisk.ariUser, password: asterisk.ariPassword, app: uniqueName('endpoints'), logger });
  client.start();
  t.teardown(() => client.stop());
  t.ok(await client.waitUntilUp(10_000), 'ARI events connected');
  const endpoints = createAgentEndpoints({ servers: () => [client], logger });
  // A tenant nobody else uses on the shared instance: the reconciler owns agent-<tenant>-*.
  const tenantId = 900_000_000 + randomInt(90_000_000);
  const phones: Phone[] = [];
  const provisioned: string[] = [];
  t.teardown(async () => {
    await Promise.all(phones.map((p) => p.stop()));
    for (const a of provisioned) await endpoints.remove(tenantId, a).catch(() => undefined);
  });
  const phone = async (username: string, password: string) => {
    const p = await startPhone({ instance: asterisk, username, password });
    phones.push(p);
    return p;
  };

  await t.test('when a login is provisioned then Asterisk has the endpoint with our settings', async (t) => {
    const agent = agentId('prov');
    provisioned.push(agent);
    await endpoints.provision({ tenantId, agentId: agent, password: 'pw-' + randomBytes(8).toString('hex') });
    const id = agentEndpointId(tenantId, agent);
    const shown = await asteriskCli(asterisk.name, `pjsip show endpoint ${id}`);
    t.match(shown, new RegExp(`Endpoint:\\s+${id}`), 'pjsip show endpoint finds it');
    t.match(shown, /context\s+:\s+ipcc-agents/);
    t.match(shown, /direct_media\s+:\s+false/);
    t.match(shown, /rtp_symmetric\s+:\s+true/);
    t.match(shown, /allow\s+:\s+\(ulaw\|alaw\)/);
    t.match(shown, new RegExp(`InAuth:\\s+${id}/${id}`), 'digest auth by our user name');
    const aor = await asteriskCli(asterisk.name, `pjsip show aor ${id}`);
    t.match(aor, /max_contacts\s+:\s+1/);
    t.match(aor, /remove_existing\s+:\s+true/);
    t.match(aor, /qualify_frequency\s+:\s+30/);
    const auth = await asteriskCli(asterisk.name, `pjsip show auth ${id}`);
    t.match(auth, /auth_type\s+:\s+digest/);
    const listed = await endpoints.list(tenantId);
    t.same(listed.map((e) => [e.agentId, e.registered]), [[agent, false]], 'listed, not registered yet');
  });

  await t.test('when baresip registers with the right password then it gets 200 and the server sees it registered', async (t) => {
    const agent = agentId('reg');
    provisioned.push(agent);
    const password = 'pw-' + randomBytes(8).toString('hex');
    await endpoints.provision({ tenantId, agentId: agent, password });
    const changes: RegistrationChange[] = [];
    const off = endpoints.onRegistrationChange((c) => {
      if (c.agentId === agent) changes.push(c);
    });
    t.teardown(off);
    // The first reading reports the endpoint offline (it is, until the phone registers).
    await waitFor(() => changes.some((c) => !c.registered), 10_000, 'the first reading: offline');
    t.equal(await endpoints.isRegistered(tenantId, agent), false, 'not registered before the phone starts');
    const started = Date.now();
    const p = await phone(agentEndpointId(tenantId, agent), password);
    const answer = await p.waitForAnswer([200, 401, 403], 10_000);
    t.equal(answer.status, 200, `registrar answered ${answer.line}`);
    await eventually(() => endpoints.isRegistered(tenantId, agent), 10_000, 'the endpoint to be online');
    t.comment(`registered and seen online in ${Date.now() - started} ms`);
    await waitFor(() => changes.some((c) => c.registered), 10_000, 'a registration change to online');
    t.same(changes.find((c) => c.registered), { server: asterisk.name, tenantId, agentId: agent, endpointId: agentEndpointId(tenantId, agent), registered: true });
    const contacts = await asteriskCli(asterisk.name, `pjsip show aor ${agentEndpointId(tenantId, agent)}`);
    t.match(contacts, /Contact:\s+\S+\/sip:/, 'the aor holds the phone\'s contact');

    await t.test('and when the phone stops then the server sees it gone', async (t) => {
      await p.stop();
      await eventually(async () => !(await endpoints.isRegistered(tenantId, agent)), 10_000, 'the endpoint to go offline');
      const online = changes.findIndex((c) => c.registered);
      await waitFor(() => changes.slice(online + 1).some((c) => !c.registered), 10_000, 'a registration change to offline after the online one');
      t.pass('offline after unregistering');
    });
  });

  await t.test('when baresip registers with a wrong password then it is refused and never registered', async (t) => {
    const agent = agentId('bad');
    provisioned.push(agent);
    await endpoints.provision({ tenantId, agentId: agent, password: 'right-' + randomBytes(8).toString('hex') });
    const p = await phone(agentEndpointId(tenantId, agent), 'wrong-password');
    const answer = await p.waitForAnswer([200, 401, 403], 10_000);
    t.ok([401, 403].includes(answer.status), `refused: ${answer.line}`);
    await new Promise((r) => setTimeout(r, 1_000));
    t.notOk(p.answers().some((a) => a.status === 200), 'never a 200');
    t.equal(await endpoints.isRegistered(tenantId, agent), false);
  });

  await t.test('when the login is removed then the endpoint is gone and the phone can no longer register', async (t) => {
    const agent = agentId('rm');
    const id = agentEndpointId(tenantId, agent);
    const password = 'pw-' + randomBytes(8).toString('hex');
    await endpoints.provision({ tenantId, agentId: agent, password });
    const before = await phone(id, password);
    t.equal((await before.waitForAnswer([200, 401, 403], 10_000)).status, 200, 'registers while it exists');
    await before.stop();
    await endpoints.remove(tenantId, agent);
    for (const type of ['endpoint', 'aor', 'auth'] as const) t.equal(await exists(client, type, id), false, `${type} deleted`);
    const shown = await asteriskCli(asterisk.name, `pjsip show endpoint ${id}`);
    t.match(shown, /Unable to find object/, 'pjsip show endpoint no longer finds it');
    const after = await phone(id, password);
    const answer = await after.waitForAnswer([200, 401, 403], 10_000);
    t.ok([401, 403].includes(answer.status), `refused after removal: ${answer.line}`);
    t.equal(await endpoints.isRegistered(tenantId, agent), false);
    await endpoints.remove(tenantId, agent);
    t.pass('removing again is fine');
  });

  await t.test('when Asterisk drifted then the reconciler recreates, fixes and removes our agents only', async (t) => {
    // A tenant of this test alone: the endpoints of the tests above are not in its plan.
    const tenant = tenantId + 2;
    const [a, b, stray] = [agentId('rec-a'), agentId('rec-b'), agentId('rec-stray')];
    const [idA, idB, idStray] = [a, b, stray].map((x) => agentEndpointId(tenant, x)) as [string, string, string];
    const otherAgent = agentId('other');
    const otherTenant = agentEndpointId(tenant + 1, otherAgent);
    const trunk = uniqueName('trunk');
    t.teardown(async () => {
      for (const x of [a, b, stray]) await endpoints.remove(tenant, x).catch(() => undefined);
      for (const type of ['endpoint', 'aor', 'auth']) {
        await client.asterisk.deleteObject('res_pjsip', type, trunk).catch(() => undefined);
        await client.asterisk.deleteObject('res_pjsip', type, otherTenant).catch(() => undefined);
      }
    });
    const logins = [
      { tenantId: tenant, agentId: a, password: 'pa-' + randomBytes(6).toString('hex') },
      { tenantId: tenant, agentId: b, password: 'pb-' + randomBytes(6).toString('hex') },
    ];
    for (const l of logins) await endpoints.provision(l);
    await endpoints.provision({ tenantId: tenant, agentId: stray, password: 'stray-pw' });
    await endpoints.provision({ tenantId: tenant + 1, agentId: otherAgent, password: 'other-pw' });
    await client.asterisk.putObject('res_pjsip', 'endpoint', trunk, [{ attribute: 'context', value: 'ipcc-inbound' }, { attribute: 'allow', value: 'ulaw' }]);
    // Behind our back: b's endpoint deleted, a's password and context changed.
    await client.asterisk.deleteObject('res_pjsip', 'endpoint', idB);
    await client.asterisk.putObject('res_pjsip', 'auth', idA, [{ attribute: 'password', value: 'tampered' }]);
    await client.asterisk.putObject('res_pjsip', 'endpoint', idA, [{ attribute: 'context', value: 'default' }]);

    const report = await endpoints.reconcile(tenant, logins);
    const r = report.servers[0];
    t.ok(r, 'a report for the server');
    t.same(r?.failed, [], 'no step failed');
    t.same(r?.created, [idB], 'the deleted endpoint is recreated');
    t.same(r?.updated, [idA], 'the tampered one is fixed');
    t.same(r?.deleted, [idStray], 'the stray agent endpoint is removed');
    t.equal(await exists(client, 'endpoint', idB), true);
    for (const type of ['endpoint', 'aor', 'auth'] as const) t.equal(await exists(client, type, idStray), false, `stray ${type} gone`);
    t.equal(await exists(client, 'endpoint', trunk), true, 'a non-agent endpoint is untouched');
    t.equal(await exists(client, 'endpoint', otherTenant), true, "another tenant's agent is untouched");
    const authA = await client.request<Array<{ attribute: string; value: string }>>('GET', `/asterisk/config/dynamic/res_pjsip/auth/${idA}`);
    t.equal(authA.find((f) => f.attribute === 'password')?.value, logins[0]?.password, "a's password is ours again");

    // The proof that matters: the phone of the fixed login registers with the stored password.
    const p = await phone(idA, logins[0]?.password as string);
    t.equal((await p.waitForAnswer([200, 401, 403], 10_000)).status, 200, 'the repaired login registers');
    await p.stop();

    const again = await endpoints.reconcile(tenant, logins);
    t.same(
      { created: again.servers[0]?.created, updated: again.servers[0]?.updated, deleted: again.servers[0]?.deleted, unchanged: again.servers[0]?.unchanged },
      { created: [], updated: [], deleted: [], unchanged: 2 },
      'a second run finds nothing to do (Asterisk renders values as we expect)',
    );
  });
});

t.test('given the app with the SIP login routes on a real Asterisk', async (t) => {
  const asterisk = await ensureAsterisk('main');
  const config = testConfig();
  const client = createAriClient({ name: asterisk.name, baseUrl: asterisk.ariUrl, username: asterisk.ariUser, password: asterisk.ariPassword, app: uniqueName('sip-logins'), logger });
  const endpoints = createAgentEndpoints({ servers: () => [client], logger });
  // The real app, with the SIP login routes wired as server/main.ts wires them.
  const app = await buildApp(config, { logger, agentEndpoints: endpoints });
  await app.ready();
  const phones: Phone[] = [];
  const agents: string[] = [];
  t.teardown(async () => {
    await Promise.all(phones.map((p) => p.stop()));
    for (const a of agents) await endpoints.remove(app.tenantId, a).catch(() => undefined);
    await client.stop();
    await app.close();
    await deleteKeys(config.redis.prefix);
    await dropDatabase(config.mysql.url);
  });
  const admin = bearer((await loginAs(app, ['admin'])).token);
  const supervisor = bearer((await loginAs(app, ['supervisor'])).token);
  const agentRole = bearer((await loginAs(app, ['agent'])).token);
  const url = (id: string) => `/v1/agents/${id}/sip-login`;

  const agent = agentId('http');
  agents.push(agent);
  const created = await app.inject({ method: 'PUT', url: `/v1/agents/${agent}`, headers: admin, payload: { name: 'HTTP agent' } });
  t.equal(created.statusCode, 201, created.body);

  await t.test('when an admin creates the login then the reply carries credentials a phone registers with', async (t) => {
    const res = await app.inject({ method: 'PUT', url: url(agent), headers: admin });
    t.equal(res.statusCode, 201, res.body);
    t.equal(res.headers['cache-control'], 'no-store');
    const body = res.json() as { agentId: string; username: string; password: string };
    t.equal(body.username, agentEndpointId(app.tenantId, agent));
    t.ok(body.password.length >= 20, 'a long generated password');
    const p = await startPhone({ instance: asterisk, username: body.username, password: body.password });
    phones.push(p);
    t.equal((await p.waitForAnswer([200, 401, 403], 10_000)).status, 200, 'baresip registers with them');
    await eventually(() => endpoints.isRegistered(app.tenantId, agent), 10_000, 'registered');

    const got = await app.inject({ method: 'GET', url: url(agent), headers: supervisor });
    t.equal(got.statusCode, 200, got.body);
    t.same(Object.keys(got.json() as object).sort(), ['agentId', 'createdAt', 'registered', 'updatedAt', 'username']);
    t.equal((got.json() as { registered: boolean }).registered, true, 'a supervisor sees it registered, without the password');
    await p.stop();

    await t.test('and when the admin rotates it then the old password is refused and the new one works', async (t) => {
      const rotated = await app.inject({ method: 'PUT', url: url(agent), headers: admin, payload: {} });
      t.equal(rotated.statusCode, 200, rotated.body);
      const next = rotated.json() as { password: string; username: string };
      t.not(next.password, body.password);
      const old = await startPhone({ instance: asterisk, username: body.username, password: body.password });
      phones.push(old);
      t.ok([401, 403].includes((await old.waitForAnswer([200, 401, 403], 10_000)).status), 'old password refused');
      const fresh = await startPhone({ instance: asterisk, username: next.username, password: next.password });
      phones.push(fresh);
      t.equal((await fresh.waitForAnswer([200, 401, 403], 10_000)).status, 200, 'new password accepted');
      await fresh.stop();
    });

    await t.test('and when the admin deletes it then the endpoint is gone and GET says not found', async (t) => {
      const del = await app.inject({ method: 'DELETE', url: url(agent), headers: admin });
      t.equal(del.statusCode, 204, del.body);
      t.equal(await exists(client, 'endpoint', body.username), false);
      const got = await app.inject({ method: 'GET', url: url(agent), headers: admin });
      t.equal(got.statusCode, 404);
      t.equal((got.json() as { code: string }).code, 'sip_login_not_found');
      const again = await app.inject({ method: 'DELETE', url: url(agent), headers: admin });
      t.equal(again.statusCode, 404);
    });
  });

  await t.test('when the request is wrong then the answer is a clear 4xx with a stable code', async (t) => {
    const unknown = await app.inject({ method: 'PUT', url: url(agentId('nobody')), headers: admin });
    t.equal(unknown.statusCode, 404);
    t.equal((unknown.json() as { code: string }).code, 'agent_not_found');
    const badId = await app.inject({ method: 'PUT', url: url('Bad%20Id'), headers: admin });
    t.equal(badId.statusCode, 400);
    const extra = await app.inject({ method: 'PUT', url: url(agent), headers: admin, payload: { password: 'mine' } });
    t.equal(extra.statusCode, 400);
    const asAgent = await app.inject({ method: 'PUT', url: url(agent), headers: agentRole });
    t.equal(asAgent.statusCode, 403);
    const getAsAgent = await app.inject({ method: 'GET', url: url(agent), headers: agentRole });
    t.equal(getAsAgent.statusCode, 403);
    const anonymous = await app.inject({ method: 'GET', url: url(agent) });
    t.equal(anonymous.statusCode, 401);
  });

  await t.test('when the agent is deleted then its login goes with it, so the next reconcile no longer wants the endpoint', async (t) => {
    const other = agentId('cascade');
    agents.push(other);
    t.equal((await app.inject({ method: 'PUT', url: `/v1/agents/${other}`, headers: admin, payload: { name: 'Cascade' } })).statusCode, 201);
    const res = await app.inject({ method: 'PUT', url: url(other), headers: admin });
    t.equal(res.statusCode, 201, res.body);
    t.equal(await exists(client, 'endpoint', (res.json() as { username: string }).username), true);
    t.equal((await app.inject({ method: 'DELETE', url: `/v1/agents/${other}`, headers: admin })).statusCode, 204);
    t.equal((await app.inject({ method: 'GET', url: url(other), headers: admin })).statusCode, 404, 'the login went with the agent');
    // Not reconciled here: this app's tenant is shared with other tests on the main instance.
    // Removal of unwanted agent endpoints is proven in the drift test, on a tenant of its own.
    const stored = await createSipLoginStore(app.mysql).listWithSecrets(app.tenantId);
    t.notOk(stored.some((l) => l.agentId === other), 'the reconciler will not be given it');
  });
});
