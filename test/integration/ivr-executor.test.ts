/**
 * The IVR executor with the real app, MariaDB and the real voice service; the media server is the
 * in-memory fake of the CallControl port, so the test plays its side exactly (keys back to back,
 * a prompt that never ends, a hang-up in the middle of a data dip). The same paths on a real
 * Asterisk are in test/telephony/ivr-*.test.ts.
 */
import type { FastifyInstance } from 'fastify';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { bearer, buildTestApp, eventually, loginAs, uniqueId } from '../helpers/app.js';
import { createFakeCallControl } from '../helpers/fake-call-control.js';

type Fake = ReturnType<typeof createFakeCallControl>;
interface Visit { nodeId: string; input: string | null; outcome: string | null; next: string | null; flowVersion: number }
interface Journey { session: { flowVersion: number; endedBy: string | null; endAction: string | null; context: { vars: Record<string, unknown> } } | null; visits: Visit[] }

const newCallId = (): string => `${Date.now()}.${Math.floor(Math.random() * 1e6)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The requests the fake media server got for one call, by method. */
const madeFor = (fake: Fake, method: string, callId: string) => fake.made(method).filter((a) => a[1] === callId);
const plays = (fake: Fake, callId: string) => madeFor(fake, 'play', callId).map((a) => ({ media: a[2] as string[], playbackId: (a[3] as { playbackId: string }).playbackId }));

t.test('given the app with a fake media server and IVR flows', async (t) => {
  const fake = createFakeCallControl();
  // No TTS program: every TTS prompt must fall back to a sound.
  const app: FastifyInstance = await buildTestApp(t, { IPCC_TTS_COMMAND: '/nonexistent/espeak-ng', IPCC_TTS_FALLBACK_SOUND: 'sorry-try-later' }, { calls: fake.calls });
  const H = bearer((await loginAs(app, ['admin'])).token);
  const ended: { callId: string; by: string; action: string | null }[] = [];
  const started: string[] = [];
  app.events.subscribe('ivr.session_started', (e) => started.push(e.callId));
  app.events.subscribe('ivr.session_ended', (e) => ended.push({ callId: e.callId, by: e.by, action: e.action }));

  async function publish(flow: { id: string } & Record<string, unknown>): Promise<number> {
    const up = await app.inject({ method: 'POST', url: `/v1/ivr/flows/${flow.id}/versions`, headers: H, payload: flow });
    if (up.statusCode !== 201) throw new Error(`upload: ${up.body}`);
    const version = up.json().version as number;
    const pub = await app.inject({ method: 'POST', url: `/v1/ivr/flows/${flow.id}/publish`, headers: H, payload: { version } });
    if (pub.statusCode !== 200) throw new Error(`publish: ${pub.body}`);
    return version;
  }
  async function entryFor(flowId: string): Promise<string> {
    const entry = `5${Date.now().toString().slice(-7)}${Math.floor(Math.random() * 100)}`;
    const r = await app.inject({ method: 'PUT', url: `/v1/entry-points/${entry}`, headers: H, payload: { flowId } });
    if (r.statusCode !== 200) throw new Error(`entry: ${r.body}`);
    return entry;
  }
  const arrive = (callId: string, entry: string) => fake.emit({ type: 'call_arrived', server: 'fake', callId, entry, callerNumber: '+34600111222', callerName: 'Customer' });
  const key = (callId: string, digit: string) => fake.emit({ type: 'dtmf', server: 'fake', channelId: callId, digit });
  const promptEnds = (callId: string, playbackId: string) => fake.emit({ type: 'playback_finished', server: 'fake', channelId: callId, playbackId, failed: false });
  const hangUp = (callId: string) => fake.emit({ type: 'call_ended', server: 'fake', callId, cause: 16, causeText: 'Normal Clearing', endedBy: 'remote' });
  const journeyOf = (callId: string) =>
    eventually(async () => {
      const r = await app.inject({ method: 'GET', url: `/v1/calls/${callId}/journey`, headers: H });
      const j = r.json() as Journey;
      return r.statusCode === 200 && j.session?.endedBy ? j : undefined;
    }, 5000);

  await t.test('when five keys arrive back to back during the prompt then the prompt stops and the entry is collected whole and in order', async (t) => {
    const flowId = uniqueId('keys');
    await publish({
      id: flowId, name: 'Keys', start: 'ask',
      nodes: {
        ask: { type: 'collect', prompts: [{ sound: 'enter-account' }], variable: 'account', minLength: 4, maxLength: 8, terminator: '#', next: 'done', noInput: 'done' },
        done: { type: 'hangup', reason: 'thanks' },
      },
    });
    const callId = newCallId();
    await arrive(callId, await entryFor(flowId));
    const [prompt] = await eventually(async () => (plays(fake, callId).length ? plays(fake, callId) : undefined), 3000);
    t.same(prompt?.media, ['sound:enter-account']);
    // No await between the keys' delivery and the next: like RTP events arriving in one burst.
    await Promise.all(['1', '2', '3', '4', '#'].map((d) => key(callId, d)));
    const j = await journeyOf(callId);
    t.match(j.visits, [{ nodeId: 'ask', input: '1234', outcome: 'collected', next: 'done' }, { nodeId: 'done', outcome: 'end' }]);
    t.ok(fake.made('stopPlayback').some((a) => a[1] === prompt?.playbackId), 'the first key stopped the prompt (barge-in)');
    t.match(j.session, { endedBy: 'flow', endAction: 'hangup', context: { vars: { account: '1234' } } });
    await eventually(async () => madeFor(fake, 'hangup', callId).length > 0, 3000);
    t.ok(started.includes(callId), 'ivr.session_started was published');
    t.same(ended.find((e) => e.callId === callId), { callId, by: 'flow', action: 'hangup' }, 'ivr.session_ended was published');
    const call = (await app.inject({ method: 'GET', url: `/v1/calls/${callId}`, headers: H })).json();
    t.equal(call.outcome, 'ivr_hangup', 'the voice service ended the call as the flow said');
  });

  await t.test('when a TTS prompt cannot be rendered then the fallback sound plays and the flow goes on', async (t) => {
    const flowId = uniqueId('tts');
    await publish({
      id: flowId, name: 'TTS', start: 'hello', defaultLanguage: 'en',
      nodes: {
        hello: { type: 'play', prompts: [{ tts: 'Hello there.' }, { sound: 'beep' }], next: 'done' },
        done: { type: 'hangup' },
      },
    });
    const callId = newCallId();
    await arrive(callId, await entryFor(flowId));
    const [p] = await eventually(async () => (plays(fake, callId).length ? plays(fake, callId) : undefined), 5000);
    t.same(p?.media, ['sound:sorry-try-later', 'sound:beep'], 'never silence: the fallback in place of the TTS prompt');
    await promptEnds(callId, p!.playbackId);
    const j = await journeyOf(callId);
    t.same(j.visits.map((v) => [v.nodeId, v.outcome]), [['hello', 'next'], ['done', 'end']]);
  });

  await t.test('when the media server refuses a prompt then the flow does not wait for it', async (t) => {
    const flowId = uniqueId('refused');
    await publish({
      id: flowId, name: 'Refused', start: 'menu',
      nodes: {
        menu: { type: 'menu', prompts: [{ sound: 'no-such-sound' }], choices: { '1': 'done' }, timeoutMs: 500, retries: 0, noInput: 'done' },
        done: { type: 'hangup' },
      },
    });
    fake.failWhen('play', (a) => (a[2] as string[])[0] === 'sound:no-such-sound' ? new Error('media server said no') : undefined);
    const callId = newCallId();
    await arrive(callId, await entryFor(flowId));
    const j = await journeyOf(callId);
    t.match(j.visits[0], { nodeId: 'menu', input: 'no_input', outcome: 'no_input', next: 'done' }, 'its no-input timer ran as if the prompt had played');
  });

  await t.test('when the caller hangs up during a data dip that hangs then the request is aborted, every timer is cleared and nothing more is asked of the media server', async (t) => {
    const requests: IncomingMessage[] = [];
    let closedAt = 0;
    const server = createServer((req) => {
      requests.push(req);
      req.socket.on('close', () => (closedAt = Date.now()));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.teardown(() => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    });
    const port = (server.address() as AddressInfo).port;
    const flowId = uniqueId('dip');
    await publish({
      id: flowId, name: 'Dip', start: 'lookup',
      nodes: {
        lookup: { type: 'http', url: `http://127.0.0.1:${port}/slow`, timeoutMs: 800, retries: 2, map: { tier: 'tier' }, next: 'done', fallback: 'sorry' },
        sorry: { type: 'hangup', prompts: [{ sound: 'sorry' }] },
        done: { type: 'hangup' },
      },
    });
    const callId = newCallId();
    await arrive(callId, await entryFor(flowId));
    await eventually(async () => requests.length === 1, 3000);
    const hungUpAt = Date.now();
    await hangUp(callId);
    await eventually(async () => closedAt > 0, 2000);
    t.ok(closedAt - hungUpAt < 500, `the data dip's connection was closed at once (${closedAt - hungUpAt} ms)`);
    const before = fake.requests.filter((r) => r.args[1] === callId).length;
    await sleep(1200);
    t.equal(requests.length, 1, 'no retry after the hang-up (its timer was cleared)');
    t.equal(fake.requests.filter((r) => r.args[1] === callId).length, before, 'nothing more asked of the media server for this call');
    const j = await journeyOf(callId);
    t.match(j.visits, [{ nodeId: 'lookup', outcome: 'caller_hangup' }]);
    t.match(j.session, { endedBy: 'caller', endAction: null });
    t.same(ended.find((e) => e.callId === callId), { callId, by: 'caller', action: null });
  });

  await t.test('when a new version is published during a call then that call keeps its version and the next call starts on the new one', async (t) => {
    const flowId = uniqueId('ver');
    const flow = (end: string) => ({
      id: flowId, name: 'Versions', start: 'menu',
      nodes: { menu: { type: 'menu', prompts: [{ sound: 'beep' }], choices: { '1': end }, timeoutMs: 5000, retries: 0, noInput: end }, [end]: { type: 'hangup', reason: end } },
    });
    const v1 = await publish(flow('end_v1'));
    const entry = await entryFor(flowId);
    const first = newCallId();
    await arrive(first, entry);
    await eventually(async () => (await app.inject({ method: 'GET', url: `/v1/calls/${first}/journey`, headers: H })).json().live, 3000);
    const v2 = await publish(flow('end_v2'));
    t.equal(v2, v1 + 1);
    await key(first, '1');
    const j1 = await journeyOf(first);
    t.match(j1, { session: { flowVersion: v1 }, visits: [{ nodeId: 'menu', next: 'end_v1', flowVersion: v1 }, { nodeId: 'end_v1' }] });
    const second = newCallId();
    await arrive(second, entry);
    await eventually(async () => (await app.inject({ method: 'GET', url: `/v1/calls/${second}/journey`, headers: H })).json().live, 3000);
    await key(second, '1');
    const j2 = await journeyOf(second);
    t.match(j2, { session: { flowVersion: v2 }, visits: [{ nodeId: 'menu', next: 'end_v2' }, { nodeId: 'end_v2' }] });
  });

  await t.test('when the flow collects a masked entry and routes to a queue then the journey stores it masked while the queue entry carries it', async (t) => {
    const put = (url: string, payload: object) => app.inject({ method: 'PUT', url, headers: H, payload });
    const queueId = uniqueId('q');
    t.equal((await put(`/v1/queues/${queueId}`, { name: 'Q', strategy: 'longest_idle', serviceLevel: { percent: 80, withinSeconds: 20 } })).statusCode, 201);
    const flowId = uniqueId('pin');
    await publish({
      id: flowId, name: 'PIN', start: 'pin',
      nodes: {
        pin: { type: 'collect', variable: 'pin', minLength: 4, maxLength: 4, terminator: null, mask: true, next: 'route', noInput: 'route' },
        route: { type: 'queue', queue: queueId, priority: 2 },
      },
    });
    const callId = newCallId();
    await arrive(callId, await entryFor(flowId));
    await eventually(async () => (await app.inject({ method: 'GET', url: `/v1/calls/${callId}/journey`, headers: H })).json().live, 3000);
    for (const d of ['9', '8', '7', '6']) await key(callId, d);
    const j = await journeyOf(callId);
    t.match(j.visits[0], { nodeId: 'pin', input: '****', outcome: 'collected' }, 'the journey never holds the PIN');
    t.match(j.session, { endAction: 'route_to_queue', context: { vars: { pin: '****' } } }, 'nor does the stored context');
    const [rows] = (await app.mysql.query('SELECT queue_id, ivr_context FROM voice_calls WHERE id = ?', [callId])) as unknown as [{ queue_id: string; ivr_context: unknown }[]];
    const ctx = typeof rows[0]?.ivr_context === 'string' ? JSON.parse(rows[0].ivr_context) : rows[0]?.ivr_context;
    t.equal(rows[0]?.queue_id, queueId, 'the voice service queued the call');
    t.match(ctx, { vars: { pin: '9876' } }, 'the call carries what was entered, for the agent');
    await hangUp(callId);
  });
});
