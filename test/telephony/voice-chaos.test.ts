/**
 * Chaos on the real stack: a real server process (server/main.ts) drives a real Asterisk; two
 * calls are connected to agents and two callers wait in the queue when the process is killed
 * with SIGKILL. A new process is started on the same MariaDB, Redis and Asterisk. Connected
 * calls must go on (Asterisk holds their bridges), queued callers keep their music and their
 * place, the new process takes the calls over from Redis and ARI, routes again, and leaves no
 * channel or bridge behind. Then the process is killed again while an agent's phone rings: the
 * new process keeps the ringing leg (Asterisk lists it in the application before it answers),
 * and the answer connects the call, with no missed offer charged and no second ring.
 */
import { randomBytes, randomInt } from 'node:crypto';
import t from 'tap';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import { hashPassword } from '../../server/infra/passwords.js';
import { migrate } from '../../server/infra/migrate.js';
import { dropDatabase, ensureDatabase } from '../../server/infra/mysql.js';
import { MIGRATIONS_DIR } from '../../server/infra/plugins/resources.js';
import { createSilentLogger } from '../../server/infra/logger.js';
import { createAriClient } from '../../server/telephony/ari-client.js';
import { agentEndpointId } from '../../server/domain/sip-endpoint.js';
import { MYSQL_BASE, REDIS_URL, deleteKeys, eventually, uniqueId } from '../helpers/app.js';
import { client, startServer, type ServerProcess } from '../helpers/server-process.js';
import { ensureAsterisk, uniqueName } from '../helpers/asterisk.js';
import { freeUdpPort, runSipp, runSippUas, waitUdpListening, type SippResult } from '../helpers/sipp.js';

t.setTimeout(180_000);

interface CallRow {
  id: string;
  caller_number: string;
  agent_id: string | null;
  queued_at: Date | null;
  answered_at: Date | null;
  ended_at: Date | null;
  outcome: string | null;
}

