/**
 * Asterisk restarts under live calls. Runs on an Asterisk instance of its own (created and
 * destroyed here): one caller is connected to the only agent, one waits in the queue, then the
 * instance is stopped and started again. The server must reconnect, record both calls as lost
 * to the media server's restart (not as completed or abandoned by the caller), free the agent
 * and route the next call normally.
 */
import t from 'tap';

type Asserts = Pick<typeof t, 'same' | 'ok' | 'equal'>;
import { bearer, buildVoiceTestApp, eventually, loginAs } from '../helpers/app.js';
import { asteriskPid, destroyAsterisk, ensureAsterisk, stopAsterisk, uniqueName, type AsteriskInstance } from '../helpers/asterisk.js';
import { freeUdpPort, runSipp, runSippUas, waitUdpListening } from '../helpers/sipp.js';

t.setTimeout(180_000);

t.test('given a connected and a queued call on an Asterisk of its own', async (t) => {
  const instanceName = uniqueName('mr');
  t.teardown(() => destroyAsterisk(instanceName));
  const own = await ensureAsterisk(instanceName);
  const appName = uniqueName('mrestart');
  const app = await buildVoiceTestApp(t, own, appName, {}, 'own');
  const H = bearer((await loginAs(app, ['admin'])).token);
  const call = (method: 'PUT' | 'GET', url: string, payload?: object) => app.inject({ method, url, headers: H, ...(payload ? { payload } : {}) });
  t.equal((await call('PUT', '/v1/skills/voice', { name: 'Voice' })).statusCode, 201);
  t.equal((await call('PUT', '/v1/queues/desk', { name: 'Desk', strategy: 'longest_idle', skills: [{ skillId: 'voice', minLevel: 1 }], serviceLevel: { percent: 80, withinSeconds: 20 } })).statusCode, 201);
  t.equal((await call('PUT', '/v1/agents/a1', { name: 'A1', skills: [{ skillId: 'voice', level: 5 }] })).statusCode, 201);
  const entry = `5${Date.now().toString().slice(-7)}`;
  t.equal((await call('PUT', `/v1/entry-points/${entry}`, { queueId: 'desk' })).statusCode, 200);
  const port = await freeUdpPort('127.0.0.1', 1);
  t.equal((await call('PUT', '/v1/agents/a1/sip-login', { contact: `sip:agent@127.0.0.1:${port}` })).statusCode, 201);
  await eventually(async () => (await call('PUT', '/v1/agents/a1/presence', { kind: 'ready' })).statusCode === 202, 5000);

  const rows = async () => {
    const [r] = (await app.mysql.query('SELECT id, answered_at, queued_at, outcome FROM voice_calls WHERE entry = ? ORDER BY arrived_at', [entry])) as unknown as [{ id: string; answered_at: Date | null; queued_at: Date | null; outcome: string | null }[]];
    return r;
  };
  /** One caller connected to the agent and one waiting; resolves once both are in place. */
  const connectAndQueue = async (prefix: string, instance: AsteriskInstance) => {
    const before = (await rows()).length;
    const phone = runSippUas({ instance, scenario: 'agent-talks-then-hangs-up.xml', ip: '127.0.0.1', port, pauseMs: 60_000, timeoutMs: 30_000 });
    await waitUdpListening('127.0.0.1', port, 10_000);
    await eventually(async () => (await call('GET', '/v1/agents/a1/state')).json().presence.kind === 'ready', 10_000, 100);
    const callers = [runSipp({ instance, scenario: 'caller-waits-for-far-end.xml', service: entry, keys: { app: appName, caller: `${prefix}1` }, timeoutMs: 30_000 })];
    await eventually(async () => (await rows()).slice(before).some((r) => r.answered_at), 15_000, 100);
    callers.push(runSipp({ instance, scenario: 'caller-waits-for-far-end.xml', service: entry, keys: { app: appName, caller: `${prefix}2` }, timeoutMs: 30_000 }));
    await eventually(async () => (await rows()).slice(before).filter((r) => r.queued_at && !r.answered_at).length === 1, 10_000, 100);
    return { before, peers: [...callers, phone] };
  };
  const checkLost = async (t: Asserts, before: number) => {
    await eventually(async () => app.telephony?.health().every((h) => h.up), 20_000, 100);
    const ended = await eventually(async () => {
      const r = (await rows()).slice(before);
      return r.length === 2 && r.every((x) => x.outcome) ? r : undefined;
    }, 15_000, 100);
    t.same(ended.map((r) => r.outcome), ['lost', 'lost'], 'both calls are on record as lost to the media server, not completed or abandoned');
    for (const r of ended) {
      const task = await eventually(async () => {
        const body = (await call('GET', `/v1/tasks/${r.id}`)).json();
        return body.state === 'ended' || body.state === 'abandoned' ? body : undefined;
      }, 5000);
      t.ok(task, `the task of ${r.answered_at ? 'the connected' : 'the waiting'} call is over (${task.state})`);
    }
    const state = await eventually(async () => {
      const s = (await call('GET', '/v1/agents/a1/state')).json();
      return s.loadUnits === 0 ? s : undefined;
    }, 5000);
    t.equal(state.loadUnits, 0, "the agent's capacity is free again");
  };

  await t.test('when Asterisk is restarted (core stop) then the server reconnects and records both calls as lost, and the agent is free again', async (t) => {
    const { before, peers } = await connectAndQueue('6110000', own);
    await stopAsterisk(instanceName);
    await ensureAsterisk(instanceName);
    await checkLost(t, before);
    await Promise.allSettled(peers);
  });

  await t.test('when Asterisk crashes (SIGKILL) and comes back then the reconnect finds the calls gone and records them as lost', async (t) => {
    const { before, peers } = await connectAndQueue('6120000', own);
    const pid = asteriskPid(own);
    t.ok(pid, 'Asterisk runs');
    process.kill(pid!, 'SIGKILL');
    await eventually(async () => asteriskPid(own) === undefined, 10_000, 100);
    await ensureAsterisk(instanceName);
    await checkLost(t, before);
    await Promise.allSettled(peers);
  });
});
