import t from 'tap';
import { bearer, buildTestApp, eventually, loginAs } from '../helpers/app.js';
import type { RoutingConfig } from '../../server/modules/routing/service.js';
import { createAcdService, replayWindow } from '../../server/modules/acd/service.js';
import { createAcdSqlStore } from '../../server/modules/acd/store.js';
import type { RouterRunner } from '../../server/modules/acd/router-runner.js';

/** A server whose router takes its lease fast, an admin and an agent logged in, and a PUT as the admin. */
async function routingApp(t: Parameters<typeof buildTestApp>[0]) {
  const app = await buildTestApp(t, { IPCC_ROUTER_LEASE_MS: '1000' });
  const admin = await loginAs(app, ['admin']);
  const agentLogin = await loginAs(app, ['agent']);
  const H = bearer(admin.token);
  const A = bearer(agentLogin.token);
  const put = (url: string, payload: object) => app.inject({ method: 'PUT', url, headers: H, payload });
  return { app, agentLogin, H, A, put };
}

t.test('a task is routed to a ready agent, accepted, and released, all through the API', async (t) => {
  const { app, agentLogin, H, A, put } = await routingApp(t);
  t.equal((await put('/v1/skills/billing', { name: 'Billing' })).statusCode, 201);
  t.equal((await put('/v1/queues/support', { name: 'Support', strategy: 'longest_idle', skills: [{ skillId: 'billing', minLevel: 3 }], serviceLevel: { percent: 80, withinSeconds: 20 } })).statusCode, 201);
  t.equal((await put('/v1/agents/ana', { name: 'Ana', userId: agentLogin.user.id, skills: [{ skillId: 'billing', level: 5 }] })).statusCode, 201);
  t.equal((await put('/v1/agents/bob', { name: 'Bob', skills: [{ skillId: 'billing', level: 9 }] })).statusCode, 201);

  await eventually(async () => app.router?.isLeader(), 5000);

  // Ana logs in; she may not change Bob's presence.
  const ready = await app.inject({ method: 'PUT', url: '/v1/agents/ana/presence', headers: A, payload: { kind: 'ready' } });
  t.equal(ready.statusCode, 202, ready.body);
  const notHers = await app.inject({ method: 'PUT', url: '/v1/agents/bob/presence', headers: A, payload: { kind: 'ready' } });
  t.equal(notHers.statusCode, 403);
  t.equal(notHers.json().code, 'not_your_agent');
  const noReason = await app.inject({ method: 'PUT', url: '/v1/agents/ana/presence', headers: A, payload: { kind: 'not_ready' } });
  t.equal(noReason.statusCode, 400, 'not_ready needs a reason');
  await eventually(async () => (await app.inject({ method: 'GET', url: '/v1/agents/ana/state', headers: A })).json().presence.kind === 'ready', 5000);

  const task = await app.inject({ method: 'POST', url: '/v1/tasks', headers: H, payload: { id: 'call-1', queueId: 'support', channel: 'voice' } });
  t.equal(task.statusCode, 201, task.body);
  const retry = await app.inject({ method: 'POST', url: '/v1/tasks', headers: H, payload: { id: 'call-1', queueId: 'support', channel: 'voice' } });
  t.equal(retry.statusCode, 200, 'the same task again is a harmless retry');
  const clash = await app.inject({ method: 'POST', url: '/v1/tasks', headers: H, payload: { id: 'call-1', queueId: 'support', channel: 'chat' } });
  t.equal(clash.statusCode, 409);
  t.equal(clash.json().code, 'task_exists');
  const badQueue = await app.inject({ method: 'POST', url: '/v1/tasks', headers: H, payload: { queueId: 'nope', channel: 'voice' } });
  t.equal(badQueue.statusCode, 400);
  t.equal(badQueue.json().details.field, 'body.queueId');

  // The offer reaches Ana's event stream (Bob is offline, so only Ana can get it).
  const offer = await eventually(async () => {
    const r = await app.inject({ method: 'GET', url: '/v1/agents/ana/events', headers: A });
    return r.json().items.map((i: { event: { kind: string; offers?: { id: string; taskId: string }[] } }) => i.event).find((e: { kind: string }) => e.kind === 'route');
  }, 5000);
  t.equal(offer.offers[0].taskId, 'call-1');
  t.match(offer.decision, { taskId: 'call-1' }, 'the route decision carries its audit');

  const wrongOffer = await app.inject({ method: 'POST', url: `/v1/agents/ana/offers/${encodeURIComponent('x@bob')}/accept`, headers: A });
  t.equal(wrongOffer.statusCode, 404);
  const acc = await app.inject({ method: 'POST', url: `/v1/agents/ana/offers/${encodeURIComponent(offer.offers[0].id)}/accept`, headers: A });
  t.equal(acc.statusCode, 202);
  await eventually(async () => (await app.inject({ method: 'GET', url: '/v1/tasks/call-1', headers: H })).json().state === 'assigned', 5000);
  const got = await app.inject({ method: 'GET', url: '/v1/tasks/call-1', headers: H });
  t.equal(got.json().assignedAgentId, 'ana');

  const rel = await app.inject({ method: 'POST', url: '/v1/agents/ana/tasks/call-1/release', headers: A });
  t.equal(rel.statusCode, 202);
  await eventually(async () => (await app.inject({ method: 'GET', url: '/v1/tasks/call-1', headers: H })).json().state === 'ended', 5000);

  const [decisions] = (await app.mysql.query("SELECT kind FROM route_decisions WHERE task_id = 'call-1' ORDER BY id")) as unknown as [{ kind: string }[]];
  t.same(decisions.map((d) => d.kind), ['route', 'task_assigned'], 'the decisions are on record');
  const [offers] = (await app.mysql.query("SELECT agent_id, outcome FROM offers WHERE task_id = 'call-1'")) as unknown as [{ agent_id: string; outcome: string }[]];
  t.same(offers, [{ agent_id: 'ana', outcome: 'accepted' }]);

  const ewt = await app.inject({ method: 'GET', url: '/v1/queues/support/estimated-wait?channel=voice', headers: A });
  t.equal(ewt.statusCode, 200, ewt.body);
  t.ok(['agent_available', 'throughput', 'history', 'none'].includes(ewt.json().basis));
  const badEwt = await app.inject({ method: 'GET', url: '/v1/queues/support/estimated-wait?channel=fax', headers: A });
  t.equal(badEwt.statusCode, 400);

  // Replay: the recorded input re-run through the router reproduces every recorded decision…
  await eventually(async () => {
    const [rows] = (await app.mysql.query("SELECT COUNT(*) AS n FROM routing_events WHERE JSON_VALUE(body, '$.type') = 'capacity_released'")) as unknown as [{ n: number }[]];
    return Number(rows[0]?.n) === 1;
  }, 5000);
  const sql = createAcdSqlStore(app.mysql);
  const window = { tenantId: app.tenantId, partition: `t${app.tenantId}`, fromMs: 0, toMs: Date.now() + 1000 };
  const same = await replayWindow(sql, window);
  t.equal(same.diff.identical, true, 'replay under the recorded configuration is identical');
  t.ok(same.diff.summary.decisionsA >= 2 && same.diff.summary.decisionsA === same.diff.summary.decisionsB);
  // …and a what-if with a stricter skill requirement would have left the call unanswered by Ana.
  const queues = (await app.inject({ method: 'GET', url: '/v1/queues/support', headers: H })).json();
  t.equal(queues.id, 'support');
  const whatIf = await replayWindow(sql, {
    ...window,
    override: { queues: [{ id: 'support', tenantId: String(app.tenantId), strategy: 'longest_idle', skills: [{ skillId: 'billing', minLevel: 7 }], agentGroups: [], serviceLevel: { percent: 80, withinMs: 20000 } }] },
  });
  t.equal(whatIf.diff.identical, false);
  t.match(whatIf.diff.tasks, [{ taskId: 'call-1', a: { assignedAgentId: 'ana' } }]);
  t.notOk(whatIf.diff.tasks[0]?.b?.assignedAgentId, 'nobody qualified was ready under the what-if');
});

