/**
 * The IVR executor's own parts, without a database or a media server: the TTS cache names and
 * the media route's name check, the WAV header, how prompts become media, masking of stored
 * context, the data dip's result in the engine's terms (with a scripted fetch), and the executor
 * itself over an in-memory CallControl (ordering of keys behind a slow prompt start, every timer
 * and request released on hang-up, a failing hand-back ending the call).
 */
import t from 'tap';
import type { Flow, HttpRequestAction, IvrContext, TerminalAction } from '../../../ivr/index.js';
import { createEventBus } from '../../../server/infra/events.js';
import { createSilentLogger } from '../../../server/infra/logger.js';
import { MAX_DIP_BODY, performDataDip, type FetchLike } from '../../../server/modules/ivr/data-dip.js';
import { createIvrService, mediaUris, storableContext } from '../../../server/modules/ivr/service.js';
import type { IvrStore } from '../../../server/modules/ivr/store.js';
import { commandArgv, isMediaName, ttsCacheName, voiceFor, wavHeader, type TtsCache } from '../../../server/modules/ivr/tts.js';
import type { CallControl, CallEvent } from '../../../server/telephony/index.js';

const SECRET = 's'.repeat(32);

t.test('given the TTS cache naming', async (t) => {
  t.test('when the same text, language and voice are named twice then the name is the same, and any change gives another', async (t) => {
    const a = ttsCacheName(SECRET, 'Welcome.', 'en');
    t.equal(a, ttsCacheName(SECRET, 'Welcome.', 'en'));
    t.not(a, ttsCacheName(SECRET, 'Welcome!', 'en'), 'other text');
    t.not(a, ttsCacheName(SECRET, 'Welcome.', 'fr'), 'other voice');
    t.not(a, ttsCacheName('t'.repeat(32), 'Welcome.', 'en'), 'another secret: names cannot be computed from a guessed text');
    t.ok(isMediaName(a), 'a cache name passes the media route check');
  });
  t.test('when the media route checks names then only a cache file name passes', async (t) => {
    const good = ttsCacheName(SECRET, 'x', 'en');
    for (const bad of ['', '../etc/passwd', `${good}/..`, good.toUpperCase(), good.replace('.wav', '.gsm'), `${good}.tmp`, `a${good}`, good.slice(1), '%2e%2e%2fsecret.wav', `${'g'.repeat(64)}.wav`]) {
      t.notOk(isMediaName(bad), JSON.stringify(bad));
    }
  });
  t.test('when a language names the voice then Asterisk-style and odd tags are handled', async (t) => {
    t.equal(voiceFor('en', 'en'), 'en');
    t.equal(voiceFor('en_US', 'en'), 'en-us');
    t.equal(voiceFor('FR', 'en'), 'fr');
    t.equal(voiceFor(undefined, 'de'), 'de');
    t.equal(voiceFor('--help', 'en'), 'en', 'never an option');
    t.equal(voiceFor('en; rm -rf /', 'en'), 'en');
  });
  t.test('when a command is configured then it is split into argv without a shell', async (t) => {
    t.same(commandArgv(' chroot  /srv/root espeak-ng '), ['chroot', '/srv/root', 'espeak-ng']);
  });
  t.test('when PCM gets its header then it describes 8 kHz mono 16-bit', async (t) => {
    const h = wavHeader(16000);
    t.equal(h.length, 44);
    t.equal(h.toString('ascii', 0, 4), 'RIFF');
    t.equal(h.readUInt32LE(4), 36 + 16000);
    t.same([h.readUInt16LE(20), h.readUInt16LE(22), h.readUInt32LE(24), h.readUInt32LE(28), h.readUInt16LE(34)], [1, 1, 8000, 16000, 16]);
    t.equal(h.readUInt32LE(40), 16000);
  });
});

