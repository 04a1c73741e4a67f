import type { Pool, PoolConnection, RowDataPacket } from '../../infra/mysql.js';
import { withTx } from '../../infra/mysql.js';

export type DocKind = 'skill' | 'calendar' | 'queue' | 'agent';

export interface StoredDoc<T> {
  id: string;
  version: number;
  updatedAt: string;
  doc: T;
}

const TABLE: Record<DocKind, string> = { skill: 'skills', calendar: 'calendars', queue: 'queues', agent: 'agents' };

const iso = (d: unknown): string => (d instanceof Date ? d.toISOString() : String(d));
const parse = (v: unknown): Record<string, unknown> => (typeof v === 'string' ? JSON.parse(v) : (v as Record<string, unknown>));

/**
 * SQL for the routing configuration. Each write bumps the tenant's routing
 * configuration version in the same transaction, so a decision can name the
 * exact configuration it was made under.
 */
export function createRoutingStore(pool: Pool) {
  async function bumpVersion(conn: PoolConnection, tenantId: number, actor: string, what: string): Promise<number> {
    const [rows] = await conn.query<RowDataPacket[]>('SELECT COALESCE(MAX(version), 0) + 1 AS v FROM routing_config_versions WHERE tenant_id = ? FOR UPDATE', [tenantId]);
    const v = Number(rows[0]?.v ?? 1);
    await conn.query('INSERT INTO routing_config_versions (tenant_id, version, actor, what) VALUES (?, ?, ?, ?)', [tenantId, v, actor, what]);
    return v;
  }

  function docFromRow(kind: DocKind, r: RowDataPacket): StoredDoc<Record<string, unknown>> {
    let doc: Record<string, unknown>;
    if (kind === 'skill') doc = { name: r.name, description: r.description };
    else if (kind === 'calendar') doc = { name: r.name, timeZone: r.time_zone, weekly: parse(r.weekly), holidays: parse(r.holidays) };
    else doc = parse(r.body);
    return { id: String(r.id), version: Number(r.version), updatedAt: iso(r.updated_at), doc };
  }

  return {
    async put(kind: DocKind, tenantId: number, id: string, doc: Record<string, unknown>, actor: string): Promise<{ configVersion: number; created: boolean }> {
      return withTx(pool, async (conn) => {
        let res: [{ affectedRows: number }, unknown];
        if (kind === 'skill') {
          res = (await conn.query(
            'INSERT INTO skills (tenant_id, id, name, description) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE name = VALUES(name), description = VALUES(description), version = version + 1',
            [tenantId, id, doc.name, doc.description ?? ''],
          )) as never;
        } else if (kind === 'calendar') {
          res = (await conn.query(
            'INSERT INTO calendars (tenant_id, id, name, time_zone, weekly, holidays) VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE name = VALUES(name), time_zone = VALUES(time_zone), weekly = VALUES(weekly), holidays = VALUES(holidays), version = version + 1',
            [tenantId, id, doc.name, doc.timeZone, JSON.stringify(doc.weekly ?? {}), JSON.stringify(doc.holidays ?? [])],
          )) as never;
        } else if (kind === 'queue') {
          res = (await conn.query(
            'INSERT INTO queues (tenant_id, id, body, calendar_id, overflow_queue_id) VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE body = VALUES(body), calendar_id = VALUES(calendar_id), overflow_queue_id = VALUES(overflow_queue_id), version = version + 1',
            [tenantId, id, JSON.stringify(doc), doc.calendarId ?? null, doc.overflowQueueId ?? null],
          )) as never;
        } else {
          res = (await conn.query(
            'INSERT INTO agents (tenant_id, id, user_id, body) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE user_id = VALUES(user_id), body = VALUES(body), version = version + 1',
            [tenantId, id, doc.userId ?? null, JSON.stringify(doc)],
          )) as never;
        }
        const configVersion = await bumpVersion(conn, tenantId, actor, `put ${kind} ${id}`);
        // MariaDB reports 1 affected row for an insert and 2 for an update.
        return { configVersion, created: res[0].affectedRows === 1 };
      });
    },

    async get(kind: DocKind, tenantId: number, id: string): Promise<StoredDoc<Record<string, unknown>> | undefined> {
      const [rows] = await pool.query<RowDataPacket[]>(`SELECT * FROM ${TABLE[kind]} WHERE tenant_id = ? AND id = ?`, [tenantId, id]);
      return rows[0] && docFromRow(kind, rows[0]);
    },

    async list(kind: DocKind, tenantId: number): Promise<StoredDoc<Record<string, unknown>>[]> {
      const [rows] = await pool.query<RowDataPacket[]>(`SELECT * FROM ${TABLE[kind]} WHERE tenant_id = ? ORDER BY id`, [tenantId]);
      return rows.map((r) => docFromRow(kind, r));
    },

    async remove(kind: DocKind, tenantId: number, id: string, actor: string): Promise<boolean> {
      return withTx(pool, async (conn) => {
        const [res] = (await conn.query(`DELETE FROM ${TABLE[kind]} WHERE tenant_id = ? AND id = ?`, [tenantId, id])) as unknown as [{ affectedRows: number }];
        if (res.affectedRows === 0) return false;
        await bumpVersion(conn, tenantId, actor, `delete ${kind} ${id}`);
        return true;
      });
    },

    /** Ids of queues and agents that reference a skill / calendar / queue, for "in use" checks. */
    async usersOf(kind: 'skill' | 'calendar' | 'queue', tenantId: number, id: string): Promise<string[]> {
      if (kind === 'calendar') {
        const [rows] = await pool.query<RowDataPacket[]>('SELECT id FROM queues WHERE tenant_id = ? AND calendar_id = ? ORDER BY id', [tenantId, id]);
        return rows.map((r) => `queue ${r.id}`);
      }
      if (kind === 'queue') {
        const [rows] = await pool.query<RowDataPacket[]>('SELECT id FROM queues WHERE tenant_id = ? AND overflow_queue_id = ? ORDER BY id', [tenantId, id]);
        return rows.map((r) => `queue ${r.id} (overflow)`);
      }
      const path = JSON.stringify(id);
      const [q] = await pool.query<RowDataPacket[]>(
        "SELECT id FROM queues WHERE tenant_id = ? AND JSON_CONTAINS(JSON_EXTRACT(body, '$.skills[*].skillId'), ?) ORDER BY id",
        [tenantId, path],
      );
      const [a] = await pool.query<RowDataPacket[]>(
        "SELECT id FROM agents WHERE tenant_id = ? AND JSON_CONTAINS(JSON_EXTRACT(body, '$.skills[*].skillId'), ?) ORDER BY id",
        [tenantId, path],
      );
      return [...q.map((r) => `queue ${r.id}`), ...a.map((r) => `agent ${r.id}`)];
    },

    async agentForUser(tenantId: number, userId: string): Promise<string | undefined> {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT id FROM agents WHERE tenant_id = ? AND user_id = ?', [tenantId, userId]);
      return rows[0] ? String(rows[0].id) : undefined;
    },

    async currentVersion(tenantId: number): Promise<number> {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT COALESCE(MAX(version), 0) AS v FROM routing_config_versions WHERE tenant_id = ?', [tenantId]);
      return Number(rows[0]?.v ?? 0);
    },
  };
}

export type RoutingStore = ReturnType<typeof createRoutingStore>;