t.test('after-call work: wrap-up keeps the agent from new work until it ends or the agent ends it; dispositions are checked and recorded', async (t) => {
  const { app, agentLogin, H, A, put } = await routingApp(t);
  await put('/v1/skills/sales', { name: 'Sales' });
  const q = await put('/v1/queues/sales', { name: 'Sales', strategy: 'longest_idle', skills: [{ skillId: 'sales', minLevel: 1 }], serviceLevel: { percent: 80, withinSeconds: 20 }, wrapUpSeconds: 2, dispositions: ['sold', 'no-interest'] });
  t.equal(q.statusCode, 201, q.body);
  await put('/v1/agents/eve', { name: 'Eve', userId: agentLogin.user.id, skills: [{ skillId: 'sales', level: 5 }] });
  await put('/v1/agents/fay', { name: 'Fay', skills: [{ skillId: 'sales', level: 5 }] });
  await eventually(async () => app.router?.isLeader(), 5000);
  await eventually(async () => (await app.inject({ method: 'PUT', url: '/v1/agents/eve/presence', headers: A, payload: { kind: 'ready' } })).statusCode === 202, 5000);
  await eventually(async () => (await app.inject({ method: 'GET', url: '/v1/agents/eve/state', headers: A })).json().presence.kind === 'ready', 5000);
  const state = async () => (await app.inject({ method: 'GET', url: '/v1/agents/eve/state', headers: A })).json().presence.kind as string;

  const handle = async (taskId: string): Promise<void> => {
    t.equal((await app.inject({ method: 'POST', url: '/v1/tasks', headers: H, payload: { id: taskId, queueId: 'sales', channel: 'voice' } })).statusCode, 201);
    const offer = await eventually(async () => {
      const r = await app.inject({ method: 'GET', url: '/v1/agents/eve/events', headers: A });
      return r.json().items.map((i: { event: { kind: string; offers?: { id: string; taskId: string }[] } }) => i.event).find((e: { offers?: { taskId: string }[] }) => e.offers?.[0]?.taskId === taskId);
    }, 5000);
    t.equal((await app.inject({ method: 'POST', url: `/v1/agents/eve/offers/${encodeURIComponent(offer.offers[0].id)}/accept`, headers: A })).statusCode, 202);
    await eventually(async () => (await app.inject({ method: 'GET', url: `/v1/tasks/${taskId}`, headers: H })).json().state === 'assigned', 5000);
    t.equal((await app.inject({ method: 'POST', url: `/v1/agents/eve/tasks/${taskId}/release`, headers: A })).statusCode, 202);
  };

  await handle('sale-1');
  await eventually(async () => (await state()) === 'wrap_up', 5000);
  // A new call during wrap-up waits: nobody is ready (Fay is offline).
  t.equal((await app.inject({ method: 'POST', url: '/v1/tasks', headers: H, payload: { id: 'sale-2', queueId: 'sales', channel: 'voice' } })).statusCode, 201);
  await new Promise((r) => setTimeout(r, 500));
  t.equal((await app.inject({ method: 'GET', url: '/v1/tasks/sale-2', headers: H })).json().state, 'queued', 'no offer during wrap-up');
  // Wrap-up ends by itself after 2 s and the waiting call is offered at once.
  await eventually(async () => (await app.inject({ method: 'GET', url: '/v1/tasks/sale-2', headers: H })).json().state === 'offered', 5000);

  // Dispositions: from the queue's list, by the handling agent (or a supervisor).
  const bad = await app.inject({ method: 'PUT', url: '/v1/tasks/sale-1/disposition', headers: A, payload: { code: 'maybe' } });
  t.equal(bad.statusCode, 400);
  t.equal(bad.json().code, 'unknown_disposition');
  t.equal(bad.json().details.field, 'body.code');
  const ok = await app.inject({ method: 'PUT', url: '/v1/tasks/sale-1/disposition', headers: A, payload: { code: 'sold', notes: 'two lines, annual plan' } });
  t.equal(ok.statusCode, 200, ok.body);
  t.same(ok.json(), { taskId: 'sale-1', agentId: 'eve', code: 'sold', notes: 'two lines, annual plan' });
  const fix = await app.inject({ method: 'PUT', url: '/v1/tasks/sale-1/disposition', headers: H, payload: { code: 'no-interest' } });
  t.equal(fix.statusCode, 200, 'a supervisor may correct it');
  const [rows] = (await app.mysql.query("SELECT code FROM task_dispositions WHERE task_id = 'sale-1'")) as unknown as [{ code: string }[]];
  t.same(rows, [{ code: 'no-interest' }], 'one disposition per task, the latest');
  const other = await loginAs(app, ['agent']);
  await put('/v1/agents/gus', { name: 'Gus', userId: other.user.id });
  const notHers = await app.inject({ method: 'PUT', url: '/v1/tasks/sale-1/disposition', headers: bearer(other.token), payload: { code: 'sold' } });
  t.equal(notHers.statusCode, 403);
  t.equal(notHers.json().code, 'not_your_task');
  const unknownTask = await app.inject({ method: 'PUT', url: '/v1/tasks/nope/disposition', headers: A, payload: { code: 'sold' } });
  t.equal(unknownTask.statusCode, 404);

  // Ending wrap-up early: accept sale-2, release it, then go ready at once.
  const offer2 = await eventually(async () => {
    const r = await app.inject({ method: 'GET', url: '/v1/agents/eve/events', headers: A });
    return r.json().items.map((i: { event: { kind: string; offers?: { id: string; taskId: string }[] } }) => i.event).find((e: { offers?: { taskId: string }[] }) => e.offers?.[0]?.taskId === 'sale-2');
  }, 5000);
  await app.inject({ method: 'POST', url: `/v1/agents/eve/offers/${encodeURIComponent(offer2.offers[0].id)}/accept`, headers: A });
  await eventually(async () => (await app.inject({ method: 'GET', url: '/v1/tasks/sale-2', headers: H })).json().state === 'assigned', 5000);
  await app.inject({ method: 'POST', url: '/v1/agents/eve/tasks/sale-2/release', headers: A });
  await eventually(async () => (await state()) === 'wrap_up', 5000);
  t.equal((await app.inject({ method: 'PUT', url: '/v1/agents/eve/presence', headers: A, payload: { kind: 'ready' } })).statusCode, 202, 'the agent ends wrap-up early');
  await eventually(async () => (await state()) === 'ready', 1500);
});