t.test('given prompts resolved by the engine', async (t) => {
  t.test('when they become media then sounds are sound:, TTS is our media URL, and a failed render is the fallback', async (t) => {
    const name = ttsCacheName(SECRET, 'Hi', 'en');
    const media = mediaUris(
      [{ kind: 'sound', name: 'custom/welcome', language: 'en' }, { kind: 'tts', text: 'Hi', language: 'en' }, { kind: 'tts', text: 'Oops', language: 'en' }],
      [undefined, name, undefined],
      'http://10.0.0.5:8080',
      'beep',
    );
    t.same(media, ['sound:custom/welcome', `sound:http://10.0.0.5:8080/v1/ivr/media/${name}`, 'sound:beep']);
  });
  t.test('when context is stored then variables of masked collect nodes are asterisks and the rest is kept', async (t) => {
    const flow = { id: 'f', name: 'f', start: 'pin', nodes: { pin: { type: 'collect', variable: 'pin', maxLength: 4, mask: true, next: 'x', noInput: 'x' }, acct: { type: 'collect', variable: 'acct', maxLength: 8, next: 'x', noInput: 'x' }, x: { type: 'hangup' } } } as unknown as Flow;
    const ctx: IvrContext = { callerNumber: '1', dialedNumber: '2', language: 'en', vars: { pin: '1234', acct: '5678', tier: 'gold' }, path: ['pin'], dips: {} };
    t.same(storableContext(flow, ctx).vars, { pin: '****', acct: '5678', tier: 'gold' });
    t.same(ctx.vars.pin, '1234', 'the live context is untouched');
  });
});

const dip = (over: Partial<HttpRequestAction> = {}): HttpRequestAction => ({ type: 'http_request', requestId: 'r1', method: 'GET', url: 'http://api.test/x', headers: {}, body: undefined, timeoutMs: 200, ...over });
const respond = (body: string | null, init: ResponseInit = {}): FetchLike => async () => new Response(body, init);
/** A server that never answers: resolves only by rejecting when aborted. */
const hanging: FetchLike = (_url, init) =>
  new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' }))));

t.test('given a data dip', async (t) => {
  t.test('when the answer is JSON then it is ok with the body', async (t) => {
    t.same(await performDataDip(dip(), respond('{"customer":{"tier":"gold"}}', { status: 200 })), { outcome: 'ok', status: 200, body: { customer: { tier: 'gold' } } });
  });
  t.test('when the answer is HTML, empty or too large then it is invalid_body', async (t) => {
    t.same(await performDataDip(dip(), respond('<html>busy</html>', { status: 200 })), { outcome: 'invalid_body', status: 200 });
    t.same(await performDataDip(dip(), respond('', { status: 200 })), { outcome: 'invalid_body', status: 200 });
    t.same(await performDataDip(dip(), respond(JSON.stringify({ a: 'x'.repeat(MAX_DIP_BODY) }), { status: 200 })), { outcome: 'invalid_body', status: 200 });
  });
  t.test('when the server fails then it is an error with the status', async (t) => {
    t.same(await performDataDip(dip(), respond('{"error":1}', { status: 503 })), { outcome: 'error', status: 503 });
    t.same(await performDataDip(dip(), respond(null, { status: 404 })), { outcome: 'error', status: 404 });
  });
  t.test('when the network fails then it is an error with the code', async (t) => {
    const refused: FetchLike = async () => {
      throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    };
    t.same(await performDataDip(dip(), refused), { outcome: 'error', code: 'ECONNREFUSED' });
  });
  t.test('when the server hangs then it is a timeout, within the timeout', async (t) => {
    const started = Date.now();
    t.same(await performDataDip(dip({ timeoutMs: 150 }), hanging), { outcome: 'timeout' });
    const took = Date.now() - started;
    t.ok(took >= 140 && took < 400, `${took} ms`);
  });
  t.test('when the body stalls after the headers then it is a timeout too', async (t) => {
    const stalls: FetchLike = async (_u, init) =>
      new Response(new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode('{"a":'));
          init.signal?.addEventListener('abort', () => c.error(Object.assign(new Error('aborted'), { name: 'AbortError' })));
        },
      }), { status: 200 });
    t.same(await performDataDip(dip({ timeoutMs: 150 }), stalls), { outcome: 'timeout' });
  });
  t.test('when a POST carries a body then it is sent as JSON with the flow\'s headers', async (t) => {
    let seen: RequestInit | undefined;
    const capture: FetchLike = async (_u, init) => {
      seen = init;
      return new Response('{}', { status: 200 });
    };
    await performDataDip(dip({ method: 'POST', body: { account: '42' }, headers: { 'x-key': 'k' } }), capture);
    t.equal(seen?.body, '{"account":"42"}');
    t.match(seen?.headers, { 'content-type': 'application/json', 'x-key': 'k', accept: 'application/json' });
  });
});

