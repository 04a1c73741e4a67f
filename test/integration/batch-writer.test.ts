/**
 * The batched writer on a real MariaDB: writes issued together share round trips and keep their
 * order; a bad statement fails alone; the backlog is bounded; closing flushes.
 */
import t from 'tap';
import { MYSQL_BASE, uniqueId } from '../helpers/app.js';
import { createBatchWriter } from '../../server/infra/batch-writer.js';
import { createMysqlPool, dropDatabase, ensureDatabase, type RowDataPacket } from '../../server/infra/mysql.js';
import { createSilentLogger } from '../../server/infra/logger.js';

t.test('batched writes', async (t) => {
  const url = `${MYSQL_BASE}/ipcc_${uniqueId('bw')}`;
  await ensureDatabase(url);
  const pool = createMysqlPool({ url, poolSize: 2 });
  t.teardown(async () => {
    await pool.end();
    await dropDatabase(url);
  });
  await pool.query('CREATE TABLE calls (id VARCHAR(32) PRIMARY KEY, state VARCHAR(16) NOT NULL, steps INT NOT NULL DEFAULT 0)');
  const log = createSilentLogger();

  await t.test('given 300 calls each inserted then updated twice when written at once then every row ends in its last state, in far fewer round trips', async (t) => {
    const w = createBatchWriter({ url, log });
    t.teardown(() => w.close());
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 300; i++) {
      const id = `c${i}`;
      writes.push(w.write('INSERT INTO calls (id, state) VALUES (?, ?)', [id, 'arrived']));
      writes.push(w.write('UPDATE calls SET state = ?, steps = steps + 1 WHERE id = ?', ['queued', id]));
      writes.push(w.write('UPDATE calls SET state = ?, steps = steps + 1 WHERE id = ?', ['ended', id]));
    }
    const results = await Promise.all(writes);
    t.equal(results.length, 900);
    t.ok(results.every((r) => (r as { affectedRows: number }).affectedRows === 1), 'each write resolves with its own statement\'s result');
    const [rows] = await pool.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM calls WHERE state = 'ended' AND steps = 2 AND id LIKE 'c%'");
    t.equal(Number(rows[0]?.n), 300, 'every insert came before its updates');
    const s = w.stats();
    t.equal(s.statements, 900);
    t.ok(s.batches <= 10, `900 statements in ${s.batches} round trips (largest batch ${s.largestBatch})`);
  });

  await t.test('given a bad statement among good ones when the batch runs then only it fails and the others are stored', async (t) => {
    const w = createBatchWriter({ url, log });
    t.teardown(() => w.close());
    const good = Array.from({ length: 20 }, (_, i) => w.write('INSERT INTO calls (id, state) VALUES (?, ?)', [`g${i}`, 'arrived']));
    const bad = w.write('INSERT INTO calls (id, no_such_column) VALUES (?, ?)', ['bad', 'x']);
    const dup = w.write('INSERT INTO calls (id, state) VALUES (?, ?)', ['g0', 'again']);
    const more = Array.from({ length: 5 }, (_, i) => w.write('INSERT INTO calls (id, state) VALUES (?, ?)', [`h${i}`, 'arrived']));
    await t.rejects(bad, { code: 'ER_BAD_FIELD_ERROR' }, 'the bad statement fails with the database\'s error');
    await t.rejects(dup, { code: 'ER_DUP_ENTRY' }, 'a duplicate key fails alone too');
    await Promise.all([...good, ...more]);
    const [rows] = await pool.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM calls WHERE id LIKE 'g%' OR id LIKE 'h%'");
    t.equal(Number(rows[0]?.n), 25, 'the 25 good rows are stored');
    const [g0] = await pool.query<RowDataPacket[]>("SELECT state FROM calls WHERE id = 'g0'");
    t.equal(g0[0]?.state, 'arrived', 'the duplicate changed nothing');
    t.ok(w.stats().fallbacks >= 1, 'the failed batch was retried statement by statement');
  });

  await t.test('given a process whose local time is not UTC when a date is written then it is stored as the pool stores dates (UTC)', async (t) => {
    const w = createBatchWriter({ url, log });
    const tz = process.env.TZ;
    t.teardown(async () => {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
      await w.close();
    });
    await pool.query('CREATE TABLE IF NOT EXISTS stamps (id VARCHAR(32) PRIMARY KEY, at DATETIME(3) NOT NULL)');
    process.env.TZ = 'Asia/Shanghai';
    t.not(new Date(0).getTimezoneOffset(), 0, 'the process runs at UTC+8 for this test');
    const at = new Date('2026-03-04T05:06:07.089Z');
    await w.write('INSERT INTO stamps (id, at) VALUES (?, ?)', ['batched', at]);
    await pool.query('INSERT INTO stamps (id, at) VALUES (?, ?)', ['pooled', at]);
    const [rows] = await pool.query<RowDataPacket[]>("SELECT id, DATE_FORMAT(at, '%Y-%m-%dT%H:%i:%s.%f') AS at FROM stamps ORDER BY id");
    t.same(rows.map((r) => [r.id, String(r.at).slice(0, 23)]), [['batched', '2026-03-04T05:06:07.089'], ['pooled', '2026-03-04T05:06:07.089']], 'the batched write and the pool agree: UTC');
  });

  await t.test('given a full backlog when more is written then it is refused with db.write_backlog and nothing accepted is lost', async (t) => {
    const w = createBatchWriter({ url, log, maxQueued: 10 });
    t.teardown(() => w.close());
    const outcomes = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => w.write('INSERT INTO calls (id, state) VALUES (?, ?)', [`q${i}`, 'arrived'])));
    const refused = outcomes.filter((o) => o.status === 'rejected');
    t.equal(refused.length, 30, '30 of 40 refused');
    t.ok(refused.every((o) => (o as PromiseRejectedResult).reason.code === 'db.write_backlog'), 'with a stable code');
    const [rows] = await pool.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM calls WHERE id LIKE 'q%'");
    t.equal(Number(rows[0]?.n), 10, 'the 10 accepted writes are stored');
  });

  await t.test('given writes waiting when the writer closes then they are committed first and later writes are refused', async (t) => {
    const w = createBatchWriter({ url, log });
    const pending = Array.from({ length: 50 }, (_, i) => w.write('INSERT INTO calls (id, state) VALUES (?, ?)', [`z${i}`, 'arrived']));
    await w.close();
    await Promise.all(pending);
    const [rows] = await pool.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM calls WHERE id LIKE 'z%'");
    t.equal(Number(rows[0]?.n), 50);
    await t.rejects(w.write('INSERT INTO calls (id, state) VALUES (?, ?)', ['late', 'x']), { code: 'db.writer_closed' });
  });
});
