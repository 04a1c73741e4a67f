import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import type { Log } from './logger.js';
import { parseMysqlUrl } from './mysql.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrateResult {
  applied: Array<{ version: number; name: string; ms: number }>;
  current: number;
}

const FILE_RE = /^(\d{4})_([a-z0-9_]+)\.sql$/;
const LOCK_NAME = 'ipcc_migrate';

/** Reads `migrations/NNNN_name.sql`, in order, refusing gaps and duplicates. */
export async function readMigrations(dir: string): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const out: Migration[] = [];
  for (const f of files) {
    const m = FILE_RE.exec(f);
    if (!m) throw new Error(`migration file ${f} must be named NNNN_lower_snake_name.sql`);
    const version = Number(m[1]);
    const expected = out.length + 1;
    if (version !== expected) throw new Error(`migration ${f}: expected version ${String(expected).padStart(4, '0')} (no gaps, no duplicates)`);
    const sql = await readFile(join(dir, f), 'utf8');
    out.push({ version, name: m[2] as string, sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  return out;
}

/**
 * Applies pending migrations, forward only, under a database-wide named lock
 * so two processes starting at once cannot race. Each applied migration is
 * recorded with its checksum; an edited, already-applied migration stops the
 * run (write a new migration instead).
 */
export async function migrate(opts: { url: string; dir: string; logger: Log; lockTimeoutSeconds?: number }): Promise<MigrateResult> {
  const migrations = await readMigrations(opts.dir);
  const t = parseMysqlUrl(opts.url);
  const conn = await mysql.createConnection({
    host: t.host,
    port: t.port,
    user: t.user,
    password: t.password,
    database: t.database,
    multipleStatements: true,
    connectTimeout: 5000,
    timezone: 'Z',
  });
  const applied: MigrateResult['applied'] = [];
  try {
    const [lockRows] = await conn.query<mysql.RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS got', [LOCK_NAME, opts.lockTimeoutSeconds ?? 60]);
    if (lockRows[0]?.got !== 1) throw new Error('could not take the migration lock: another process has held it too long');
    try {
      await conn.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version INT UNSIGNED NOT NULL PRIMARY KEY,
        name VARCHAR(200) NOT NULL,
        checksum CHAR(64) NOT NULL,
        applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
      ) ENGINE=InnoDB`);
      const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT version, name, checksum FROM schema_migrations ORDER BY version');
      const done = new Map(rows.map((r) => [Number(r.version), r as { name: string; checksum: string }]));
      for (const m of migrations) {
        const prior = done.get(m.version);
        if (prior) {
          if (prior.checksum !== m.checksum) {
            throw new Error(`migration ${m.version} (${m.name}) was changed after it was applied; migrations are forward-only, add a new one`);
          }
          continue;
        }
        const started = performance.now();
        opts.logger.info({ version: m.version, name: m.name }, 'applying migration');
        await conn.query(m.sql);
        await conn.query('INSERT INTO schema_migrations (version, name, checksum) VALUES (?, ?, ?)', [m.version, m.name, m.checksum]);
        applied.push({ version: m.version, name: m.name, ms: Math.round(performance.now() - started) });
      }
      const newer = [...done.keys()].filter((v) => v > migrations.length);
      if (newer.length > 0) {
        opts.logger.warn({ versions: newer }, 'database has migrations this server does not know: it is older than the schema');
      }
    } finally {
      await conn.query('SELECT RELEASE_LOCK(?)', [LOCK_NAME]).catch(() => undefined);
    }
  } finally {
    await conn.end();
  }
  return { applied, current: migrations.length };
}
