import t from 'tap';
import { buildTestApp } from '../helpers/app.js';
import type { TelephonyPort } from '../../server/infra/plugins/resources.js';

t.test('given MariaDB and Redis up when /readyz is called then 200 with each reported separately', async (t) => {
  const app = await buildTestApp(t);
  const res = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(res.statusCode, 200);
  const body = res.json();
  t.equal(body.ready, true);
  t.equal(body.checks.mysql.up, true);
  t.equal(body.checks.redis.up, true);
  t.same(body.checks.asterisk, []);
  const live = await app.inject({ method: 'GET', url: '/healthz' });
  t.equal(live.statusCode, 200);
  t.equal(live.json().status, 'ok');
});

t.test('given an Asterisk reported down when /readyz is called then 503 naming that server', async (t) => {
  const since = new Date().toISOString();
  const health = [
    { name: 'main', up: true, since },
    { name: 'backup', up: false, since, detail: 'connect ECONNREFUSED 127.0.0.1:1' },
  ];
  // The port's own contract: readiness reflects exactly what the telephony layer reports.
  const telephony: TelephonyPort = { start: async () => undefined, stop: async () => undefined, health: () => health };
  const app = await buildTestApp(t, {}, { telephony });
  const res = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(res.statusCode, 503);
  t.equal(res.json().ready, false);
  t.same(res.json().checks.asterisk.map((a: { name: string; up: boolean }) => [a.name, a.up]), [['main', true], ['backup', false]]);
  t.match(res.json().checks.asterisk[1].detail, /ECONNREFUSED/);
});

t.test('given Redis unreachable when /readyz is called then 503 with redis down and mysql up, within the timeout', async (t) => {
  const app = await buildTestApp(t, { IPCC_REDIS_URL: 'redis://127.0.0.1:1/0' }, { work: false });
  const started = Date.now();
  const res = await app.inject({ method: 'GET', url: '/readyz' });
  t.ok(Date.now() - started < 4000, 'answers within the check timeout');
  t.equal(res.statusCode, 503);
  t.equal(res.json().checks.redis.up, false);
  t.equal(res.json().checks.mysql.up, true);
});

t.test('given the app when /openapi.json and /docs are fetched then every protected operation declares bearer security', async (t) => {
  const app = await buildTestApp(t);
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  t.equal(res.statusCode, 200);
  const doc = res.json();
  t.equal(doc.openapi, '3.1.0');
  for (const p of ['/v1/auth/login', '/v1/users', '/v1/api-keys', '/readyz']) t.ok(doc.paths[p], `documents ${p}`);
  const unsecured: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, { security?: unknown[] }>>)) {
    for (const [method, op] of Object.entries(ops)) {
      const isPublic = ['/v1/auth/login', '/healthz', '/readyz'].includes(path);
      if (!isPublic && !op.security) unsecured.push(`${method} ${path}`);
    }
  }
  t.same(unsecured, [], 'no protected operation is documented without security');
  const docs = await app.inject({ method: 'GET', url: '/docs/' });
  t.equal(docs.statusCode, 200);
  t.match(docs.headers['content-type'], /text\/html/);
});

t.test('given a route that declares no roles when the app starts then start-up fails naming the route', async (t) => {
  const app = await buildTestApp(t);
  // Registering after ready is refused by Fastify, so check the hook on a child context before ready.
  t.rejects(
    (async () => {
      const { default: Fastify } = await import('fastify');
      const { accessPlugin } = await import('../../server/infra/plugins/access.js');
      const probe = Fastify();
      await probe.register(accessPlugin, { authenticate: async () => { throw new Error('unused'); }, authorize: () => undefined });
      probe.get('/v1/forgotten', async () => 'x');
      await probe.ready();
    })(),
    /GET \/v1\/forgotten declares neither public access nor the roles allowed/,
  );
  t.ok(app);
});