t.test('given two connected and two queued calls on a real server process and Asterisk', async (t) => {
  const asterisk = await ensureAsterisk('main');
  const appName = uniqueName('chaos');
  const id = uniqueId('k');
  const dbUrl = `${MYSQL_BASE}/ipcc_${id}`;
  const prefix = `ipcc-test:${id}:`;
  // A tenant of its own: the server's endpoint reconciler touches only `agent-<tenant>-*`.
  const tenantId = randomInt(100_000, 2_000_000);
  const tenantName = `chaos-${id}`;
  await ensureDatabase(dbUrl);
  await migrate({ url: dbUrl, dir: MIGRATIONS_DIR, logger: createSilentLogger() });
  const conn = await mysql.createConnection(dbUrl);
  await conn.query('INSERT INTO tenants (id, name) VALUES (?, ?)', [tenantId, tenantName]);
  await conn.query("INSERT INTO users (tenant_id, username, password_hash, roles) VALUES (?, 'boss', ?, 'admin')", [tenantId, await hashPassword('a-long-boss-password')]);
  const redis = new Redis(REDIS_URL, { keyPrefix: prefix });
  const ari = createAriClient({ name: 'chaos-check', baseUrl: asterisk.ariUrl, username: asterisk.ariUser, password: asterisk.ariPassword, app: `${appName}-check`, logger: createSilentLogger() });
  const procs: ServerProcess[] = [];
  t.teardown(async () => {
    for (const p of procs) p.child.kill('SIGKILL');
    await conn.end();
    redis.disconnect();
    await deleteKeys(prefix);
    await dropDatabase(dbUrl);
  });

  const env = {
    IPCC_MYSQL_URL: dbUrl, IPCC_REDIS_URL: REDIS_URL, IPCC_REDIS_PREFIX: prefix, IPCC_TENANT: tenantName,
    IPCC_AUTH_TOKEN_SECRET: randomBytes(32).toString('hex'), IPCC_ROUTER_LEASE_MS: '1000', IPCC_LOG_LEVEL: 'info',
    IPCC_ASTERISK_SERVERS: `main=${asterisk.ariUrl.replace('://', `://${asterisk.ariUser}:${asterisk.ariPassword}@`)}`,
    IPCC_ARI_APP: appName,
  };
  let proc = await startServer(env);
  procs.push(proc);
  const base = (): string => proc.url;
  await eventually(async () => (await fetch(`${base()}/readyz`)).ok, 20_000, 200);
  const login = await client(base)<{ token: string }>('POST', '/v1/auth/login', { username: 'boss', password: 'a-long-boss-password' });
  t.equal(login.status, 200);
  const api = client(base, login.body.token);
  const ok = async (method: string, path: string, body?: unknown) => {
    const r = await api(method, path, body);
    if (r.status >= 300) throw new Error(`${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
    return r;
  };
  await ok('PUT', '/v1/skills/voice', { name: 'Voice' });
  await ok('PUT', '/v1/queues/care', { name: 'Care', strategy: 'longest_idle', skills: [{ skillId: 'voice', minLevel: 1 }], serviceLevel: { percent: 80, withinSeconds: 20 } });
  const entry = `7${Date.now().toString().slice(-7)}`;
  // a4 is the agent whose phone rings across the second kill.
  const agents = ['a1', 'a2', 'a3', 'a4'];
  for (const a of agents) await ok('PUT', `/v1/agents/${a}`, { name: a, skills: [{ skillId: 'voice', level: 5 }] });
  await ok('PUT', `/v1/entry-points/${entry}`, { queueId: 'care' });

  // Agent phones at fixed addresses (SIP logins with a static contact), each a SIPp UAS.
  const ports = new Map<string, number>();
  for (const a of agents) {
    const port = await freeUdpPort('127.0.0.1', 1);
    ports.set(a, port);
    const r = await ok('PUT', `/v1/agents/${a}/sip-login`, { contact: `sip:agent@127.0.0.1:${port}` });
    t.equal((r.body as { contact?: string }).contact, `sip:agent@127.0.0.1:${port}`);
  }
  t.teardown(async () => {
    for (const a of agents) {
      const ep = agentEndpointId(tenantId, a);
      for (const type of ['endpoint', 'aor', 'auth']) await ari.request('DELETE', `/asterisk/config/dynamic/res_pjsip/${type}/${ep}`).catch(() => undefined);
    }
  });
  // a1 and a2 talk for 20 s (across the kill); a3 joins after the restart and takes both waiting callers.
  const phones: Promise<SippResult>[] = [
    runSippUas({ instance: asterisk, scenario: 'agent-talks-then-hangs-up.xml', ip: '127.0.0.1', port: ports.get('a1')!, pauseMs: 20_000, timeoutMs: 80_000 }),
    runSippUas({ instance: asterisk, scenario: 'agent-talks-then-hangs-up.xml', ip: '127.0.0.1', port: ports.get('a2')!, pauseMs: 20_000, timeoutMs: 80_000 }),
    runSippUas({ instance: asterisk, scenario: 'agent-talks-then-hangs-up.xml', ip: '127.0.0.1', port: ports.get('a3')!, pauseMs: 2_000, calls: 2, timeoutMs: 80_000 }),
  ];
  for (const a of ['a1', 'a2', 'a3']) await waitUdpListening('127.0.0.1', ports.get(a)!, 10_000);
  for (const a of ['a1', 'a2']) {
    await eventually(async () => (await api('PUT', `/v1/agents/${a}/presence`, { kind: 'ready' })).status === 202, 5000);
  }

  const calls = async (): Promise<CallRow[]> => {
    const [rows] = (await conn.query('SELECT id, caller_number, agent_id, queued_at, answered_at, ended_at, outcome FROM voice_calls WHERE entry = ? ORDER BY arrived_at', [entry])) as unknown as [CallRow[]];
    return rows;
  };
  const dial = (caller: string) => runSipp({ instance: asterisk, scenario: 'caller-waits-for-far-end.xml', service: entry, keys: { app: appName, caller }, timeoutMs: 90_000 });
  const stamp = Date.now().toString().slice(-7);
  const callers: Promise<SippResult>[] = [dial(`61${stamp}`), dial(`62${stamp}`)];
  await eventually(async () => (await calls()).filter((c) => c.answered_at).length === 2, 20_000, 200).catch((err: unknown) => {
    void calls().then((rows) => t.comment(`calls: ${JSON.stringify(rows)}`));
    t.comment(`server log:\n${proc.log().split('\n').filter((l) => !/request completed|incoming request|migration/.test(l)).slice(-40).join('\n')}`);
    throw err;
  });
  callers.push(dial(`63${stamp}`));
  await eventually(async () => (await calls()).filter((c) => c.queued_at && !c.answered_at).length === 1, 10_000, 100);
  callers.push(dial(`64${stamp}`));
  await eventually(async () => (await calls()).filter((c) => c.queued_at && !c.answered_at).length === 2, 10_000, 100);

  await t.test('when the server is killed with SIGKILL and started again then the calls go on and routing resumes within 5 s', async (t) => {
    const killedAt = Date.now();
    proc.child.kill('SIGKILL');
    await proc.exited;
    // While no process runs: the connected calls and the waiting callers are all still there.
    const held = (await ari.request<{ channel_ids: string[] }>('GET', `/applications/${appName}`)).channel_ids;
    t.equal(held.filter((id) => !id.startsWith('rec-')).length, 6, 'Asterisk still holds 2 callers + 2 agents connected and 2 callers waiting');
    t.equal(held.filter((id) => id.startsWith('rec-')).length, 2, 'and the 2 connected calls are still being recorded');

    proc = await startServer(env);
    procs.push(proc);
    const startedAt = Date.now();
    await eventually(async () => (await api('PUT', '/v1/agents/a3/presence', { kind: 'ready' })).status === 202, 10_000, 100);
    const first = await eventually(async () => (await calls()).filter((c) => c.answered_at).length >= 3, 15_000, 50).catch((err: unknown) => {
      t.comment(`new process log:\n${proc.log().split('\n').filter((l) => !/request completed|incoming request/.test(l)).slice(-60).join('\n')}`);
      throw err;
    });
    const routedAt = Date.now();
    t.ok(first, 'a waiting caller was answered by the agent who joined after the restart');
    t.comment(`kill → new process healthy ${startedAt - killedAt} ms; kill → a waiting caller connected ${routedAt - killedAt} ms; new process up → connected ${routedAt - startedAt} ms`);
    t.ok(routedAt - startedAt < 5000, `routing resumed ${routedAt - startedAt} ms after the new process started (budget 5 s)`);

    const results = await Promise.all(callers);
    const phoneResults = await Promise.all(phones);
    results.forEach((r, i) => t.equal(r.exitCode, 0, `caller ${i + 1} was answered and hung up by us: ${r.errors || r.stderr.slice(-300)}`));
    phoneResults.forEach((r, i) => t.equal(r.exitCode, 0, `agent phone ${i + 1} answered and hung up: ${r.errors || r.stderr.slice(-300)}`));
    t.equal(phoneResults[2]?.successful, 2, 'the agent who joined took both waiting callers');

    const rows = await eventually(async () => {
      const r = await calls();
      return r.every((c) => c.outcome) ? r : undefined;
    }, 10_000, 200);
    if (!rows) t.comment(`proc log:\n${proc.log().slice(-4000)}`);
    t.same(rows.map((r) => r.outcome), ['completed', 'completed', 'completed', 'completed'], 'every call completed; none was dropped or lost');
    const talk = (r: CallRow) => (r.ended_at!.getTime() - r.answered_at!.getTime()) / 1000;
    t.ok(talk(rows[0]!) >= 18 && talk(rows[1]!) >= 18, `the calls connected at the kill lasted their whole conversation (${talk(rows[0]!)} s, ${talk(rows[1]!)} s)`);
    // The first two callers arrived together: which of the two ready agents took which is a tie.
    t.same([rows[0]!.agent_id, rows[1]!.agent_id].sort(), ['a1', 'a2'], 'the first two callers went to the two ready agents');
    t.same([rows[2]!.agent_id, rows[3]!.agent_id], ['a3', 'a3'], 'the waiting callers both went to the agent who joined after the restart');
    t.ok(rows[2]!.answered_at! < rows[3]!.answered_at!, 'the waiting callers kept their places: the first in line was answered first');

    const left = await eventually(async () => {
      const app = await ari.request<{ channel_ids: string[]; bridge_ids: string[] }>('GET', `/applications/${appName}`);
      const bridges = (await ari.request<{ id: string }[]>('GET', '/bridges')).filter((b) => rows.some((r) => b.id === `call-${r.id}`));
      return app.channel_ids.length === 0 && bridges.length === 0 ? { channels: 0, bridges: 0 } : undefined;
    }, 10_000, 200);
    t.same(left, { channels: 0, bridges: 0 }, 'no orphaned channel or bridge is left in Asterisk');
    t.equal(await redis.scard(`voice:t${tenantId}:calls`), 0, 'no live call is left in Redis');
  });

  await t.test('when the server is killed while an agent phone rings then the new process keeps the ringing leg and the answer connects the call', async (t) => {
    for (const a of ['a1', 'a2', 'a3']) await ok('PUT', `/v1/agents/${a}/presence`, { kind: 'not_ready', reason: 'break' });
    // a4's phone rings for 8 s, answers, talks 2 s and hangs up: the kill and the restart fall in its ringing.
    const phone = runSippUas({ instance: asterisk, scenario: 'agent-rings-8s-then-talks.xml', ip: '127.0.0.1', port: ports.get('a4')!, pauseMs: 2_000, timeoutMs: 60_000 });
    await waitUdpListening('127.0.0.1', ports.get('a4')!, 10_000);
    await eventually(async () => (await api('PUT', '/v1/agents/a4/presence', { kind: 'ready' })).status === 202, 5000);
    const number = `65${stamp}`;
    const caller = dial(number);
    const ringing = await eventually(async () => {
      const [rows] = (await conn.query('SELECT id, rang_at FROM voice_calls WHERE caller_number = ?', [number])) as unknown as [{ id: string; rang_at: Date | null }[]];
      return rows[0]?.rang_at ? { id: rows[0].id, rangAt: rows[0].rang_at.getTime() } : undefined;
    }, 15_000, 50);
    const callId = ringing.id;

    proc.child.kill('SIGKILL');
    await proc.exited;
    proc = await startServer(env);
    procs.push(proc);
    await eventually(async () => proc.log().includes('reconciled calls with the media server'), 10_000, 100);
    const reconciledAt = Date.now();
    t.ok(reconciledAt - ringing.rangAt < 8000, `the new process reconciled while the phone still rang (${reconciledAt - ringing.rangAt} ms after the ring began)`);

    const [p, c] = await Promise.all([phone, caller]);
    t.equal(p.exitCode, 0, `the phone rang, answered, talked and hung up: ${p.errors || p.stderr.slice(-300)}`);
    t.equal(c.exitCode, 0, `the caller was connected and hung up by the far end: ${c.errors || c.stderr.slice(-300)}`);
    const row = await eventually(async () => (await calls()).find((r) => r.id === callId && r.outcome), 10_000, 200).catch(() => undefined);
    if (!row) t.comment(`new process log:\n${proc.log().split('\n').filter((l) => l.includes(callId) || l.includes('"level":40') || l.includes('"level":50')).slice(-30).join('\n')}`);
    t.match(row, { agent_id: 'a4', outcome: 'completed' }, 'the call was answered by the phone that rang across the restart');
    const talked = row?.answered_at && row.ended_at ? row.ended_at.getTime() - row.answered_at.getTime() : 0;
    t.ok(talked >= 1500, `and the two talked (${talked} ms)`);
    const [legs] = (await conn.query("SELECT party, end_reason FROM call_legs WHERE call_id = ? AND kind = 'agent'", [callId])) as unknown as [{ party: string; end_reason: string | null }[]];
    t.same(legs.map((l) => l.party), ['a4'], 'one agent leg: the ringing leg was neither taken for lost nor rung again');
    const state = (await api('GET', '/v1/agents/a4/state')).body as { presence?: { kind: string } };
    t.not(state.presence?.kind, 'not_ready', 'the agent was not charged a missed offer');
    t.notOk(proc.log().includes('agent leg ended unanswered'), 'no leg of the call ended unanswered in the new process');
    const left = await eventually(async () => {
      const app = await ari.request<{ channel_ids: string[] }>('GET', `/applications/${appName}`);
      const bridge = await ari.request('GET', `/bridges/call-${callId}`).then(() => true, () => false);
      return app.channel_ids.length === 0 && !bridge ? true : undefined;
    }, 10_000, 200).catch(() => false);
    t.ok(left, 'no channel or bridge of the call is left in Asterisk');
  });
});
