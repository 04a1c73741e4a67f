/**
 * The IVR on a real Asterisk, end to end: a SIPp caller dials a number mapped to a flow, cuts the
 * TTS welcome with an RFC 2833 key (barge-in), goes through a two-level menu, types an account
 * number fast, the flow looks the account up on a local HTTP server (data dip), and routes the
 * call to a queue with priority and skills; the agent's phone (a SIPp UAS) rings and answers,
 * and the agent sees what the caller entered. Verified by the journey records, the call's
 * outcome, the task and the agent's screen-pop — not only by SIPp's exit code.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import t from 'tap';
import { agentEndpointId } from '../../server/domain/sip-endpoint.js';
import { bearer, eventually, loginAs, serverLog } from '../helpers/app.js';
import { ensureAsterisk, uniqueName } from '../helpers/asterisk.js';
import { buildIvrTestApp, publishFlowAt } from '../helpers/ivr.js';
import { freeUdpPort, runSipp, runSippUas, waitUdpListening } from '../helpers/sipp.js';
import { pushStaticAgentPhone } from '../helpers/static-agent-phone.js';

/** The customer database the data dip asks: account 4567 is a gold customer named Ada. */
async function startCustomerApi(t: { teardown(fn: () => unknown): void }): Promise<{ port: number; hits: string[] }> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/customers/4567') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ customer: { tier: 'gold', name: 'Ada' } }));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise((r) => server.close(r)));
  return { port: (server.address() as AddressInfo).port, hits };
}

interface Visit { seq: number; nodeId: string; nodeType: string; input: string | null; outcome: string | null; next: string | null; flowVersion: number; enteredAt: string; leftAt: string | null }