t.test("a call's task after a transfer into a queue (the server's own id, `<call>~<n>`) can be fetched, released and given a disposition through the API; `~` stays out of ids that clients create", async (t) => {
  const { app, agentLogin, H, A, put } = await routingApp(t);
  t.equal((await put('/v1/skills/sales', { name: 'Sales' })).statusCode, 201);
  t.equal((await put('/v1/queues/sales', { name: 'Sales', strategy: 'longest_idle', skills: [{ skillId: 'sales', minLevel: 1 }], serviceLevel: { percent: 80, withinSeconds: 20 }, dispositions: ['sold', 'no-interest'] })).statusCode, 201);
  t.equal((await put('/v1/agents/eve', { name: 'Eve', userId: agentLogin.user.id, skills: [{ skillId: 'sales', level: 5 }] })).statusCode, 201);
  await eventually(async () => app.router?.isLeader(), 5000);
  await eventually(async () => (await app.inject({ method: 'PUT', url: '/v1/agents/eve/presence', headers: A, payload: { kind: 'ready' } })).statusCode === 202, 5000);
  await eventually(async () => (await app.inject({ method: 'GET', url: '/v1/agents/eve/state', headers: A })).json().presence.kind === 'ready', 5000);

  const reserved = await app.inject({ method: 'POST', url: '/v1/tasks', headers: H, payload: { id: 'mine~1', queueId: 'sales', channel: 'voice' } });
  t.equal(reserved.statusCode, 400, 'a client may not create an id of the server’s form');
  t.equal(reserved.json().details.fields[0].field, 'body.id', reserved.body);

  // The voice service's own view of the ACD enqueues the call's second task, as after a transfer
  // into a queue; the queue check reads only the queue ids of the configuration.
  const acd = createAcdService({
    redis: app.redis, sql: createAcdSqlStore(app.mysql, { writes: app.mysqlWrites.asPool }), clock: app.clock, tenantId: app.tenantId, partition: `t${app.tenantId}`,
    loadConfig: async () => ({ queues: [{ id: 'sales' }], agents: [] }) as unknown as RoutingConfig,
  });
  const taskId = '1796284002.17~1';
  t.equal((await acd.enqueueTask({ id: taskId, queueId: 'sales', channel: 'voice' })).created, true);
  const path = `/v1/tasks/${encodeURIComponent(taskId)}`;
  const offer = await eventually(async () => {
    const r = await app.inject({ method: 'GET', url: '/v1/agents/eve/events', headers: A });
    return r.json().items.map((i: { event: { kind: string; offers?: { id: string; taskId: string }[] } }) => i.event).find((e: { offers?: { taskId: string }[] }) => e.offers?.[0]?.taskId === taskId);
  }, 5000);
  t.equal((await app.inject({ method: 'POST', url: `/v1/agents/eve/offers/${encodeURIComponent(offer.offers[0].id)}/accept`, headers: A })).statusCode, 202);
  const fetched = await eventually(async () => {
    const r = await app.inject({ method: 'GET', url: path, headers: H });
    return r.statusCode === 200 && r.json().state === 'assigned' ? (r.json() as { assignedAgentId?: string }) : undefined;
  }, 5000);
  t.equal(fetched?.assignedAgentId, 'eve', 'fetched by its id');
  t.equal((await app.inject({ method: 'POST', url: `/v1/agents/eve/tasks/${encodeURIComponent(taskId)}/release`, headers: A })).statusCode, 202, 'released by the agent');
  const disposed = await app.inject({ method: 'PUT', url: `${path}/disposition`, headers: A, payload: { code: 'sold', notes: 'after the transfer' } });
  t.equal(disposed.statusCode, 200, disposed.body);
  const [rows] = (await app.mysql.query('SELECT code, notes FROM task_dispositions WHERE tenant_id = ? AND task_id = ?', [app.tenantId, taskId])) as unknown as [{ code: string; notes: string }[]];
  t.same(rows, [{ code: 'sold', notes: 'after the transfer' }], 'the disposition is on record');
  t.equal((await app.inject({ method: 'GET', url: '/v1/tasks/bad%20id', headers: H })).statusCode, 400, 'a malformed id is still refused');
});

