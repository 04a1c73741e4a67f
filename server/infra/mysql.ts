import mysql, { type Pool, type PoolConnection, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';
import { AppError } from '../domain/errors.js';

export type { Pool, PoolConnection, ResultSetHeader, RowDataPacket };

export interface MysqlConfig {
  url: string;
  poolSize: number;
  /** Several statements per query (only for statements formatted with escaped parameters). */
  multipleStatements?: boolean;
  /** Requests waiting for a connection before the pool refuses (0: no limit). Default 1000. */
  queueLimit?: number;
}

export interface MysqlTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

export function parseMysqlUrl(url: string): MysqlTarget {
  const u = new URL(url);
  if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:') {
    throw new AppError('invalid', 'mysql_url_scheme', 'IPCC_MYSQL_URL must start with mysql://');
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_]{1,64}$/.test(database)) {
    throw new AppError('invalid', 'mysql_url_database', 'IPCC_MYSQL_URL must name a database of letters, digits and _');
  }
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password),
    database,
  };
}

/**
 * The MariaDB pool. Every query has a timeout (the driver's connect timeout
 * plus a per-query `timeout`), so a stalled database surfaces as an error
 * instead of a hung request.
 */
export function createMysqlPool(config: MysqlConfig): Pool {
  const t = parseMysqlUrl(config.url);
  return mysql.createPool({
    host: t.host,
    port: t.port,
    user: t.user,
    password: t.password,
    database: t.database,
    connectionLimit: config.poolSize,
    connectTimeout: 5000,
    waitForConnections: true,
    queueLimit: config.queueLimit ?? 1000,
    multipleStatements: config.multipleStatements ?? false,
    timezone: 'Z',
    dateStrings: false,
    supportBigNumbers: true,
    bigNumberStrings: false,
    charset: 'utf8mb4',
    enableKeepAlive: true,
    // No stack captured at every query's call site (the driver's default): at a few thousand
    // queries/s it was a twentieth of the server's CPU. Errors keep their code and message.
    trace: false,
  });
}

/** Creates the configured database if it is missing (used by `ipcc migrate` and tests). */
export async function ensureDatabase(url: string): Promise<void> {
  const t = parseMysqlUrl(url);
  const conn = await mysql.createConnection({
    host: t.host,
    port: t.port,
    user: t.user,
    password: t.password,
    connectTimeout: 5000,
  });
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS \`${t.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await conn.end();
  }
}

export async function dropDatabase(url: string): Promise<void> {
  const t = parseMysqlUrl(url);
  const conn = await mysql.createConnection({ host: t.host, port: t.port, user: t.user, password: t.password, connectTimeout: 5000 });
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${t.database}\``);
  } finally {
    await conn.end();
  }
}

/** True when MariaDB chose this transaction as a deadlock victim: running it again is the documented remedy. */
export function isDeadlock(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'ER_LOCK_DEADLOCK';
}

/**
 * Runs `fn` in a transaction; commits on success, rolls back on any error. A transaction chosen
 * as a deadlock victim is rolled back whole, so it is run again (up to three times in all).
 */
export async function withTx<T>(pool: Pool, fn: (conn: PoolConnection) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const conn = await pool.getConnection();
    try {
      await conn.beginTransaction();
      const result = await fn(conn);
      await conn.commit();
      return result;
    } catch (e) {
      await conn.rollback().catch(() => undefined);
      if (!isDeadlock(e) || attempt >= 3) throw e;
    } finally {
      conn.release();
    }
    await new Promise((r) => setTimeout(r, 5 * attempt + Math.floor(Math.random() * 10)));
  }
}

/** True when a MariaDB error is a unique-key violation (used for idempotent inserts). */
export function isDuplicateKey(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'ER_DUP_ENTRY';
}

export async function pingMysql(pool: Pool, timeoutMs = 2000): Promise<void> {
  await pool.query({ sql: 'SELECT 1', timeout: timeoutMs });
}

/**
 * A whole transaction sent as one query (START TRANSACTION; ...; COMMIT) on a pool that takes
 * several statements: one round trip instead of one per statement. Returns each statement's
 * result in order. A statement that fails stops the rest: the transaction is rolled back on that
 * connection before it goes back to the pool, and a deadlock victim is run again (up to three
 * times in all), as {@link withTx} does.
 */
export async function withScript(pool: Pool, statements: readonly string[], params: (string | number | Date | null)[]): Promise<unknown[]> {
  const sql = ['START TRANSACTION', ...statements, 'COMMIT'].join(';\n');
  for (let attempt = 1; ; attempt++) {
    const conn = await pool.getConnection();
    try {
      const [results] = await conn.query(sql, params);
      return (results as unknown[]).slice(1, -1);
    } catch (e) {
      await conn.query('ROLLBACK').catch(() => undefined);
      if (!isDeadlock(e) || attempt >= 3) throw e;
    } finally {
      conn.release();
    }
  }
}
