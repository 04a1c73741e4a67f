import t from 'tap';
import { byteRange } from '../../../server/modules/recordings/service.js';

t.test('given a recording of 1000 bytes when a Range header is read then each form gives its span', async (t) => {
  t.same(byteRange('bytes=100-199', 1000), { start: 100, end: 199 });
  t.same(byteRange('bytes=900-', 1000), { start: 900, end: 999 }, 'to the end');
  t.same(byteRange('bytes=-10', 1000), { start: 990, end: 999 }, 'the last 10 bytes');
  t.same(byteRange('bytes=-5000', 1000), { start: 0, end: 999 }, 'a suffix longer than the file is the whole file');
  t.same(byteRange('bytes=500-99999', 1000), { start: 500, end: 999 }, 'an end past the file is cut to it');
  t.same(byteRange(' bytes=0-0 ', 1000), { start: 0, end: 0 });
});

t.test('given a range the file cannot satisfy when it is read then it is unsatisfiable (416), never a partial guess', async (t) => {
  for (const h of ['bytes=1000-', 'bytes=200-100', 'bytes=-', 'bytes=a-b', 'items=0-10', 'bytes=0-10,20-30', '']) t.equal(byteRange(h, 1000), 'unsatisfiable', JSON.stringify(h));
  t.equal(byteRange('bytes=0-', 0), 'unsatisfiable', 'an empty file has no bytes to give');
});
