import t from 'tap';
import { bearer, buildTestApp, loginAs } from '../helpers/app.js';

t.test('routing configuration API', async (t) => {
  const app = await buildTestApp(t);
  const admin = await loginAs(app, ['admin']);
  const sup = await loginAs(app, ['supervisor']);
  const put = (url: string, payload: object, token = admin.token) => app.inject({ method: 'PUT', url, headers: bearer(token), payload });

  t.test('given skills, a calendar, a queue and an agent when put then each is stored, versioned and listed', async (t) => {
    t.equal((await put('/v1/skills/spanish', { name: 'Spanish' })).statusCode, 201);
    t.equal((await put('/v1/skills/billing', { name: 'Billing' })).statusCode, 201);
    const again = await put('/v1/skills/billing', { name: 'Billing & refunds' });
    t.equal(again.statusCode, 200, 'replacing answers 200');
    t.equal(again.json().version, 2);
    const cal = await put('/v1/calendars/office', {
      name: 'Office hours', timeZone: 'Europe/Madrid',
      weekly: { mon: [{ from: '08:00', to: '18:00' }], fri: [{ from: '08:00', to: '14:00' }] },
      holidays: [{ date: '2026-12-25', name: 'Christmas' }],
    });
    t.equal(cal.statusCode, 201, cal.body);
    const q = await put('/v1/queues/sales-es', {
      name: 'Sales (Spanish)', strategy: 'longest_idle', skills: [{ skillId: 'spanish', minLevel: 5 }],
      serviceLevel: { percent: 80, withinSeconds: 20 }, maxWaitSeconds: 300, calendarId: 'office',
      relaxation: [{ afterSeconds: 60, minLevelDelta: 2 }],
    });
    t.equal(q.statusCode, 201, q.body);
    t.ok(q.json().configVersion > again.json().configVersion, 'each change bumps the configuration version');
    const a = await put('/v1/agents/ana', { name: 'Ana', userId: admin.user.id, skills: [{ skillId: 'spanish', level: 8 }, { skillId: 'billing', level: 3 }], channels: ['voice', 'chat'] });
    t.equal(a.statusCode, 201, a.body);
    const list = await app.inject({ method: 'GET', url: '/v1/queues', headers: bearer(sup.token) });
    t.equal(list.statusCode, 200);
    t.same(list.json().items.map((i: { id: string }) => i.id), ['sales-es']);
    const one = await app.inject({ method: 'GET', url: '/v1/agents/ana', headers: bearer(sup.token) });
    t.match(one.json(), { id: 'ana', name: 'Ana', skills: [{ skillId: 'spanish', level: 8 }, { skillId: 'billing', level: 3 }] });
  });

  t.test('given references to missing things when put then 400 unknown_reference naming the field', async (t) => {
    const r = await put('/v1/queues/support', { name: 'Support', strategy: 'round_robin', skills: [{ skillId: 'klingon', minLevel: 1 }], serviceLevel: { percent: 90, withinSeconds: 30 } });
    t.equal(r.statusCode, 400);
    t.equal(r.json().code, 'unknown_reference');
    t.equal(r.json().details.field, 'body.skills[0].skillId');
    const c = await put('/v1/queues/support', { name: 'Support', strategy: 'round_robin', calendarId: 'nope', serviceLevel: { percent: 90, withinSeconds: 30 } });
    t.equal(c.json().details.field, 'body.calendarId');
    const u = await put('/v1/agents/bob', { name: 'Bob', userId: '999999' });
    t.equal(u.json().details.field, 'body.userId');
  });

  t.test('given invalid documents when put then 400 naming the field', async (t) => {
    const bad = await put('/v1/queues/x', { name: 'X', strategy: 'random', serviceLevel: { percent: 120, withinSeconds: 0 } });
    t.equal(bad.statusCode, 400);
    t.equal(bad.json().code, 'validation_failed');
    t.same(bad.json().details.fields.map((f: { field: string }) => f.field).sort(), ['body.serviceLevel.percent', 'body.serviceLevel.withinSeconds', 'body.strategy']);
    const relax = await put('/v1/queues/x', { name: 'X', strategy: 'longest_idle', serviceLevel: { percent: 80, withinSeconds: 20 }, relaxation: [{ afterSeconds: 60 }, { afterSeconds: 30 }] });
    t.equal(relax.statusCode, 400);
    t.equal(relax.json().details.field, 'body.relaxation[1].afterMs');
    const overflow = await put('/v1/queues/x', { name: 'X', strategy: 'longest_idle', serviceLevel: { percent: 80, withinSeconds: 20 }, overflowQueueId: 'sales-es' });
    t.equal(overflow.statusCode, 400, 'overflow needs a max wait');
    t.equal(overflow.json().code, 'queue.overflow_without_max_wait');
    const tz = await put('/v1/calendars/moon', { name: 'Moon', timeZone: 'Moon/Base', weekly: {} });
    t.equal(tz.statusCode, 400);
    t.equal(tz.json().code, 'unknown_time_zone');
    const hours = await put('/v1/calendars/late', { name: 'Late', timeZone: 'UTC', weekly: { mon: [{ from: '25:00', to: '26:00' }] } });
    t.equal(hours.statusCode, 400);
    const badId = await put('/v1/skills/Not_Lower', { name: 'x' });
    t.equal(badId.statusCode, 400);
    t.equal(badId.json().details.fields[0].field, 'params.id');
  });

  t.test('given a skill in use when deleted then 409 naming the users; once unused then 204', async (t) => {
    const r = await app.inject({ method: 'DELETE', url: '/v1/skills/spanish', headers: bearer(admin.token) });
    t.equal(r.statusCode, 409);
    t.equal(r.json().code, 'skill_in_use');
    t.same(r.json().details.usedBy, ['queue sales-es', 'agent ana']);
    t.equal((await put('/v1/skills/unused', { name: 'Unused' })).statusCode, 201);
    t.equal((await app.inject({ method: 'DELETE', url: '/v1/skills/unused', headers: bearer(admin.token) })).statusCode, 204);
    const gone = await app.inject({ method: 'GET', url: '/v1/skills/unused', headers: bearer(admin.token) });
    t.equal(gone.statusCode, 404);
    t.equal(gone.json().code, 'skill_not_found');
  });

  t.test('given a supervisor or an agent when writing then 403; an agent may not read', async (t) => {
    t.equal((await put('/v1/skills/x', { name: 'x' }, sup.token)).statusCode, 403);
    const agent = await loginAs(app, ['agent']);
    t.equal((await app.inject({ method: 'GET', url: '/v1/queues', headers: bearer(agent.token) })).statusCode, 403);
  });
});