t.test('given a DID mapped to a published IVR flow with TTS prompts, a data dip and a queue with a ready agent', async (t) => {
  const asterisk = await ensureAsterisk('main');
  const appName = uniqueName('ivrq');
  const unique = appName.replace(/[^a-z0-9]/g, '');
  const agentId = uniqueName('ag').toLowerCase().replace(/[^a-z0-9]/g, '');
  const entry = `7${Date.now().toString().slice(-7)}`;
  const { app, cacheDir } = await buildIvrTestApp(t, asterisk, appName, { IPCC_ROUTER_LEASE_MS: '1000' });
  await eventually(async () => app.router?.isLeader(), 5000);
  const customers = await startCustomerApi(t);

  // The agent's phone: a static contact on loopback, pushed into Asterisk over ARI.
  const agentIp = '127.0.0.1';
  const agentPort = await freeUdpPort(agentIp, 1);
  await pushStaticAgentPhone(t, asterisk, { endpoint: agentEndpointId(app.tenantId, agentId), ip: agentIp, port: agentPort, allow: '!all,ulaw', appName });

  const admin = await loginAs(app, ['admin']);
  const H = bearer(admin.token);
  const put = (url: string, payload: object) => app.inject({ method: 'PUT', url, headers: H, payload });
  t.equal((await put('/v1/skills/voice', { name: 'Voice' })).statusCode, 201);
  t.equal((await put('/v1/skills/billing', { name: 'Billing' })).statusCode, 201);
  t.equal((await put('/v1/queues/accounts', { name: 'Accounts', strategy: 'longest_idle', serviceLevel: { percent: 80, withinSeconds: 20 } })).statusCode, 201);
  t.equal((await put(`/v1/agents/${agentId}`, { name: 'Agent', skills: [{ skillId: 'voice', level: 5 }, { skillId: 'billing', level: 4 }] })).statusCode, 201);

  const flowId = `menu-${unique}`.slice(0, 60);
  const welcome = `Welcome to the test line ${unique.slice(-6)}. For your account, press 2.`;
  const flow = {
    id: flowId,
    name: 'Menu to queue',
    start: 'welcome',
    defaultLanguage: 'en',
    prompts: { welcome: { en: { tts: welcome } } },
    nodes: {
      welcome: { type: 'play', prompts: [{ prompt: 'welcome' }], interruptible: true, next: 'main' },
      main: { type: 'menu', prompts: [{ sound: 'hello-world' }], choices: { '1': 'bye', '2': 'accounts' }, timeoutMs: 6000, retries: 1, noInput: 'bye' },
      accounts: { type: 'menu', prompts: [{ tts: 'For your account number, press 3.' }], choices: { '3': 'account' }, timeoutMs: 6000, retries: 1, noInput: 'bye' },
      account: { type: 'collect', prompts: [{ sound: 'beep' }], variable: 'account', minLength: 4, maxLength: 8, terminator: '#', timeoutMs: 6000, interDigitTimeoutMs: 3000, next: 'lookup', noInput: 'bye' },
      lookup: { type: 'http', url: `http://127.0.0.1:${customers.port}/customers/{{account}}`, timeoutMs: 2000, retries: 0, map: { tier: 'customer.tier', customerName: 'customer.name' }, next: 'route', fallback: 'route' },
      route: { type: 'queue', queue: 'accounts', priority: 7, skills: [{ skill: 'billing', minLevel: 2 }], prompts: [{ tts: 'Thank you {{customerName}}, connecting you.' }] },
      bye: { type: 'hangup', reason: 'nothing chosen' },
    },
  };
  const version = await publishFlowAt(app, H, flow, entry);
  await eventually(async () => (await app.inject({ method: 'PUT', url: `/v1/agents/${agentId}/presence`, headers: H, payload: { kind: 'ready' } })).statusCode === 202, 5000);
  await eventually(async () => (await app.inject({ method: 'GET', url: `/v1/agents/${agentId}/state`, headers: H })).json().presence.kind === 'ready', 5000);

  await t.test('when the caller presses 2 during the welcome, 3, then types 4567# fast then the flow routes it to the queue and the agent answers with what the caller entered', async (t) => {
    const callerNumber = `6${Date.now().toString().slice(-9)}`;
    const agentPhone = runSippUas({ instance: asterisk, scenario: 'agent-answers-then-hangs-up.xml', ip: agentIp, port: agentPort, timeoutMs: 60_000 });
    await waitUdpListening(agentIp, agentPort, 10_000);
    const caller = await runSipp({ instance: asterisk, scenario: 'ivr-caller-menu-2-3-account.xml', service: entry, keys: { app: appName, caller: callerNumber }, timeoutMs: 60_000 });
    const agent = await agentPhone;
    const [rows] = (await app.mysql.query('SELECT id FROM voice_calls WHERE entry = ?', [entry])) as unknown as [{ id: string }[]];
    t.equal(rows.length, 1, 'one call on record');
    const callId = rows[0]!.id;
    if (caller.exitCode !== 0 || agent.exitCode !== 0) {
      t.comment(`server log:\n${serverLog.filter((l) => !l.includes('"msg":"request completed"') && !l.includes('"msg":"incoming request"')).slice(-60).join('')}`);
    }
    t.equal(caller.exitCode, 0, `caller SIPp succeeded: ${caller.errors || caller.stderr.slice(-500)}`);
    t.equal(agent.exitCode, 0, `agent SIPp succeeded: ${agent.errors || agent.stderr.slice(-500)}`);

    // The journey: every node visit, with the keys as the engine heard them.
    const journey = await eventually(async () => {
      const r = await app.inject({ method: 'GET', url: `/v1/calls/${callId}/journey`, headers: H });
      const j = r.json() as { session: { endedBy: string | null } | null; visits: Visit[] };
      return r.statusCode === 200 && j.session?.endedBy ? j : undefined;
    }, 10_000);
    const visits = journey.visits;
    t.same(visits.map((v) => v.nodeId), ['welcome', 'main', 'accounts', 'account', 'lookup', 'route'], 'the path through the flow');
    t.match(visits[0], { nodeType: 'play', outcome: 'interrupted', next: 'main' }, 'the key cut the TTS welcome (barge-in)');
    t.match(visits[1], { nodeType: 'menu', input: '2', outcome: 'choice', next: 'accounts' }, 'the key that cut the welcome answered the main menu');
    t.match(visits[2], { nodeType: 'menu', input: '3', outcome: 'choice', next: 'account' }, 'second level');
    t.match(visits[3], { nodeType: 'collect', input: '4567', outcome: 'collected', next: 'lookup' }, 'the fast keys, none lost, in order');
    t.match(visits[4], { nodeType: 'http', input: 'ok:200', outcome: 'ok', next: 'route' }, 'the data dip answered');
    t.match(visits[5], { nodeType: 'queue', outcome: 'end' });
    t.ok(visits.every((v, i) => v.seq === i + 1 && v.flowVersion === version && v.leftAt !== null), 'each visit is stored with its order, the flow version and its times');
    t.same(customers.hits, ['/customers/4567'], 'the data dip asked the customer API once, with the account in the URL');
    t.match(journey.session, { flowId, flowVersion: version, endedBy: 'flow', endNode: 'route', endAction: 'route_to_queue', context: { vars: { account: '4567', tier: 'gold', customerName: 'Ada' }, dips: { lookup: { outcome: 'ok', status: 200 } } } });

    // The call: queued from the IVR, answered by the agent.
    const call = await eventually(async () => {
      const r = (await app.inject({ method: 'GET', url: `/v1/calls/${callId}`, headers: H })).json();
      return r.outcome ? r : undefined;
    }, 10_000);
    t.match(call, { queueId: 'accounts', agentId, outcome: 'completed' });
    const task = (await app.inject({ method: 'GET', url: `/v1/tasks/${callId}`, headers: H })).json();
    t.match(task, { queueId: 'accounts', priority: 7, assignedAgentId: agentId }, 'the task carries the priority the flow set');
    const [stored] = (await app.mysql.query('SELECT body FROM tasks WHERE id = ?', [callId])) as unknown as [{ body: unknown }[]];
    const body = typeof stored[0]?.body === 'string' ? JSON.parse(stored[0].body) : stored[0]?.body;
    t.match(body, { requiredSkills: [{ skillId: 'billing', minLevel: 2 }] }, 'and the skills');

    // The agent saw what the caller entered, with the offer.
    const events = (await app.inject({ method: 'GET', url: `/v1/agents/${agentId}/events`, headers: H })).json().items.map((i: { event: { kind: string } }) => i.event);
    const pop = events.find((e: { kind: string }) => e.kind === 'screen_pop');
    t.match(pop, { taskId: callId, queueId: 'accounts', entry, ivr: { inputs: { account: '4567', tier: 'gold', customerName: 'Ada' }, path: ['welcome', 'main', 'accounts', 'account', 'lookup', 'route'], dips: { lookup: { outcome: 'ok' } } } }, 'the screen-pop shows the IVR context');
    const [ctxRows] = (await app.mysql.query('SELECT ivr_context FROM voice_calls WHERE id = ?', [callId])) as unknown as [{ ivr_context: unknown }[]];
    const ctx = typeof ctxRows[0]?.ivr_context === 'string' ? JSON.parse(ctxRows[0].ivr_context) : ctxRows[0]?.ivr_context;
    t.match(ctx, { vars: { account: '4567' }, path: ['welcome', 'main', 'accounts', 'account', 'lookup', 'route'] }, 'the context is stored with the call');
    t.match(call.ivr, { vars: { account: '4567', tier: 'gold' }, path: ['welcome', 'main', 'accounts', 'account', 'lookup', 'route'] }, 'GET /v1/calls/{id} shows the IVR context');

    // TTS: rendered to 8 kHz mono 16-bit WAV in the cache, fetched by Asterisk from our media route.
    const files = readdirSync(cacheDir).filter((f) => f.endsWith('.wav'));
    t.equal(files.length, 3, `three TTS prompts rendered (welcome, sub-menu, thank-you): ${files.join(', ')}`);
    for (const f of files) {
      const wav = readFileSync(path.join(cacheDir, f));
      t.equal(wav.subarray(0, 4).toString('ascii'), 'RIFF');
      t.same([wav.readUInt16LE(22), wav.readUInt32LE(24), wav.readUInt16LE(34)], [1, 8000, 16], `${f} is mono 8 kHz 16-bit`);
      t.ok(wav.length > 8000, `${f} holds audio (${wav.length} bytes)`);
    }
    const served = serverLog.filter((l) => l.includes('"msg":"IVR media served"')).map((l) => JSON.parse(l) as { media: string; userAgent?: string });
    for (const f of files) t.ok(served.some((s) => s.media === f && /asterisk/i.test(s.userAgent ?? '')), `Asterisk fetched ${f} over HTTP`);
    const renders = serverLog.filter((l) => l.includes('"msg":"TTS prompt rendered"')).map((l) => JSON.parse(l) as { ms: number });
    t.comment(`TTS renders: ${renders.map((r) => `${r.ms} ms`).join(', ')}`);
  });

  await t.test('when anyone asks the media route for something other than a rendered prompt then it answers 404 and needs no login for one that exists', async (t) => {
    const name = readdirSync(cacheDir).find((f) => f.endsWith('.wav')) as string;
    const ok = await app.inject({ method: 'GET', url: `/v1/ivr/media/${name}` });
    t.equal(ok.statusCode, 200, 'no token needed: Asterisk fetches it');
    t.equal(ok.headers['content-type'], 'audio/wav');
    for (const bad of ['..%2F..%2Fetc%2Fpasswd', `${name.toUpperCase()}`, `${name.slice(0, -4)}.gsm`, `${'0'.repeat(64)}.wav`, 'index', `${name}.tmp`]) {
      const r = await app.inject({ method: 'GET', url: `/v1/ivr/media/${bad}` });
      t.equal(r.statusCode, 404, bad);
      t.equal(r.json().code, 'media_not_found');
    }
    t.equal((await app.inject({ method: 'GET', url: '/v1/ivr/media/' })).statusCode, 404);
  });

  await t.test('when a supervisor reads the flow summary then the visits per node are counted', async (t) => {
    const sup = bearer((await loginAs(app, ['supervisor'])).token);
    const r = await app.inject({ method: 'GET', url: `/v1/ivr/flows/${flowId}/journeys/summary`, headers: sup });
    t.equal(r.statusCode, 200, r.body);
    const s = r.json() as { sessions: { total: number; ended: Record<string, number> }; nodes: { nodeId: string; visits: number; hangups: number }[] };
    t.same(s.sessions, { total: 1, ended: { route_to_queue: 1 } });
    t.same(s.nodes.map((n) => [n.nodeId, n.visits, n.hangups]).sort(), [['account', 1, 0], ['accounts', 1, 0], ['lookup', 1, 0], ['main', 1, 0], ['route', 1, 0], ['welcome', 1, 0]]);
    const agentToken = bearer((await loginAs(app, ['agent'])).token);
    t.equal((await app.inject({ method: 'GET', url: `/v1/ivr/flows/${flowId}/journeys/summary`, headers: agentToken })).statusCode, 403);
    const bad = await app.inject({ method: 'GET', url: `/v1/ivr/flows/${flowId}/journeys/summary?from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z`, headers: sup });
    t.equal(bad.statusCode, 400);
    t.equal(bad.json().code, 'invalid_range');
    const garbage = await app.inject({ method: 'GET', url: `/v1/ivr/flows/${flowId}/journeys/summary?from=yesterday`, headers: sup });
    t.equal(garbage.statusCode, 400);
    t.equal((await app.inject({ method: 'GET', url: '/v1/calls/no-such-call/journey', headers: sup })).json().code, 'journey_not_found');
  });
});