t.test('a router stopped (even twice) and started again in the same process goes on recording routing history: tasks and offers on record keep following its decisions', async (t) => {
  const { app, H, put } = await routingApp(t);
  t.equal((await put('/v1/skills/restart', { name: 'Restart' })).statusCode, 201);
  t.equal((await put('/v1/queues/restart', { name: 'Restart', strategy: 'longest_idle', skills: [{ skillId: 'restart', minLevel: 1 }], serviceLevel: { percent: 80, withinSeconds: 20 } })).statusCode, 201);
  t.equal((await put('/v1/agents/rita', { name: 'Rita', skills: [{ skillId: 'restart', level: 5 }] })).statusCode, 201);
  // The app decorates itself with the router runner (typed there as its status only).
  const router = app.router as unknown as RouterRunner;
  await eventually(async () => router.isLeader(), 5000);
  // Stopped twice (shutdown hooks may run twice): the second stop finds nothing left to write.
  await router.stop();
  await router.stop();
  t.notOk(router.isLeader(), 'stopped, the router holds no lease');
  router.start();
  await eventually(async () => router.isLeader(), 5000);
  await eventually(async () => (await app.inject({ method: 'PUT', url: '/v1/agents/rita/presence', headers: H, payload: { kind: 'ready' } })).statusCode === 202, 5000);
  t.equal((await app.inject({ method: 'POST', url: '/v1/tasks', headers: H, payload: { id: 'after-restart', queueId: 'restart', channel: 'chat' } })).statusCode, 201);
  const offered = await eventually(async () => {
    const v = (await app.inject({ method: 'GET', url: '/v1/tasks/after-restart', headers: H })).json();
    return v.state === 'offered' ? v : undefined;
  }, 5000).catch(() => undefined);
  t.equal(offered?.state, 'offered', "the task's record follows the restarted router's offer");
  const [rows] = (await app.mysql.query("SELECT agent_id FROM offers WHERE task_id = 'after-restart'")) as unknown as [{ agent_id: string }[]];
  t.same(rows.map((r) => r.agent_id), ['rita'], 'the offer is on record');
});
t.test('a router hands each batch it publishes to local listeners with the stream ids the decisions got, each batch naming the decision it published just before', async (t) => {
  const { app, H, put } = await routingApp(t);
  t.equal((await put('/v1/skills/local', { name: 'Local' })).statusCode, 201);
  t.equal((await put('/v1/queues/local', { name: 'Local', strategy: 'longest_idle', skills: [{ skillId: 'local', minLevel: 1 }], serviceLevel: { percent: 80, withinSeconds: 20 } })).statusCode, 201);
  const agents = ['lena', 'lars', 'liv'];
  for (const a of agents) t.equal((await put(`/v1/agents/${a}`, { name: a, skills: [{ skillId: 'local', level: 5 }] })).statusCode, 201);
  const router = app.router as unknown as RouterRunner;
  await eventually(async () => router.isLeader(), 5000);
  const batches: { previous: string | undefined; ids: string[]; kinds: string[] }[] = [];
  const unsubscribe = router.onPublished((p) => batches.push({ previous: p.previous, ids: p.decisions.map((d) => d.id), kinds: p.decisions.map((d) => d.decision.kind) }));
  t.teardown(unsubscribe);
  for (const a of agents) t.equal((await app.inject({ method: 'PUT', url: `/v1/agents/${a}/presence`, headers: H, payload: { kind: 'ready' } })).statusCode, 202);
  // One task at a time, each routed before the next: three batches at least.
  for (const id of ['local-1', 'local-2', 'local-3']) {
    t.equal((await app.inject({ method: 'POST', url: '/v1/tasks', headers: H, payload: { id, queueId: 'local', channel: 'chat' } })).statusCode, 201);
    await eventually(async () => (await app.inject({ method: 'GET', url: `/v1/tasks/${id}`, headers: H })).json().state === 'offered', 5000);
  }
  await eventually(async () => batches.filter((b) => b.kinds.includes('route')).length === 3, 5000);
  t.ok(batches.length >= 3, `${batches.length} batches handed over`);
  // Every batch but the first of the term follows the one before it, and the stream holds each
  // decision under the id the listener was given.
  for (let i = 1; i < batches.length; i++) t.equal(batches[i]!.previous, batches[i - 1]!.ids.at(-1), `batch ${i} names the last decision of batch ${i - 1}`);
  const all = batches.flatMap((b) => b.ids);
  const stream = await app.redis.xrange(`acd:{t${app.tenantId}}:out`, all[0]!, all.at(-1)!);
  t.same(stream.map(([id]) => id), all, 'the stream holds exactly the handed-over decisions, in the same order');
  const route = stream.find(([, f]) => JSON.parse(f[f.indexOf('d') + 1] ?? 'null').kind === 'route');
  t.ok(route && batches.some((b) => b.ids.includes(route[0]) && b.kinds.includes('route')), 'the route decision is the one in the stream under its id');
});

