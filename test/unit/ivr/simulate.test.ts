import t from 'tap';
import { simulate } from '../../../ivr/simulate.js';
import type { HttpRequestAction, HttpResult } from '../../../ivr/types.js';
import { OFFICE, T0, loadSample } from './helpers.js';

const flow = loadSample('main-line.json');
const gold = (): HttpResult => ({ outcome: 'ok', status: 200, body: { customer: { name: 'Ana', tier: 'gold' }, balance: 12.5 } });
const base = { now: T0, calendar: OFFICE, callerNumber: '+33611111111' };
const keys = (s: string): string[] => s.split('');

t.test('given the sample flow when an English caller checks a gold account then the call reaches billing with priority and context', async (t) => {
  const seen: HttpRequestAction[] = [];
  const r = simulate(flow, { ...base, digits: keys('11112345678#'), httpResponder: (req) => (seen.push(req), gold()) });
  t.same(r.path, ['choose_language', 'opening_hours', 'welcome', 'main_menu', 'billing_menu', 'account_number', 'account_lookup', 'greet_customer', 'vip_check', 'mark_vip', 'billing_queue']);
  t.equal(r.endedBy, 'flow');
  t.match(r.end, {
    type: 'route_to_queue',
    queueId: 'billing',
    priority: 5,
    requiredSkills: [
      { skillId: 'billing', minLevel: 1 },
      { skillId: 'lang_en', minLevel: 3 },
    ],
  });
  t.same(r.context.vars, { account: '12345678', customerName: 'Ana', tier: 'gold', balance: 12.5, priority: 5, segment: 'vip' });
  t.equal(seen[0]?.url, 'https://crm.example.internal/api/accounts/12345678?caller=%2B33611111111');
  t.same(r.unusedDigits, [], 'the # after eight digits belonged to the entry');
  t.equal(r.elapsedMs, 0, 'no timer had to fire');
});

t.test('given the sample flow when a French caller reaches a silver account then prompts are French and priority stays 0', async (t) => {
  const r = simulate(flow, { ...base, digits: keys('21187654321'), httpResponder: () => ({ outcome: 'ok', status: 200, body: { customer: { name: 'Luc', tier: 'silver' } } }) });
  t.equal(r.path.at(-1), 'billing_queue');
  t.notOk(r.path.includes('mark_vip'));
  t.match(r.end, { type: 'route_to_queue', priority: 0, requiredSkills: [{ skillId: 'billing' }, { skillId: 'lang_fr' }] });
  const greeting = r.actions.find((a) => a.type === 'play' && a.prompts.some((p) => p.kind === 'tts' && p.text.startsWith('Bonjour')));
  t.match(greeting, { type: 'play', prompts: [{ kind: 'tts', text: 'Bonjour Luc.', language: 'fr' }] });
});

t.test('given the sample flow when the caller presses nothing then every menu times out to the configured no-input end', async (t) => {
  const r = simulate(flow, { ...base, digits: [] });
  t.same(r.path, ['choose_language', 'opening_hours', 'welcome', 'main_menu', 'operator']);
  t.match(r.end, { type: 'route_to_queue', queueId: 'general', requiredSkills: [{ skillId: 'lang_en', minLevel: 1 }] });
  t.equal(r.elapsedMs, 2 * 4000 + 3 * 5000, 'language: 1 + 1 retry of 4 s; main menu: 1 + 2 retries of 5 s');
  t.same(
    r.journey.map((j) => j.input ?? ''),
    ['no_input no_input', '', '', 'no_input no_input no_input', ''],
  );
});

t.test('given the sample flow when the data dip never answers then the caller still reaches billing through the fallback', async (t) => {
  const r = simulate(flow, { ...base, digits: keys('11112345678') });
  t.equal(r.path.at(-1), 'billing_queue');
  t.notOk(r.path.includes('greet_customer'));
  t.same(r.context.dips.account_lookup, { outcome: 'timeout', attempts: 2 });
  t.equal(r.elapsedMs, 2 * 2000, 'two attempts of 2 s, not a second more');
});

t.test('given the sample flow when the data dip returns garbage then the fallback is taken at once', async (t) => {
  const r = simulate(flow, { ...base, digits: keys('11112345678'), httpResponder: () => ({ outcome: 'ok', status: 200, body: ['not', 'an', 'account'] }) });
  t.equal(r.path.at(-1), 'billing_queue');
  t.same(r.context.dips.account_lookup, { outcome: 'garbage', status: 200, attempts: 1 });
  t.equal(r.elapsedMs, 0);
});

t.test('given the sample flow when called on a holiday or a Saturday then the caller is offered voicemail', async (t) => {
  for (const iso of ['2025-05-01T10:00:00Z', '2025-01-04T10:00:00Z']) {
    const r = simulate(flow, { ...base, now: Date.parse(iso), digits: ['1'] });
    t.same(r.path, ['choose_language', 'opening_hours', 'closed'], iso);
    t.match(r.end, { type: 'voicemail', mailbox: 'general', maxLengthMs: 180_000 });
  }
});

t.test('given the sample flow when the caller goes to support, back to the main menu and on then the path shows the loop', async (t) => {
  const r = simulate(flow, { ...base, digits: keys('12921') });
  t.same(r.path, ['choose_language', 'opening_hours', 'welcome', 'main_menu', 'support_menu', 'main_menu', 'support_menu', 'support_queue']);
  t.match(r.end, { type: 'route_to_queue', queueId: 'support' });
});

t.test('given the sample flow when the caller picks the partner line or a callback then transfer and callback end the IVR', async (t) => {
  t.match(simulate(flow, { ...base, digits: keys('122') }).end, { type: 'transfer', number: '+33123456789' });
  t.match(simulate(flow, { ...base, digits: keys('112') }).end, { type: 'offer_callback', queueId: 'billing', number: '+33611111111' });
});

t.test('given barge-in when the caller presses keys during the prompts then the path and collected data are the same', async (t) => {
  const opts = { ...base, digits: keys('11112345678#'), httpResponder: gold };
  const patient = simulate(flow, opts);
  const hasty = simulate(flow, { ...opts, bargeIn: true });
  t.same(hasty.path, patient.path);
  t.same(hasty.context.vars, patient.context.vars);
  t.ok(hasty.actions.some((a) => a.type === 'stop_playback'), 'prompts were cut');
  t.notOk(patient.actions.some((a) => a.type === 'stop_playback'));
});

t.test('given a caller who hangs up when the digits run out then the simulation ends by the caller where they gave up', async (t) => {
  const r = simulate(flow, { ...base, digits: ['1'], hangupWhenDone: true });
  t.equal(r.endedBy, 'caller');
  t.equal(r.end, undefined);
  t.match(r.journey.at(-1), { nodeId: 'main_menu', outcome: 'caller_hangup' });
});