/** An in-memory media server with the parts the executor uses. */
function fakeMedia(opts: { playDelayMs?: number } = {}) {
  const handlers: ((e: CallEvent) => void | Promise<void>)[] = [];
  const log: string[] = [];
  const calls = {
    onEvent: (h: (e: CallEvent) => void) => {
      handlers.push(h);
      return () => undefined;
    },
    play: async (_s: string, _c: string, media: readonly string[], o?: { playbackId?: string }) => {
      if (opts.playDelayMs) await new Promise((r) => setTimeout(r, opts.playDelayMs));
      log.push(`play ${o?.playbackId} ${media.join(',')}`);
      return o?.playbackId ?? 'pb';
    },
    stopPlayback: async (_s: string, id: string) => void log.push(`stop ${id}`),
    hangup: async (_s: string, id: string) => void log.push(`hangup ${id}`),
  } as unknown as CallControl;
  return { calls, log, emit: async (e: CallEvent) => { for (const h of handlers) await h(e); } };
}

function memoryStore() {
  const visits: { seq: number; nodeId: string; input: string | undefined; outcome: string | undefined }[] = [];
  const ends: { by: string; action: string | undefined }[] = [];
  const store = {
    sessionStarted: async () => undefined,
    sessionEnded: async (_t: number, e: { by: string; action: string | undefined }) => void ends.push({ by: e.by, action: e.action }),
    addVisits: async (_t: number, _c: string, rows: { seq: number; nodeId: string; input: string | undefined; outcome: string | undefined }[]) => void visits.push(...rows),
  } as unknown as IvrStore;
  return { store, visits, ends };
}

const noTts = { render: async () => { throw new Error('no TTS here'); }, read: async () => undefined } as unknown as TtsCache;

function executor(flow: object, over: { playDelayMs?: number; fetch?: FetchLike; ivrEnded?: (id: string, a: TerminalAction | undefined) => Promise<void> } = {}) {
  const media = fakeMedia(over);
  const mem = memoryStore();
  const handedBack: (TerminalAction | undefined)[] = [];
  const ivr = createIvrService({
    store: mem.store, calls: media.calls, tts: noTts, mediaBaseUrl: 'http://127.0.0.1:8080', fallbackSound: 'beep',
    publishedFlow: async () => ({ version: 4, ...flow }) as Flow,
    calendars: async () => ({}),
    ivrEnded: over.ivrEnded ?? (async (_id, a) => void handedBack.push(a)),
    events: createEventBus(() => undefined), clock: { now: () => Date.now() }, log: createSilentLogger(), tenantId: 1,
    ...(over.fetch ? { fetch: over.fetch } : {}),
  });
  const call = { server: 'm', callId: 'c1', entry: '100', flowId: 'f', callerNumber: '555', callerName: '' };
  const key = (digit: string) => ivr.onCallEvent({ type: 'dtmf', server: 'm', channelId: 'c1', digit });
  return { ivr, media, mem, handedBack, call, key };
}

