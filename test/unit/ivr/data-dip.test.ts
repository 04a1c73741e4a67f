import t from 'tap';
import type { FlowNode, IvrAction } from '../../../ivr/types.js';
import { Call, T0, flowOf } from './helpers.js';

const dipFlow = (over: Partial<Extract<FlowNode, { type: 'http' }>> = {}) =>
  flowOf({
    acct: { type: 'set', values: { account: '12/34 5' }, next: 'dip' },
    dip: {
      type: 'http',
      url: 'https://crm.test/accounts/{{account}}?from={{caller.number}}',
      headers: { 'x-caller': '{{caller.number}}' },
      timeoutMs: 2000,
      retries: 1,
      map: { name: 'customer.name', tier: 'customer.tier', first: 'orders.0.id' },
      required: ['name'],
      next: 'ok',
      fallback: 'fallback',
      ...over,
    },
    ok: { type: 'hangup', reason: 'ok' },
    fallback: { type: 'hangup', reason: 'fallback' },
  });

const requests = (a: readonly IvrAction[]) => a.filter((x): x is Extract<IvrAction, { type: 'http_request' }> => x.type === 'http_request');

t.test('given a data dip when the server answers then the request is built from the context and the response maps into it', async (t) => {
  const c = new Call(dipFlow());
  const a = c.start();
  const [req] = requests(a);
  t.match(req, {
    method: 'GET',
    url: 'https://crm.test/accounts/12%2F34%205?from=%2B33600000001',
    headers: { 'x-caller': '+33600000001' },
    body: undefined,
    timeoutMs: 2000,
  });
  t.match(a.at(-1), { type: 'start_timer', ms: 2000 }, 'our own deadline runs with the request');
  c.http({ outcome: 'ok', status: 200, body: { customer: { name: 'Ana', tier: 3 }, orders: [{ id: 'o-9' }] } });
  t.match(c.end, { reason: 'ok' });
  t.same(c.session.context.vars, { account: '12/34 5', name: 'Ana', tier: 3, first: 'o-9' });
  t.same(c.session.context.dips.dip, { outcome: 'ok', status: 200, attempts: 1 });
});

t.test('given a POST data dip when entered then the JSON body holds rendered values', async (t) => {
  const c = new Call(dipFlow({ method: 'POST', body: { account: '{{account}}', source: 'ivr', n: 2 } }));
  const [req] = requests(c.start());
  t.same(req?.body, { account: '12/34 5', source: 'ivr', n: 2 });
});

t.test('given a data dip that hangs when its timer fires on every attempt then the fallback is taken within retries × timeout', async (t) => {
  const c = new Call(dipFlow());
  c.start();
  c.fireTimer();
  t.equal(requests(c.last).length, 1, 'retried once');
  c.fireTimer();
  t.match(c.end, { reason: 'fallback' });
  t.equal(c.now - T0, 4000);
  t.same(c.session.context.dips.dip, { outcome: 'timeout', attempts: 2 });
  t.equal(c.session.journey[1]?.input, 'timeout timeout');
});

t.test('given a data dip that timed out when its late answer arrives then it is ignored', async (t) => {
  const c = new Call(dipFlow({ retries: 0 }));
  const [req] = requests(c.start());
  c.fireTimer();
  t.match(c.end, { reason: 'fallback' });
  const ended = c.session;
  t.same(c.send({ type: 'http_result', requestId: req?.requestId ?? '', result: { outcome: 'ok', status: 200, body: { customer: { name: 'late' } } } }), []);
  t.equal(c.session, ended);

  const d = new Call(dipFlow());
  const [first] = requests(d.start());
  d.fireTimer();
  d.send({ type: 'http_result', requestId: first?.requestId ?? '', result: { outcome: 'ok', status: 200, body: { customer: { name: 'late' } } } });
  t.equal(d.session.phase.kind, 'http', 'the retry is still awaited');
  t.equal(d.session.context.vars.name, undefined);
});

t.test('given a data dip when the answer is garbage then the fallback is taken at once, without retry', async (t) => {
  const rows: [string, Parameters<Call['http']>[0], string][] = [
    ['required field missing', { outcome: 'ok', status: 200, body: { customer: { tier: 'gold' } } }, 'garbage'],
    ['required field not a scalar', { outcome: 'ok', status: 200, body: { customer: { name: { first: 'A' } } } }, 'garbage'],
    ['body is a string', { outcome: 'ok', status: 200, body: 'hello' }, 'garbage'],
    ['not JSON', { outcome: 'invalid_body', status: 200 }, 'garbage'],
    ['client error', { outcome: 'ok', status: 404, body: {} }, 'error'],
  ];
  for (const [name, result, outcome] of rows) {
    const c = new Call(dipFlow());
    c.start();
    const a = c.http(result);
    t.equal(requests(a).length, 0, `${name}: no retry`);
    t.match(c.end, { reason: 'fallback' }, name);
    t.equal(c.session.context.dips.dip?.outcome, outcome, name);
  }
});

t.test('given a data dip when the server fails with 5xx or a network error then it retries and succeeds on the retry', async (t) => {
  for (const failure of [{ outcome: 'ok', status: 503, body: {} }, { outcome: 'error', code: 'ECONNRESET' }] as const) {
    const c = new Call(dipFlow());
    c.start();
    t.equal(requests(c.http(failure)).length, 1);
    c.http({ outcome: 'ok', status: 200, body: { customer: { name: 'Bo' } } });
    t.match(c.end, { reason: 'ok' });
    t.same(c.session.context.dips.dip, { outcome: 'ok', status: 200, attempts: 2 });
  }
});

t.test('given an optional mapped field when it is missing then the dip still succeeds without it', async (t) => {
  const c = new Call(dipFlow());
  c.start();
  c.http({ outcome: 'ok', status: 200, body: { customer: { name: 'Cy' } } });
  t.same(c.session.context.vars, { account: '12/34 5', name: 'Cy' });
});
