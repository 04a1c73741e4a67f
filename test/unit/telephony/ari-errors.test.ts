import t from 'tap';
import { AppError } from '../../../server/domain/errors.js';
import {
  ARI_ERROR,
  ariStatusError,
  ariTimeoutError,
  ariTransportError,
  transportCode,
} from '../../../server/telephony/ari-errors.js';

const ctx = { server: 'pbx1', method: 'POST', path: '/channels/x/answer' };

t.test('given ARI answers with an HTTP status when mapped then kind and code follow the status', async (t) => {
  const cases: Array<[number, string, string]> = [
    [400, 'invalid', ARI_ERROR.badRequest],
    [401, 'internal', ARI_ERROR.authFailed],
    [404, 'not_found', ARI_ERROR.notFound],
    [409, 'conflict', ARI_ERROR.conflict],
    [412, 'conflict', ARI_ERROR.invalidState],
    [422, 'invalid', ARI_ERROR.unprocessable],
    [500, 'internal', ARI_ERROR.serverError],
    [503, 'unavailable', ARI_ERROR.unavailable],
    [507, 'unavailable', ARI_ERROR.unavailable],
    [418, 'invalid', ARI_ERROR.badRequest],
  ];
  for (const [status, kind, code] of cases) {
    const e = ariStatusError(ctx, status, { message: 'Channel not found' });
    t.ok(e instanceof AppError);
    t.equal(e.kind, kind, `${status} kind`);
    t.equal(e.code, code, `${status} code`);
    t.equal(e.details?.['status'], status, `${status} keeps the status`);
    t.equal(e.details?.['server'], 'pbx1');
    t.equal(e.details?.['ariMessage'], 'Channel not found');
  }
});

t.test('given transport failures when mapped then refused connections are unavailable and stalls are timeouts', async (t) => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8088'), { code: 'ECONNREFUSED' });
  const e1 = ariTransportError(ctx, refused);
  t.equal(e1.kind, 'unavailable');
  t.equal(e1.code, ARI_ERROR.unreachable);
  t.ok(e1.retryable);
  t.equal(e1.details?.['transport'], 'ECONNREFUSED');

  const stalled = Object.assign(new Error('x'), { code: 'ETIMEDOUT' });
  t.equal(ariTransportError(ctx, stalled).kind, 'timeout');

  const e3 = ariTimeoutError(ctx, 1500);
  t.equal(e3.kind, 'timeout');
  t.equal(e3.code, ARI_ERROR.timeout);
  t.equal(e3.details?.['timeoutMs'], 1500);
  t.ok(e3.retryable);
});

t.test('given nested errors when the transport code is looked up then causes and aggregates are followed', async (t) => {
  const inner = Object.assign(new Error('inner'), { code: 'ECONNRESET' });
  t.equal(transportCode(new Error('outer', { cause: inner })), 'ECONNRESET');
  t.equal(transportCode(new AggregateError([inner], 'all failed')), 'ECONNRESET');
  t.equal(transportCode('not an error'), undefined);
  t.equal(transportCode(new Error('plain')), undefined);
});