t.test('given the executor over an in-memory media server', async (t) => {
  t.test('when keys arrive while prompts are still being started then every key is used, in order', async (t) => {
    const x = executor({
      id: 'f', name: 'f', start: 'menu',
      nodes: {
        menu: { type: 'menu', prompts: [{ sound: 'main' }], choices: { '2': 'acct' }, timeoutMs: 5000, retries: 0, noInput: 'bye' },
        acct: { type: 'collect', prompts: [{ sound: 'enter' }], variable: 'acct', maxLength: 8, terminator: '#', timeoutMs: 5000, next: 'route', noInput: 'bye' },
        route: { type: 'queue', queue: 'q1' },
        bye: { type: 'hangup' },
      },
    }, { playDelayMs: 40 });
    await x.ivr.start(x.call);
    for (const d of ['2', '7', '8', '9', '#']) x.key(d);
    await x.ivr.settled('c1');
    t.same(x.mem.visits.map((v) => [v.nodeId, v.input, v.outcome]), [['menu', '2', 'choice'], ['acct', '789', 'collected'], ['route', undefined, 'end']]);
    t.match(x.handedBack, [{ type: 'route_to_queue', queueId: 'q1', context: { vars: { acct: '789' }, path: ['menu', 'acct', 'route'] } }]);
    t.same(x.ivr.pending(), { sessions: 0, timers: 0, requests: 0 });
  });

  t.test('when the caller hangs up while a data dip hangs then no timer or request is left and nothing is handed back', async (t) => {
    const x = executor({
      id: 'f', name: 'f', start: 'lookup',
      nodes: {
        lookup: { type: 'http', url: 'http://api.test/x', timeoutMs: 5000, retries: 2, map: { a: 'a' }, next: 'bye', fallback: 'bye' },
        bye: { type: 'hangup' },
      },
    }, { fetch: hanging });
    const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timeouts();
    await x.ivr.start(x.call);
    await x.ivr.settled('c1');
    t.same(x.ivr.pending(), { sessions: 1, timers: 1, requests: 1 }, 'the dip and its deadline run');
    x.ivr.onCallEvent({ type: 'call_ended', server: 'm', callId: 'c1', cause: 16, causeText: '', endedBy: 'remote' } as CallEvent);
    await x.ivr.settled('c1');
    await new Promise((r) => setTimeout(r, 20));
    t.same(x.ivr.pending(), { sessions: 0, timers: 0, requests: 0 });
    t.equal(timeouts(), before, "every timer was cleared, the engine's deadline and the request's own");
    t.same(x.handedBack, [], 'a caller who hung up is not handed back');
    t.same(x.mem.ends, [{ by: 'caller', action: undefined }]);
    t.match(x.mem.visits, [{ nodeId: 'lookup', outcome: 'caller_hangup' }]);
  });

  t.test('when the voice service cannot carry out the end then the call is hung up (no stranded caller)', async (t) => {
    const x = executor({ id: 'f', name: 'f', start: 'route', nodes: { route: { type: 'queue', queue: 'q1' } } }, { ivrEnded: async () => { throw new Error('redis down'); } });
    await x.ivr.start(x.call);
    await x.ivr.settled('c1');
    await new Promise((r) => setTimeout(r, 20));
    t.ok(x.media.log.includes('hangup c1'));
  });

  t.test('when a key comes during a prompt then the prompt is stopped by its id', async (t) => {
    const x = executor({ id: 'f', name: 'f', start: 'hello', nodes: { hello: { type: 'play', prompts: [{ sound: 'long' }], next: 'menu' }, menu: { type: 'menu', prompts: [{ sound: 'm' }], choices: { '5': 'bye' }, timeoutMs: 5000, retries: 0, noInput: 'bye' }, bye: { type: 'hangup' } } });
    await x.ivr.start(x.call);
    await x.ivr.settled('c1');
    x.key('5');
    await x.ivr.settled('c1');
    t.same(x.media.log, ['play c1-p1 sound:long', 'stop c1-p1']);
    t.match(x.mem.visits, [{ nodeId: 'hello', outcome: 'interrupted' }, { nodeId: 'menu', input: '5', outcome: 'choice' }, { nodeId: 'bye', outcome: 'end' }]);
  });
});
