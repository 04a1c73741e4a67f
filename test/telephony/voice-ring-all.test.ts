/**
 * Offers on real phones: a ring-all queue rings every ready agent at once, the first answer
 * wins and the other phones stop ringing (their INVITE is cancelled); an agent who lets the
 * phone ring out twice is taken out of routing (not ready, RONA) while the caller keeps waiting.
 */
import t from 'tap';
import { bearer, buildVoiceTestApp, jsonApi, eventually, loginAs } from '../helpers/app.js';
import { ensureAsterisk, uniqueName } from '../helpers/asterisk.js';
import { freeUdpPort, runSipp, runSippUas, waitUdpListening } from '../helpers/sipp.js';

t.setTimeout(180_000);

t.test('given agents with phones at fixed addresses on a real Asterisk', async (t) => {
  const asterisk = await ensureAsterisk('main');
  const appName = uniqueName('ring');
  const app = await buildVoiceTestApp(t, asterisk, appName);
  const H = bearer((await loginAs(app, ['admin'])).token);
  const { api, must } = jsonApi(app, H);
  const serviceLevel = { percent: 80, withinSeconds: 20 };
  await must('PUT', '/v1/skills/voice', { name: 'Voice' });
  await must('PUT', '/v1/skills/solo', { name: 'Solo' });
  await must('PUT', '/v1/queues/all-hands', { name: 'All hands', strategy: 'ring_all', skills: [{ skillId: 'voice', minLevel: 1 }], serviceLevel });
  await must('PUT', '/v1/queues/solo', { name: 'Solo', strategy: 'longest_idle', skills: [{ skillId: 'solo', minLevel: 1 }], serviceLevel, offerTimeoutSeconds: 3 });
  const tag = Date.now().toString(36).slice(-5);
  const [a1, a2, a3] = [`ra${tag}`, `rb${tag}`, `rc${tag}`];
  const ports: Record<string, number> = {};
  for (const [a, skill] of [[a1, 'voice'], [a2, 'voice'], [a3, 'solo']] as const) {
    await must('PUT', `/v1/agents/${a}`, { name: a, skills: [{ skillId: skill, level: 5 }] });
    ports[a] = await freeUdpPort('127.0.0.1', 1);
    await must('PUT', `/v1/agents/${a}/sip-login`, { contact: `sip:agent@127.0.0.1:${ports[a]}` });
  }
  const entry = `6${Date.now().toString().slice(-7)}`;
  await must('PUT', `/v1/entry-points/${entry}`, { queueId: 'all-hands' });
  await must('PUT', `/v1/entry-points/${entry}1`, { queueId: 'solo' });
  const ready = (a: string) => eventually(async () => (await api('PUT', `/v1/agents/${a}/presence`, { kind: 'ready' })).statusCode === 202, 5000);
  const phone = async (a: string, scenario: string, o: { pauseMs?: number; calls?: number } = {}) => {
    const done = runSippUas({ instance: asterisk, scenario, ip: '127.0.0.1', port: ports[a]!, timeoutMs: 60_000, ...o });
    await waitUdpListening('127.0.0.1', ports[a]!, 10_000);
    return { done };
  };
  const stamp = Date.now().toString().slice(-6);

  await t.test('when a call comes to a ring-all queue then both phones ring, the first answer wins and the other stops ringing', async (t) => {
    const answers = await phone(a1, 'agent-talks-then-hangs-up.xml', { pauseMs: 1500 });
    const rings = await phone(a2, 'agent-rings-until-cancelled.xml');
    await ready(a1);
    await ready(a2);
    const caller = `71${stamp}`;
    const c = await runSipp({ instance: asterisk, scenario: 'caller-far-end-hangs-up.xml', service: entry, keys: { app: appName, caller }, timeoutMs: 40_000 });
    const [x1, x2] = await Promise.all([answers.done, rings.done]);
    t.equal(c.exitCode, 0, c.errors || c.stderr.slice(-300));
    t.equal(x1.exitCode, 0, `the first phone rang and answered: ${x1.errors}`);
    t.equal(x2.exitCode, 0, `the second phone rang and its ringing was cancelled: ${x2.errors}`);
    const [rows] = (await app.mysql.query('SELECT id, agent_id, outcome FROM voice_calls WHERE caller_number = ?', [caller])) as unknown as [{ id: string; agent_id: string; outcome: string }[]];
    t.match(rows[0], { agent_id: a1, outcome: 'completed' });
    const [ds] = (await app.mysql.query("SELECT body FROM route_decisions WHERE task_id = ? AND kind = 'route'", [rows[0]!.id])) as unknown as [{ body: { offers: { agentId: string }[] } }[]];
    t.same(ds[0]?.body.offers.map((o) => o.agentId).sort(), [a1, a2].sort(), 'one decision offered the call to both agents at once');
  });

  await t.test('when an agent lets the phone ring out twice then it is taken out of routing and the caller keeps waiting', async (t) => {
    const rings = await phone(a3, 'agent-rings-until-cancelled.xml', { calls: 2 });
    await ready(a3);
    const caller = `72${stamp}`;
    const c = runSipp({ instance: asterisk, scenario: 'caller-waits-for-far-end.xml', service: `${entry}1`, keys: { app: appName, caller }, timeoutMs: 40_000 });
    const x = await rings.done;
    t.equal(x.exitCode, 0, `the phone rang twice, cancelled each time: ${x.errors}`);
    const state = await eventually(async () => {
      const s = (await api('GET', `/v1/agents/${a3}/state`)).json();
      return s.presence.kind === 'not_ready' ? s : undefined;
    }, 10_000, 100);
    t.same(state.presence, { kind: 'not_ready', reason: 'rona' }, 'not ready for ringing out (RONA)');
    const [rows] = (await app.mysql.query('SELECT id, outcome FROM voice_calls WHERE caller_number = ?', [caller])) as unknown as [{ id: string; outcome: string | null }[]];
    t.equal(rows[0]?.outcome, null, 'the caller is still waiting in the queue');
    const task = await eventually(async () => {
      const v = (await api('GET', `/v1/tasks/${rows[0]!.id}`)).json();
      return v.state === 'queued' ? v : undefined;
    }, 5000, 100);
    t.equal(task.state, 'queued', 'its task is back in the queue');
    await app.inject({ method: 'DELETE', url: `/v1/tasks/${rows[0]!.id}`, headers: H });
    const done = await c;
    t.equal(done.exitCode, 0, 'a cancelled task lets the caller go (the far end hangs up)');
  });
});
