import t from 'tap';
import type { RowDataPacket } from 'mysql2';
import { bearer, buildTestApp, eventually, loginAs, seedUser } from '../helpers/app.js';

t.test('login, tokens, throttling and API keys', async (t) => {
  const app = await buildTestApp(t, { IPCC_AUTH_MAX_FAILURES: '3', IPCC_AUTH_THROTTLE_WINDOW: '60' });

  t.test('given a valid user when logging in then a token works for /me and carries the roles', async (t) => {
    const user = await seedUser(app, ['supervisor', 'qa']);
    const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: user.username, password: user.password } });
    t.equal(res.statusCode, 200);
    const { token, expiresAt } = res.json();
    const ttl = (Date.parse(expiresAt) - Date.now()) / 1000;
    t.ok(ttl > 800 && ttl <= 900, `token lives the configured 900 s (got ${ttl})`);
    const me = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(token) });
    t.equal(me.statusCode, 200);
    t.same(me.json().roles, ['supervisor', 'qa']);
    t.equal(me.json().kind, 'user');
  });

  t.test('given a wrong password or unknown user when logging in then the same 401 login_failed', async (t) => {
    const user = await seedUser(app, ['agent']);
    const wrong = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: user.username, password: 'nope-nope-nope' } });
    const unknown = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'ghost-' + user.username, password: 'nope-nope-nope' } });
    t.equal(wrong.statusCode, 401);
    t.equal(unknown.statusCode, 401);
    t.same(wrong.json(), unknown.json(), 'no hint whether the user exists');
    t.equal(wrong.json().code, 'login_failed');
    const [rows] = await app.mysql.query<RowDataPacket[]>("SELECT outcome FROM audit_log WHERE action = 'auth.login' AND actor = ?", [`login:${user.username}`]);
    t.same(rows.map((r) => r.outcome), ['denied'], 'the failed login is audited');
  });

  t.test('given repeated failures when the limit is reached then even the right password gets 429 with Retry-After', async (t) => {
    const user = await seedUser(app, ['agent']);
    for (let i = 0; i < 3; i++) {
      const r = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: user.username, password: `wrong-${i}-password` } });
      t.equal(r.statusCode, 401);
    }
    const blocked = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: user.username, password: user.password } });
    t.equal(blocked.statusCode, 429);
    t.equal(blocked.json().code, 'login_throttled');
    const retry = Number(blocked.headers['retry-after']);
    t.ok(retry > 0 && retry <= 60, `Retry-After within the window (${retry})`);
  });

  t.test('given a password change when an old token is used then 401 token_revoked', async (t) => {
    const admin = await loginAs(app, ['admin']);
    const agent = await loginAs(app, ['agent']);
    const before = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(agent.token) });
    t.equal(before.statusCode, 200);
    const patch = await app.inject({ method: 'PATCH', url: `/v1/users/${agent.user.id}`, headers: bearer(admin.token), payload: { password: 'brand-new-password-42' } });
    t.equal(patch.statusCode, 200);
    const after = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(agent.token) });
    t.equal(after.statusCode, 401);
    t.equal(after.json().code, 'token_revoked');
    const relogin = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: agent.user.username, password: 'brand-new-password-42' } });
    t.equal(relogin.statusCode, 200);
    const fresh = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(relogin.json().token) });
    t.equal(fresh.statusCode, 200, 'a token issued after the change works');
  });

  t.test('given a disabled user when logging in or refreshing then refused', async (t) => {
    const admin = await loginAs(app, ['admin']);
    const agent = await loginAs(app, ['agent']);
    const patch = await app.inject({ method: 'PATCH', url: `/v1/users/${agent.user.id}`, headers: bearer(admin.token), payload: { disabled: true } });
    t.equal(patch.statusCode, 200);
    t.equal(patch.json().disabled, true);
    const login = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: agent.user.username, password: agent.user.password } });
    t.equal(login.statusCode, 401);
    const refresh = await app.inject({ method: 'POST', url: '/v1/auth/refresh', headers: bearer(agent.token) });
    t.equal(refresh.statusCode, 401);
  });

  t.test('given a valid token when refreshing then a new working token', async (t) => {
    const agent = await loginAs(app, ['agent']);
    const r = await app.inject({ method: 'POST', url: '/v1/auth/refresh', headers: bearer(agent.token) });
    t.equal(r.statusCode, 200);
    t.not(r.json().token, agent.token);
    const me = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(r.json().token) });
    t.equal(me.statusCode, 200);
  });

  t.test('given an API key when used then it authenticates as integration, its use is recorded by a job, and revoking it stops it', async (t) => {
    const admin = await loginAs(app, ['admin']);
    const created = await app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(admin.token), payload: { name: 'crm sync' } });
    t.equal(created.statusCode, 201);
    const { id, key } = created.json();
    t.match(key, /^ipcc_[0-9a-f]{16}_/);
    const me = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(key) });
    t.equal(me.statusCode, 200);
    t.same(me.json().roles, ['integration']);
    t.equal(me.json().kind, 'api_key');
    const viaHeader = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: { 'x-api-key': key } });
    t.equal(viaHeader.statusCode, 200, 'X-API-Key works too');
    const forbidden = await app.inject({ method: 'GET', url: '/v1/users', headers: bearer(key) });
    t.equal(forbidden.statusCode, 403, 'integration role may not list users');
    await eventually(async () => {
      const list = await app.inject({ method: 'GET', url: '/v1/api-keys', headers: bearer(admin.token) });
      const item = list.json().items.find((k: { id: string }) => k.id === id);
      t.notOk('keyHash' in item, 'the hash is never returned');
      return item.lastUsedAt !== null;
    }, 10000);
    const del = await app.inject({ method: 'DELETE', url: `/v1/api-keys/${id}`, headers: bearer(admin.token) });
    t.equal(del.statusCode, 204);
    const after = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(key) });
    t.equal(after.statusCode, 401);
    const again = await app.inject({ method: 'DELETE', url: `/v1/api-keys/ffffffffffffffff`, headers: bearer(admin.token) });
    t.equal(again.statusCode, 404);
    t.equal(again.json().code, 'api_key_not_found');
  });

  t.test('given a key whose secret is altered when used then 401', async (t) => {
    const admin = await loginAs(app, ['admin']);
    const { key } = (await app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(admin.token), payload: { name: 'tamper' } })).json();
    const tampered = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
    const res = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(tampered) });
    t.equal(res.statusCode, 401);
    t.equal(res.json().code, 'credential_invalid');
  });
});

