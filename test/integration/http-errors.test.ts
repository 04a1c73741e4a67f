import t from 'tap';
import { issueToken } from '../../server/infra/tokens.js';
import { bearer, buildTestApp, loginAs } from '../helpers/app.js';

t.test('HTTP errors are clear, stable and never 500 for bad input', async (t) => {
  const app = await buildTestApp(t, { IPCC_HTTP_BODY_LIMIT: '2048' });

  t.test('given malformed JSON when posted then 400 malformed_json', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/v1/auth/login', headers: { 'content-type': 'application/json' }, payload: '{"username": "a",' });
    t.equal(res.statusCode, 400);
    t.equal(res.json().code, 'malformed_json');
  });

  t.test('given an unknown route when called then 404 route_not_found', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/v1/nothing-here?x=1' });
    t.equal(res.statusCode, 404);
    t.same(res.json(), { code: 'route_not_found', message: 'No route GET /v1/nothing-here; see /docs for the API.' });
  });

  t.test('given a body larger than the limit when posted then 413 payload_too_large', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'a', password: 'x'.repeat(4000) } });
    t.equal(res.statusCode, 413);
    t.equal(res.json().code, 'payload_too_large');
  });

  t.test('given a non-JSON content type when posted then 415 unsupported_media_type', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/v1/auth/login', headers: { 'content-type': 'text/xml' }, payload: '<a/>' });
    t.equal(res.statusCode, 415);
    t.equal(res.json().code, 'unsupported_media_type');
  });

  t.test('given an empty JSON body when posted then 400 empty_json_body', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/v1/auth/login', headers: { 'content-type': 'application/json' }, payload: '' });
    t.equal(res.statusCode, 400);
    t.equal(res.json().code, 'empty_json_body');
  });

  t.test('given missing and unknown fields when posted then 400 validation_failed naming each field', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'a', color: 'red' } });
    t.equal(res.statusCode, 400);
    const body = res.json();
    t.equal(body.code, 'validation_failed');
    const fields = body.details.fields.map((f: { field: string }) => f.field).sort();
    t.same(fields, ['body.color', 'body.password']);
  });

  t.test('given a wrongly typed field when posted then the error names it', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'a', password: { x: 1 } } });
    t.equal(res.statusCode, 400);
    t.match(res.json().details.fields, [{ field: 'body.password', problem: /string/ }]);
  });

  t.test('given no credential when a protected route is called then 401 credential_missing', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/v1/users' });
    t.equal(res.statusCode, 401);
    t.equal(res.json().code, 'credential_missing');
  });

  t.test('given a garbage token when called then 401 credential_invalid', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/v1/users', headers: bearer('not-a-token') });
    t.equal(res.statusCode, 401);
    t.equal(res.json().code, 'credential_invalid');
  });

  t.test('given a malformed Authorization header when called then 401 credential_invalid', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/v1/users', headers: { authorization: 'Basic abc def' } });
    t.equal(res.statusCode, 401);
    t.equal(res.json().code, 'credential_invalid');
  });

  t.test('given a token signed with another secret when called then 401 credential_invalid', async (t) => {
    const forged = issueToken('x'.repeat(64), { sub: '1', ten: app.tenantId, roles: ['admin'], ver: 1 }, Math.floor(Date.now() / 1000), 600);
    const res = await app.inject({ method: 'GET', url: '/v1/users', headers: bearer(forged.token) });
    t.equal(res.statusCode, 401);
    t.equal(res.json().code, 'credential_invalid');
  });

  t.test('given an expired token when called then 401 token_expired', async (t) => {
    const old = issueToken(app.config.auth.tokenSecret, { sub: '1', ten: app.tenantId, roles: ['admin'], ver: 1 }, Math.floor(Date.now() / 1000) - 7200, 600);
    const res = await app.inject({ method: 'GET', url: '/v1/users', headers: bearer(old.token) });
    t.equal(res.statusCode, 401);
    t.equal(res.json().code, 'token_expired');
  });

  t.test('given an agent when an admin route is called then 403 role_forbidden listing the roles allowed', async (t) => {
    const { token } = await loginAs(app, ['agent']);
    const res = await app.inject({ method: 'POST', url: '/v1/users', headers: bearer(token), payload: { username: 'x1', password: 'a-long-password-1', roles: ['agent'] } });
    t.equal(res.statusCode, 403);
    t.equal(res.json().code, 'role_forbidden');
    t.same(res.json().details.allowedRoles, ['admin']);
  });

  t.test('given a forbidden caller with an invalid body then 403 comes before validation', async (t) => {
    const { token } = await loginAs(app, ['qa']);
    const res = await app.inject({ method: 'POST', url: '/v1/users', headers: bearer(token), payload: { nonsense: true } });
    t.equal(res.statusCode, 403);
  });

  t.test('given a request id header when called then it is echoed; otherwise one is generated', async (t) => {
    const given = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'abc-123-def-456' } });
    t.equal(given.headers['x-request-id'], 'abc-123-def-456');
    const generated = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'bad id with spaces' } });
    t.match(generated.headers['x-request-id'], /^[0-9a-f-]{36}$/);
  });
});
