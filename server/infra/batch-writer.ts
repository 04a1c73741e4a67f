import mysql, { type Pool, type ResultSetHeader } from 'mysql2/promise';
import { AppError } from '../domain/errors.js';
import { createMysqlPool, isDeadlock } from './mysql.js';

/**
 * Writes that many callers issue at once (the records of every live call) sent to MariaDB in
 * batches: whatever is waiting when the connection is free goes as one transaction in one round
 * trip. Under load a query costs a round trip and a wake-up of the database and of this process
 * far more than its own work; with one statement per round trip a 2-core box running Asterisk
 * beside us saturated the pool at ~250 writes/s and every call waited for it.
 *
 * - Order: statements run in the order `write` was called (one connection, one batch at a time),
 *   so a row's insert always precedes its updates.
 * - Each `write` resolves once its batch has committed, with its own statement's result.
 * - A batch that fails is rolled back and its statements run one by one, so one bad statement
 *   fails alone; a deadlock or lock timeout is tried again.
 * - Backlog is bounded (`maxQueued`): beyond it `write` refuses with `db.write_backlog` (503)
 *   instead of growing without limit.
 */
export interface BatchWriter {
  write(sql: string, params?: readonly unknown[]): Promise<ResultSetHeader>;
  /** Resolves when everything written so far has been committed (or has failed). */
  flush(): Promise<void>;
  /** Flushes, then closes the connection; later writes are refused. */
  close(): Promise<void>;
  stats(): { batches: number; statements: number; largestBatch: number; queued: number; fallbacks: number };
  /** A `pool.query`-shaped view of the writer, for stores that take a pool for their writes. */
  readonly asPool: Pool;
}

export interface BatchWriterOptions {
  url: string;
  log: { child(bindings: Record<string, unknown>): { warn(obj: object, msg: string): void } };
  /** Most statements per round trip. Default 200. */
  maxBatch?: number;
  /** Most statements waiting before `write` refuses. Default 20,000. */
  maxQueued?: number;
  /** Per round-trip timeout. Default 30 s. */
  timeoutMs?: number;
}

interface Item {
  text: string;
  resolve: (r: ResultSetHeader) => void;
  reject: (e: unknown) => void;
}

const RETRYABLE = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']);

/**
 * Formats a statement as the pool would: dates in UTC (the pools run with `timezone: 'Z'`; the
 * driver's own `format` would write them in the process's local time).
 */
const formatUtc = mysql.format as unknown as (sql: string, values: unknown, stringifyObjects: boolean, timeZone: string) => string;

export function createBatchWriter(o: BatchWriterOptions): BatchWriter {
  const maxBatch = o.maxBatch ?? 200;
  const maxQueued = o.maxQueued ?? 20_000;
  const timeout = o.timeoutMs ?? 30_000;
  const log = o.log.child({ component: 'batch-writer' });
  // One connection: the order of statements is the order of writes. Statements are formatted
  // with escaped parameters before they are joined, so several per query are safe.
  const pool = createMysqlPool({ url: o.url, poolSize: 1, multipleStatements: true, queueLimit: 0 });
  let queue: Item[] = [];
  let running: Promise<void> | undefined;
  let closed = false;
  const counters = { batches: 0, statements: 0, largestBatch: 0, fallbacks: 0 };

  async function runOne(item: Item): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const [result] = await pool.query({ sql: item.text, timeout });
        item.resolve(result as ResultSetHeader);
        return;
      } catch (err) {
        const code = (err as { code?: string }).code ?? '';
        if ((isDeadlock(err) || RETRYABLE.has(code)) && attempt < 3) {
          await new Promise((r) => setTimeout(r, 10 * attempt));
          continue;
        }
        item.reject(err);
        return;
      }
    }
  }

  async function runBatch(batch: Item[]): Promise<void> {
    counters.batches += 1;
    counters.statements += batch.length;
    counters.largestBatch = Math.max(counters.largestBatch, batch.length);
    if (batch.length === 1) return runOne(batch[0] as Item);
    const text = ['START TRANSACTION', ...batch.map((i) => i.text), 'COMMIT'].join(';\n');
    let results: unknown;
    try {
      [results] = await pool.query({ sql: text, timeout });
    } catch (err) {
      // Some statement failed (or the connection did): nothing of the batch stays; each
      // statement is tried on its own so only the bad one fails.
      counters.fallbacks += 1;
      log.warn({ err, statements: batch.length }, 'a write batch failed; writing its statements one by one');
      await pool.query('ROLLBACK').catch(() => undefined);
      for (const item of batch) await runOne(item);
      return;
    }
    const list = results as ResultSetHeader[];
    batch.forEach((item, i) => item.resolve(list[i + 1] as ResultSetHeader));
  }

  function drain(): Promise<void> {
    running ??= (async () => {
      try {
        while (queue.length > 0) {
          const batch = queue.slice(0, maxBatch);
          queue = queue.slice(batch.length);
          await runBatch(batch);
        }
      } finally {
        running = undefined;
      }
    })();
    return running;
  }

  function write(sql: string, params: readonly unknown[] = []): Promise<ResultSetHeader> {
    if (closed) return Promise.reject(new AppError('unavailable', 'db.writer_closed', 'the database writer is closed'));
    if (queue.length >= maxQueued) {
      return Promise.reject(new AppError('unavailable', 'db.write_backlog', `more than ${maxQueued} database writes are waiting; the database is not keeping up`));
    }
    return new Promise<ResultSetHeader>((resolve, reject) => {
      queue.push({ text: formatUtc(sql, params, false, 'Z'), resolve, reject });
      // Started on the next tick, so writes issued together go together.
      if (!running) queueMicrotask(() => void drain());
    });
  }

  const asPool = {
    query: async (sql: string, params?: readonly unknown[]) => [await write(sql, params ?? []), []],
  } as unknown as Pool;

  return {
    write,
    async flush() {
      while (queue.length > 0 || running) await (running ?? drain());
    },
    async close() {
      closed = true;
      while (queue.length > 0 || running) await (running ?? drain());
      await pool.end();
    },
    stats: () => ({ ...counters, queued: queue.length }),
    asPool,
  };
}
