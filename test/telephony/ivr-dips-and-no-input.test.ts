/**
 * The IVR's bad paths on a real Asterisk: a data dip to a local HTTP server that hangs, one that
 * answers garbage, and a caller who never presses anything. Each must end where the flow says
 * (the fallback branch within the dip's timeout, the no-input end) — checked by the journey
 * records and the call's outcome. The three calls run at once and share one TTS greeting, which
 * is rendered once.
 */
import { readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { bearer, eventually, loginAs, serverLog } from '../helpers/app.js';
import { ensureAsterisk, uniqueName } from '../helpers/asterisk.js';
import { buildIvrTestApp, publishFlowAt } from '../helpers/ivr.js';
import { runSipp, type SippResult } from '../helpers/sipp.js';

/** A customer API that misbehaves: /hang/* never answers, /garbage/* answers HTML with 200. */
async function startBadApi(t: { teardown(fn: () => unknown): void }): Promise<{ port: number; hits: string[] }> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url?.startsWith('/hang/')) return; // never answers
    if (req.url?.startsWith('/garbage/')) {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Service temporarily unavailable</body></html>');
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise((r) => server.close(r));
  });
  return { port: (server.address() as AddressInfo).port, hits };
}

interface Visit { nodeId: string; nodeType: string; input: string | null; outcome: string | null; next: string | null; enteredAt: string; leftAt: string | null }
interface Journey { session: { endedBy: string | null; endAction: string | null; endNode: string | null; context: { dips: Record<string, { outcome: string; attempts: number }> } } | null; visits: Visit[] }

const DIP_TIMEOUT_MS = 1000;
const DIP_RETRIES = 1;