t.test('user administration', async (t) => {
  const app = await buildTestApp(t);
  const admin = await loginAs(app, ['admin']);

  t.test('given a new user when created twice then 201 then 409 user_exists', async (t) => {
    const body = { username: 'ana.agent', password: 'correct-horse-battery', roles: ['agent'] };
    const a = await app.inject({ method: 'POST', url: '/v1/users', headers: bearer(admin.token), payload: body });
    t.equal(a.statusCode, 201);
    t.notOk('password_hash' in a.json() || 'passwordHash' in a.json());
    const b = await app.inject({ method: 'POST', url: '/v1/users', headers: bearer(admin.token), payload: body });
    t.equal(b.statusCode, 409);
    t.equal(b.json().code, 'user_exists');
  });

  t.test('given a weak password when creating a user then 400 password_too_weak naming the field', async (t) => {
    const r = await app.inject({ method: 'POST', url: '/v1/users', headers: bearer(admin.token), payload: { username: 'bob', password: 'aaaaaaaaaaaaaaa', roles: ['agent'] } });
    t.equal(r.statusCode, 400);
    t.equal(r.json().code, 'password_too_weak');
    t.equal(r.json().details.field, 'password');
  });

  t.test('given an unknown role when creating a user then 400 naming the field', async (t) => {
    const r = await app.inject({ method: 'POST', url: '/v1/users', headers: bearer(admin.token), payload: { username: 'eve', password: 'correct-horse-battery', roles: ['root'] } });
    t.equal(r.statusCode, 400);
    t.equal(r.json().code, 'validation_failed');
    t.match(r.json().details.fields[0].field, /^body\.roles/);
  });

  t.test('given the only admin when disabling themselves then 409 last_admin', async (t) => {
    const solo = await buildTestApp(t);
    const only = await loginAs(solo, ['admin']);
    const r = await solo.inject({ method: 'PATCH', url: `/v1/users/${only.user.id}`, headers: bearer(only.token), payload: { disabled: true } });
    t.equal(r.statusCode, 409);
    t.equal(r.json().code, 'last_admin');
  });

  t.test('given a supervisor when listing users then paged in id order; when creating then 403', async (t) => {
    const sup = await loginAs(app, ['supervisor']);
    const page = await app.inject({ method: 'GET', url: '/v1/users?limit=2', headers: bearer(sup.token) });
    t.equal(page.statusCode, 200);
    t.equal(page.json().items.length, 2);
    t.ok(page.json().next);
    const next = await app.inject({ method: 'GET', url: `/v1/users?limit=2&after=${page.json().next}`, headers: bearer(sup.token) });
    t.ok(Number(next.json().items[0].id) > Number(page.json().next));
    const create = await app.inject({ method: 'POST', url: '/v1/users', headers: bearer(sup.token), payload: { username: 'zed', password: 'correct-horse-battery', roles: ['agent'] } });
    t.equal(create.statusCode, 403);
    const bad = await app.inject({ method: 'GET', url: '/v1/users?limit=9999', headers: bearer(sup.token) });
    t.equal(bad.statusCode, 400);
    t.equal(bad.json().details.fields[0].field, 'querystring.limit');
  });

  t.test('given an unknown user id when fetched then 404 user_not_found', async (t) => {
    const r = await app.inject({ method: 'GET', url: '/v1/users/999999', headers: bearer(admin.token) });
    t.equal(r.statusCode, 404);
    t.equal(r.json().code, 'user_not_found');
  });
});
