import t from 'tap';
import { hashPassword, passwordProblems, verifyPassword } from '../../../server/infra/passwords.js';
import { issueToken, verifyToken } from '../../../server/infra/tokens.js';
import { checkHandlers } from '../../../server/infra/jobs/runtime.js';
import { JOB_NAMES } from '../../../server/infra/jobs/definitions.js';

t.test('given a password when hashed then it verifies, a wrong one does not, and the hash is salted scrypt', async (t) => {
  const h1 = await hashPassword('correct horse battery');
  const h2 = await hashPassword('correct horse battery');
  t.match(h1, /^scrypt\$32768\$8\$1\$/);
  t.not(h1, h2, 'salted');
  t.equal(await verifyPassword('correct horse battery', h1), true);
  t.equal(await verifyPassword('correct horse batterY', h1), false);
  t.equal(await verifyPassword('x', 'md5$abc'), false, 'unknown format never verifies');
});

t.test('given weak passwords when checked then each rule names its problem', async (t) => {
  t.same(passwordProblems('short', 'bob'), ['must be at least 12 characters']);
  t.same(passwordProblems('my-name-is-alice!', 'alice'), ['must not contain the user name']);
  t.same(passwordProblems('abababababababab', 'zed'), ['must use at least 5 different characters']);
  t.same(passwordProblems('a decent passphrase', 'zed'), []);
});

t.test('given tokens when verified then signature, expiry and shape are enforced', async (t) => {
  const secret = 's'.repeat(40);
  const { token } = issueToken(secret, { sub: '7', ten: 1, roles: ['agent'], ver: 1 }, 1000, 60);
  t.match(verifyToken(secret, token, 1030), { ok: true, claims: { sub: '7', exp: 1060 } });
  t.same(verifyToken(secret, token, 1060), { ok: false, reason: 'expired' });
  t.same(verifyToken('o'.repeat(40), token, 1030), { ok: false, reason: 'bad_signature' });
  const [h, p, s] = token.split('.');
  const body = JSON.parse(Buffer.from(p as string, 'base64url').toString());
  body.roles = ['admin'];
  const altered = `${h}.${Buffer.from(JSON.stringify(body)).toString('base64url')}.${s}`;
  t.same(verifyToken(secret, altered, 1030), { ok: false, reason: 'bad_signature' }, 'elevating roles breaks the signature');
  t.same(verifyToken(secret, 'a.b', 1030), { ok: false, reason: 'malformed' });
});

t.test('given the job registry when handlers are checked then a missing or unknown handler is named', async (t) => {
  const all = new Map(JOB_NAMES.map((n) => [n, () => undefined]));
  t.same(checkHandlers(all), []);
  const missing = new Map(all);
  missing.delete(JOB_NAMES[0] as string as never);
  t.same(checkHandlers(missing), [`job "${JOB_NAMES[0]}" has no handler`]);
  const extra = new Map<string, unknown>(all);
  extra.set('no.such-job', () => undefined);
  t.same(checkHandlers(extra), ['handler for unknown job "no.such-job"']);
});