t.test('given flows with a data dip to a misbehaving server and a menu nobody answers, on a real Asterisk', async (t) => {
  const asterisk = await ensureAsterisk('main');
  const appName = uniqueName('ivrbad');
  const unique = appName.replace(/[^a-z0-9]/g, '');
  const { app, cacheDir } = await buildIvrTestApp(t, asterisk, appName);
  const api = await startBadApi(t);
  const H = bearer((await loginAs(app, ['admin'])).token);

  // The same greeting in every flow: rendered once, played to every caller.
  const greeting = `Account service ${unique.slice(-6)}.`;
  const dipFlow = (id: string, variant: string) => ({
    id, name: `Dip ${variant}`, start: 'welcome', defaultLanguage: 'en',
    nodes: {
      welcome: { type: 'play', prompts: [{ tts: greeting }], interruptible: true, next: 'main' },
      main: { type: 'menu', prompts: [{ sound: 'beep' }], choices: { '1': 'account' }, timeoutMs: 5000, retries: 0, noInput: 'bye' },
      account: { type: 'collect', prompts: [{ sound: 'beep' }], variable: 'account', minLength: 4, maxLength: 8, terminator: '#', timeoutMs: 5000, next: 'lookup', noInput: 'bye' },
      lookup: { type: 'http', url: `http://127.0.0.1:${api.port}/${variant}/{{account}}`, timeoutMs: DIP_TIMEOUT_MS, retries: DIP_RETRIES, map: { tier: 'customer.tier' }, next: 'known', fallback: 'sorry' },
      known: { type: 'hangup', reason: 'known customer' },
      sorry: { type: 'hangup', reason: 'lookup failed', prompts: [{ sound: 'vm-goodbye' }] },
      bye: { type: 'hangup', reason: 'nothing chosen' },
    },
  });
  const silentFlow = (id: string) => ({
    id, name: 'Nobody presses', start: 'main', defaultLanguage: 'en',
    nodes: {
      main: { type: 'menu', prompts: [{ tts: greeting }], choices: { '1': 'chosen' }, timeoutMs: 1500, retries: 1, noInputPrompts: [{ sound: 'beep' }], noInput: 'no_input_end' },
      chosen: { type: 'hangup', reason: 'chosen' },
      no_input_end: { type: 'hangup', reason: 'no input', prompts: [{ sound: 'vm-goodbye' }] },
    },
  });
  const base = Date.now().toString().slice(-6);
  const cases = [
    { name: 'hang', flow: dipFlow(`hang-${unique}`.slice(0, 60), 'hang'), entry: `71${base}`, scenario: 'ivr-caller-1-account.xml' },
    { name: 'garbage', flow: dipFlow(`garbage-${unique}`.slice(0, 60), 'garbage'), entry: `72${base}`, scenario: 'ivr-caller-1-account.xml' },
    { name: 'silent', flow: silentFlow(`silent-${unique}`.slice(0, 60)), entry: `73${base}`, scenario: 'caller-far-end-hangs-up.xml' },
  ];
  for (const c of cases) await publishFlowAt(app, H, c.flow, c.entry);

  const results = new Map<string, { sipp: SippResult; callId: string; journey: Journey; call: { outcome: string } }>();
  const started = Date.now();
  await Promise.all(cases.map(async (c, i) => {
    const sipp = await runSipp({ instance: asterisk, scenario: c.scenario, service: c.entry, keys: { app: appName, caller: `60000${base}${i}` }, timeoutMs: 40_000 });
    const [rows] = (await app.mysql.query('SELECT id FROM voice_calls WHERE entry = ?', [c.entry])) as unknown as [{ id: string }[]];
    const callId = rows[0]?.id ?? 'none';
    const journey = await eventually(async () => {
      const r = await app.inject({ method: 'GET', url: `/v1/calls/${callId}/journey`, headers: H });
      const j = r.json() as Journey;
      return r.statusCode === 200 && j.session?.endedBy ? j : undefined;
    }, 10_000).catch(() => ({ session: null, visits: [] }) as Journey);
    const call = (await app.inject({ method: 'GET', url: `/v1/calls/${callId}`, headers: H })).json();
    results.set(c.name, { sipp, callId, journey, call });
  }));
  t.comment(`three calls at once took ${Date.now() - started} ms`);
  if ([...results.values()].some((r) => r.sipp.exitCode !== 0)) {
    t.comment(`server log:\n${serverLog.filter((l) => !l.includes('"msg":"request completed"') && !l.includes('"msg":"incoming request"')).slice(-60).join('')}`);
  }
  const ms = (v: Visit | undefined): number => (v?.leftAt && v.enteredAt ? Date.parse(v.leftAt) - Date.parse(v.enteredAt) : NaN);

  t.test('when the data dip server hangs then each attempt times out and the call takes the fallback branch within the timeout', async (t) => {
    const r = results.get('hang')!;
    t.equal(r.sipp.exitCode, 0, `caller SIPp succeeded (hung up by us): ${r.sipp.errors || r.sipp.stderr.slice(-300)}`);
    t.same(r.journey.visits.map((v) => v.nodeId), ['welcome', 'main', 'account', 'lookup', 'sorry']);
    const lookup = r.journey.visits.find((v) => v.nodeId === 'lookup');
    t.match(lookup, { nodeType: 'http', input: 'timeout timeout', outcome: 'fallback', next: 'sorry' });
    const took = ms(lookup);
    t.ok(took >= DIP_TIMEOUT_MS * (DIP_RETRIES + 1) - 50 && took < DIP_TIMEOUT_MS * (DIP_RETRIES + 1) + 700, `the dip gave up after its two attempts' timeouts (${took} ms)`);
    t.equal(api.hits.filter((h) => h.startsWith('/hang/5678')).length, DIP_RETRIES + 1, 'one request per attempt, with the account');
    t.match(r.journey.session, { endedBy: 'flow', endNode: 'sorry', endAction: 'hangup', context: { dips: { lookup: { outcome: 'timeout', attempts: 2 } } } });
    t.equal(r.call.outcome, 'ivr_hangup');
  });

  t.test('when the data dip server answers garbage then the call takes the fallback branch at once, without a retry', async (t) => {
    const r = results.get('garbage')!;
    t.equal(r.sipp.exitCode, 0, `caller SIPp succeeded: ${r.sipp.errors || r.sipp.stderr.slice(-300)}`);
    t.same(r.journey.visits.map((v) => v.nodeId), ['welcome', 'main', 'account', 'lookup', 'sorry']);
    const lookup = r.journey.visits.find((v) => v.nodeId === 'lookup');
    t.match(lookup, { input: 'invalid_body:200', outcome: 'fallback', next: 'sorry' });
    t.ok(ms(lookup) < DIP_TIMEOUT_MS, `well within the timeout (${ms(lookup)} ms)`);
    t.equal(api.hits.filter((h) => h.startsWith('/garbage/5678')).length, 1, 'garbage is not retried');
    t.match(r.journey.session, { endedBy: 'flow', endAction: 'hangup', context: { dips: { lookup: { outcome: 'garbage' } } } });
    t.equal(r.call.outcome, 'ivr_hangup');
  });

  t.test('when the caller never presses anything then the retries run out and the call reaches the no-input end', async (t) => {
    const r = results.get('silent')!;
    t.equal(r.sipp.exitCode, 0, `caller SIPp succeeded: ${r.sipp.errors || r.sipp.stderr.slice(-300)}`);
    t.same(r.journey.visits.map((v) => v.nodeId), ['main', 'no_input_end']);
    t.match(r.journey.visits[0], { nodeType: 'menu', input: 'no_input no_input', outcome: 'no_input', next: 'no_input_end' });
    t.match(r.journey.visits[1], { nodeType: 'hangup', outcome: 'end' });
    t.match(r.journey.session, { endedBy: 'flow', endNode: 'no_input_end', endAction: 'hangup' });
    t.equal(r.call.outcome, 'ivr_hangup');
  });

  t.test('when three calls play the same TTS greeting then it was rendered once and every call heard it', async (t) => {
    const files = readdirSync(cacheDir).filter((f) => f.endsWith('.wav'));
    t.equal(files.length, 1, 'one cache file for the one text');
    const renders = serverLog.filter((l) => l.includes('"msg":"TTS prompt rendered"') && l.includes(files[0] as string));
    t.equal(renders.length, 1, 'rendered once');
    t.comment(`render: ${(JSON.parse(renders[0] ?? '{}') as { ms?: number }).ms} ms`);
    t.ok(serverLog.some((l) => l.includes('"msg":"IVR media served"') && l.includes(files[0] as string)), 'Asterisk fetched it');
    for (const [name, r] of results) {
      const first = r.journey.visits[0];
      t.ok(first && ms(first) > 0, `${name}: the greeting's node was visited`);
    }
  });

  t.test('when a supervisor reads the summary of the silent flow then the no-input end is where its caller left', async (t) => {
    const sup = bearer((await loginAs(app, ['supervisor'])).token);
    const s = (await app.inject({ method: 'GET', url: `/v1/ivr/flows/${cases[2]!.flow.id}/journeys/summary`, headers: sup })).json();
    t.match(s, { sessions: { total: 1, ended: { hangup: 1 } } });
    t.match(s.nodes.find((n: { nodeId: string }) => n.nodeId === 'main'), { visits: 1, noInput: 1, hangups: 0 });
  });
});