t.test('a fresh task (an id the caller vouches is new) reaches the router beside its row: it is offered, its row is stored in order before the routing updates it, a row never written is written by the routing history, and an id that was not new after all is refused by `stored`', async (t) => {
  const { app, agentLogin, A, put } = await routingApp(t);
  t.equal((await put('/v1/skills/care', { name: 'Care' })).statusCode, 201);
  t.equal((await put('/v1/queues/care', { name: 'Care', strategy: 'longest_idle', skills: [{ skillId: 'care', minLevel: 1 }], serviceLevel: { percent: 80, withinSeconds: 20 } })).statusCode, 201);
  t.equal((await put('/v1/agents/fay', { name: 'Fay', userId: agentLogin.user.id, skills: [{ skillId: 'care', level: 5 }] })).statusCode, 201);
  await eventually(async () => app.router?.isLeader(), 5000);
  await eventually(async () => (await app.inject({ method: 'PUT', url: '/v1/agents/fay/presence', headers: A, payload: { kind: 'ready' } })).statusCode === 202, 5000);
  await eventually(async () => (await app.inject({ method: 'GET', url: '/v1/agents/fay/state', headers: A })).json().presence.kind === 'ready', 5000);
  const acd = createAcdService({
    redis: app.redis, sql: createAcdSqlStore(app.mysql, { writes: app.mysqlWrites.asPool }), clock: app.clock, tenantId: app.tenantId, partition: `t${app.tenantId}`,
    loadConfig: async () => ({ queues: [{ id: 'care' }], agents: [] }) as unknown as RoutingConfig,
  });
  const taskId = `${Date.now()}.7`;
  const r = await acd.enqueueTask({ id: taskId, fresh: true, queueId: 'care', channel: 'voice' });
  t.equal(r.created, true);
  t.ok(r.stored, 'the row is handed back as a promise');
  await r.stored;
  const [rows] = (await app.mysql.query('SELECT state FROM tasks WHERE tenant_id = ? AND id = ?', [app.tenantId, taskId])) as unknown as [{ state: string }[]];
  t.equal(rows.length, 1, 'the row is stored once `stored` resolves');
  const offer = await eventually(async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/agents/fay/events', headers: A });
    return res.json().items.map((i: { event: { kind: string; offers?: { id: string; taskId: string }[] } }) => i.event).find((e: { offers?: { taskId: string }[] }) => e.offers?.[0]?.taskId === taskId);
  }, 5000);
  t.ok(offer, 'the router offered it');
  t.equal((await app.inject({ method: 'POST', url: `/v1/agents/fay/offers/${encodeURIComponent(offer.offers[0].id)}/accept`, headers: A })).statusCode, 202);
  const assigned = await eventually(async () => {
    const [s] = (await app.mysql.query('SELECT state, assigned_agent_id FROM tasks WHERE tenant_id = ? AND id = ?', [app.tenantId, taskId])) as unknown as [{ state: string; assigned_agent_id: string | null }[]];
    return s[0]?.state === 'assigned' ? s[0] : undefined;
  }, 5000);
  t.equal(assigned.assigned_agent_id, 'fay', "the routing history's update of the row followed its insert");

  // A process that died after the router entry and before the row: the routing history writes the row.
  const lostId = `${Date.now()}.8`;
  const lost = { id: lostId, tenantId: String(app.tenantId), channel: 'voice', queueId: 'care', priority: 0, requiredSkills: [], enqueuedAt: Date.now(), interactionId: lostId };
  await app.redis.xadd(acd.keys.input, '*', 'at', String(Date.now()), 'e', JSON.stringify({ type: 'task_enqueued', task: lost }));
  const restored = await eventually(async () => {
    const [s] = (await app.mysql.query('SELECT queue_id, channel, interaction_id FROM tasks WHERE tenant_id = ? AND id = ?', [app.tenantId, lostId])) as unknown as [{ queue_id: string; channel: string; interaction_id: string }[]];
    return s[0];
  }, 5000).catch(() => undefined);
  t.same(restored, { queue_id: 'care', channel: 'voice', interaction_id: lostId }, 'a task the router has but whose row was never written gets its row from the routing history');

  const again = await acd.enqueueTask({ id: taskId, fresh: true, queueId: 'care', channel: 'voice' });
  await t.rejects(again.stored!, { code: 'task_exists' }, 'an id that was not new: `stored` says so');
  const [after] = (await app.mysql.query('SELECT state FROM tasks WHERE tenant_id = ? AND id = ?', [app.tenantId, taskId])) as unknown as [{ state: string }[]];
  t.equal(after[0]?.state, 'assigned', 'and the row keeps what was stored first');
});
