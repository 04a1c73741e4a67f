import { Writable } from 'node:stream';
import t from 'tap';
import { createLogger } from '../../../server/infra/logger.js';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { stream, lines: () => chunks.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

t.test('given secrets and phone numbers in a log line when logged then they are redacted and ids kept', async (t) => {
  const { stream, lines } = capture();
  const log = createLogger({ level: 'info' }, stream).child({ callId: 'c-1' });
  log.info({ password: 'hunter2', caller: { number: '+15551234567', name: 'Ann' }, from: '+15559876543', token: 'abc', req: { headers: { authorization: 'Bearer xyz' } } }, 'offer');
  const [line] = lines();
  const text = JSON.stringify(line);
  for (const secret of ['hunter2', '+15551234567', '+15559876543', 'Bearer xyz', '"abc"']) t.notMatch(text, secret, `${secret} is not logged`);
  t.equal(line?.callId, 'c-1', 'the child logger carries the call id');
  t.equal(line?.msg, 'offer');
});
