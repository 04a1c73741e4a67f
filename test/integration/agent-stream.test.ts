import t from 'tap';
import WebSocket from 'ws';
import { bearer, buildTestApp, eventually, loginAs } from '../helpers/app.js';

interface Frame {
  type: string;
  id?: string;
  event?: { kind: string; offers?: { taskId: string }[] };
  code?: string;
}

/** Opens the agent stream and collects frames. */
function openStream(url: string): Promise<{ ws: WebSocket; frames: Frame[]; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const frames: Frame[] = [];
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    ws.on('message', (data) => frames.push(JSON.parse(String(data)) as Frame));
    ws.on('open', () => resolve({ ws, frames, closed }));
    ws.on('unexpected-response', (req, res) => {
      req.destroy();
      reject(new Error(`HTTP ${res.statusCode}`));
    });
    ws.on('error', reject);
  });
}

t.test('the agent desktop stream: live offers, and resume after a reconnect without losing any', async (t) => {
  const app = await buildTestApp(t, { IPCC_ROUTER_LEASE_MS: '1000' });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  const admin = await loginAs(app, ['admin']);
  const agent = await loginAs(app, ['agent']);
  const H = bearer(admin.token);
  const put = (url: string, payload: object) => app.inject({ method: 'PUT', url, headers: H, payload });
  await put('/v1/skills/chat', { name: 'Chat' });
  await put('/v1/queues/web', { name: 'Web chat', strategy: 'longest_idle', skills: [{ skillId: 'chat', minLevel: 1 }], serviceLevel: { percent: 80, withinSeconds: 60 } });
  await put('/v1/agents/cara', { name: 'Cara', userId: agent.user.id, skills: [{ skillId: 'chat', level: 4 }] });
  await put('/v1/agents/dan', { name: 'Dan', skills: [{ skillId: 'chat', level: 4 }] });
  await eventually(async () => app.router?.isLeader(), 5000);
  const base = `ws://127.0.0.1:${port}/v1/agents/cara/stream`;

  t.test('given no credential when opening the stream then the upgrade is refused with 401', async (t) => {
    await t.rejects(openStream(base), /HTTP 401/);
  });

  t.test("given an agent when opening another agent's stream then an error frame and close 4403", async (t) => {
    const s = await openStream(`ws://127.0.0.1:${port}/v1/agents/dan/stream?access_token=${agent.token}`);
    t.equal(await s.closed, 4403);
    t.match(s.frames, [{ type: 'error', code: 'not_your_agent' }]);
  });

  t.test('given a connected desktop when offers are made, missed while away, then resumed, every event arrives once and in order', async (t) => {
    const first = await openStream(`${base}?access_token=${agent.token}`);
    await eventually(async () => first.frames.some((f) => f.type === 'hello'), 3000);
    await app.inject({ method: 'PUT', url: '/v1/agents/cara/presence', headers: bearer(agent.token), payload: { kind: 'ready' } });
    await app.inject({ method: 'POST', url: '/v1/tasks', headers: H, payload: { id: 'chat-1', queueId: 'web', channel: 'chat' } });
    await eventually(async () => first.frames.some((f) => f.event?.kind === 'route'), 5000);
    const lastSeen = first.frames.filter((f) => f.type === 'event').at(-1)!.id!;
    first.ws.close();
    await first.closed;

    // While the desktop is away, two more chats are offered to Cara (chat costs 25 of 100 units).
    await app.inject({ method: 'POST', url: '/v1/tasks', headers: H, payload: { id: 'chat-2', queueId: 'web', channel: 'chat' } });
    await app.inject({ method: 'POST', url: '/v1/tasks', headers: H, payload: { id: 'chat-3', queueId: 'web', channel: 'chat' } });
    await eventually(async () => {
      const r = await app.inject({ method: 'GET', url: `/v1/agents/cara/events?after=${lastSeen}`, headers: bearer(agent.token) });
      return r.json().items.length >= 2;
    }, 5000);

    const second = await openStream(`${base}?after=${lastSeen}&access_token=${agent.token}`);
    t.teardown(() => second.ws.close());
    await eventually(async () => second.frames.filter((f) => f.type === 'event').length >= 2, 5000);
    const missed = second.frames.filter((f) => f.type === 'event');
    t.same(missed.map((f) => f.event?.offers?.[0]?.taskId), ['chat-2', 'chat-3'], 'the missed offers arrive, in order, none twice');
    t.ok(missed.every((f) => f.id! > lastSeen), 'nothing already seen is sent again');

    // And the stream goes on live after the backlog.
    await app.inject({ method: 'POST', url: '/v1/tasks', headers: H, payload: { id: 'chat-4', queueId: 'web', channel: 'chat' } });
    await eventually(async () => second.frames.some((f) => f.event?.offers?.[0]?.taskId === 'chat-4'), 5000);
    t.equal(second.frames[0]?.type, 'hello');
  });
});
