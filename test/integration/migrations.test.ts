import { cpSync, mkdtempSync, appendFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import mysql from 'mysql2/promise';
import { migrate, readMigrations } from '../../server/infra/migrate.js';
import { dropDatabase, ensureDatabase } from '../../server/infra/mysql.js';
import { MIGRATIONS_DIR } from '../../server/infra/plugins/resources.js';
import { createSilentLogger } from '../../server/infra/logger.js';
import { MYSQL_BASE, uniqueId } from '../helpers/app.js';

const logger = createSilentLogger();

async function freshDb(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const url = `${MYSQL_BASE}/ipcc_${uniqueId('m')}`;
  await ensureDatabase(url);
  t.teardown(() => dropDatabase(url));
  return url;
}

async function tablesOf(url: string): Promise<string[]> {
  const conn = await mysql.createConnection(url);
  try {
    const [rows] = await conn.query<mysql.RowDataPacket[]>('SHOW TABLES');
    return rows.map((r) => String(Object.values(r)[0])).sort();
  } finally {
    await conn.end();
  }
}

t.test('given a fresh database when two processes migrate at once then each migration is applied exactly once', async (t) => {
  const url = await freshDb(t);
  const [a, b] = await Promise.all([migrate({ url, dir: MIGRATIONS_DIR, logger }), migrate({ url, dir: MIGRATIONS_DIR, logger })]);
  const total = (await readMigrations(MIGRATIONS_DIR)).length;
  t.equal(a.applied.length + b.applied.length, total, 'together they applied each migration once');
  t.ok(a.applied.length === 0 || b.applied.length === 0, 'one of them found nothing left to do');
  const conn = await mysql.createConnection(url);
  const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT version FROM schema_migrations ORDER BY version');
  await conn.end();
  t.same(rows.map((r) => r.version), Array.from({ length: total }, (_, i) => i + 1));
  t.ok((await tablesOf(url)).includes('users'));
});

t.test('given every table when inspected then each carries tenant_id', async (t) => {
  const url = await freshDb(t);
  await migrate({ url, dir: MIGRATIONS_DIR, logger });
  const conn = await mysql.createConnection(url);
  const db = new URL(url).pathname.slice(1);
  const [rows] = await conn.query<mysql.RowDataPacket[]>(
    "SELECT t.table_name AS name, SUM(c.column_name = 'tenant_id') AS has FROM information_schema.tables t JOIN information_schema.columns c ON c.table_schema = t.table_schema AND c.table_name = t.table_name WHERE t.table_schema = ? GROUP BY t.table_name",
    [db],
  );
  await conn.end();
  const missing = rows.filter((r) => Number(r.has) === 0 && !['schema_migrations', 'tenants'].includes(String(r.name))).map((r) => r.name);
  t.same(missing, [], 'no table without tenant_id (besides the bookkeeping and tenants themselves)');
});

t.test('given an applied migration edited afterwards when migrating then it stops and says migrations are forward-only', async (t) => {
  const url = await freshDb(t);
  const dir = mkdtempSync(join(tmpdir(), 'ipcc-mig-'));
  cpSync(MIGRATIONS_DIR, dir, { recursive: true });
  await migrate({ url, dir, logger });
  appendFileSync(join(dir, '0001_foundation.sql'), '\n-- edited\n');
  await t.rejects(migrate({ url, dir, logger }), /was changed after it was applied; migrations are forward-only/);
});

t.test('given a new migration when migrating again then only it is applied', async (t) => {
  const url = await freshDb(t);
  const dir = mkdtempSync(join(tmpdir(), 'ipcc-mig-'));
  cpSync(MIGRATIONS_DIR, dir, { recursive: true });
  await migrate({ url, dir, logger });
  const next = String((await readMigrations(dir)).length + 1).padStart(4, '0');
  writeFileSync(join(dir, `${next}_probe.sql`), 'CREATE TABLE probe (tenant_id INT UNSIGNED NOT NULL, id INT PRIMARY KEY);');
  const r = await migrate({ url, dir, logger });
  t.same(r.applied.map((a) => a.name), ['probe']);
  t.ok((await tablesOf(url)).includes('probe'));
});

t.test('given a gap in numbering when reading migrations then it is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ipcc-mig-'));
  writeFileSync(join(dir, '0001_a.sql'), 'SELECT 1;');
  writeFileSync(join(dir, '0003_c.sql'), 'SELECT 1;');
  await t.rejects(readMigrations(dir), /expected version 0002/);
  const dir2 = mkdtempSync(join(tmpdir(), 'ipcc-mig-'));
  writeFileSync(join(dir2, '0001_Bad-Name.sql'), 'SELECT 1;');
  await t.rejects(readMigrations(dir2), /must be named NNNN_lower_snake_name\.sql/);
});
