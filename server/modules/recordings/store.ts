import type { PciWindow, RetentionGroup } from '../../domain/recording.js';
import type { Pool, ResultSetHeader, RowDataPacket } from '../../infra/mysql.js';

export type RecordingState = 'recording' | 'done' | 'failed' | 'deleted';

/** One recording's metadata row. Times are epoch milliseconds. */
export interface RecordingRow {
  name: string;
  callId: string;
  server: string;
  queueId: string | null;
  agentId: string | null;
  agents: string[];
  customerNumber: string;
  startedAt: number;
  endedAt: number | null;
  durationMs: number | null;
  mediaSeconds: number | null;
  state: RecordingState;
  pauses: PciWindow[];
  version: number;
  deletedAt: number | null;
  deletedReason: string | null;
}

export interface RecordingFilter {
  queueId?: string;
  agentId?: string;
  callId?: string;
  state?: RecordingState;
  from?: number;
  to?: number;
  /** Keyset cursor: rows strictly older than this (started_at, name), newest first. */
  before?: { startedAt: number; name: string };
  limit: number;
}

/** A recording past retention, as the retention run needs it. */
export interface Candidate {
  name: string;
  callId: string;
  server: string;
  queueId: string | null;
  startedAt: number;
}

export interface RetentionRunRow {
  id: string;
  trigger: 'schedule' | 'manual';
  requestedBy: string;
  requestedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  state: 'queued' | 'running' | 'done' | 'failed';
  deleted: number;
  failed: number;
  remaining: number | null;
  plan: unknown;
  error: string | null;
}

const ms = (v: unknown): number | null => (v instanceof Date ? v.getTime() : v == null ? null : new Date(String(v)).getTime());
const json = <T>(v: unknown, fallback: T): T => (v == null ? fallback : typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));

function toRow(r: RowDataPacket): RecordingRow {
  return {
    name: String(r.name), callId: String(r.call_id), server: String(r.server),
    queueId: r.queue_id == null ? null : String(r.queue_id), agentId: r.agent_id == null ? null : String(r.agent_id),
    agents: json<string[]>(r.agents, []), customerNumber: String(r.customer_number),
    startedAt: ms(r.started_at) as number, endedAt: ms(r.ended_at),
    durationMs: r.duration_ms == null ? null : Number(r.duration_ms), mediaSeconds: r.media_seconds == null ? null : Number(r.media_seconds),
    state: r.state as RecordingState, pauses: json<PciWindow[]>(r.pauses, []), version: Number(r.version),
    deletedAt: ms(r.deleted_at), deletedReason: r.deleted_reason == null ? null : String(r.deleted_reason),
  };
}

function toRun(r: RowDataPacket): RetentionRunRow {
  return {
    id: String(r.id), trigger: r.trigger_kind as RetentionRunRow['trigger'], requestedBy: String(r.requested_by),
    requestedAt: ms(r.requested_at) as number, startedAt: ms(r.started_at), finishedAt: ms(r.finished_at),
    state: r.state as RetentionRunRow['state'], deleted: Number(r.deleted), failed: Number(r.failed),
    remaining: r.remaining == null ? null : Number(r.remaining), plan: json<unknown>(r.plan, null), error: r.error == null ? null : String(r.error),
  };
}

/** The SQL condition selecting one retention group's recordings (not yet deleted, started before the cutoff). */
function groupWhere(g: RetentionGroup): { sql: string; args: unknown[] } {
  const base = "state <> 'deleted' AND started_at < ?";
  if (g.kind === 'queues') return { sql: `${base} AND queue_id IN (?)`, args: [new Date(g.cutoff), g.queueIds] };
  if (g.exceptQueues.length === 0) return { sql: base, args: [new Date(g.cutoff)] };
  return { sql: `${base} AND (queue_id IS NULL OR queue_id NOT IN (?))`, args: [new Date(g.cutoff), g.exceptQueues] };
}

/**
 * SQL for recordings' metadata and retention runs. `writes`: where the per-call writes go (a
 * recording's row at its start, end and media finish) — the server's batching writer.
 */
export function createRecordingStore(pool: Pool, o: { writes?: Pool } = {}) {
  const writer = o.writes ?? pool;
  return {
    /** Idempotent: a repeated begin for the same name keeps the first row. */
    async insert(tenantId: number, r: { name: string; callId: string; server: string; queueId: string | null; agentId: string | null; customerNumber: string; startedAt: number }): Promise<void> {
      await writer.query(
        "INSERT IGNORE INTO recordings (tenant_id, name, call_id, server, queue_id, agent_id, agents, customer_number, started_at, state, pauses) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'recording', '[]')",
        [tenantId, r.name, r.callId, r.server, r.queueId, r.agentId, JSON.stringify(r.agentId ? [r.agentId] : []), r.customerNumber, new Date(r.startedAt)],
      );
    },

    async get(tenantId: number, name: string): Promise<RecordingRow | undefined> {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT * FROM recordings WHERE tenant_id = ? AND name = ?', [tenantId, name]);
      return rows[0] && toRow(rows[0]);
    },

    /** The call's latest recording (a call may in future have several, e.g. after a transfer). */
    async latestForCall(tenantId: number, callId: string): Promise<RecordingRow | undefined> {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT * FROM recordings WHERE tenant_id = ? AND call_id = ? ORDER BY started_at DESC, name DESC LIMIT 1', [tenantId, callId]);
      return rows[0] && toRow(rows[0]);
    },

    /** Writes new PCI windows if nobody changed them since `version` was read; false otherwise. */
    async setPauses(tenantId: number, name: string, version: number, pauses: readonly PciWindow[], onlyWhileRecording: boolean): Promise<boolean> {
      const [res] = await pool.query<ResultSetHeader>(
        `UPDATE recordings SET pauses = ?, version = version + 1 WHERE tenant_id = ? AND name = ? AND version = ?${onlyWhileRecording ? " AND state = 'recording'" : ''}`,
        [JSON.stringify(pauses), tenantId, name, version],
      );
      return res.affectedRows === 1;
    },

    /** The call ended: its length by our clock; an open pause closed (`pauses`); recording → done. */
    async ended(tenantId: number, name: string, version: number, endedAt: number, pauses: readonly PciWindow[]): Promise<boolean> {
      const [res] = await writer.query<ResultSetHeader>(
        `UPDATE recordings SET ended_at = COALESCE(ended_at, ?), duration_ms = COALESCE(duration_ms, GREATEST(0, TIMESTAMPDIFF(MICROSECOND, started_at, ?) DIV 1000)),
           pauses = ?, version = version + 1, state = IF(state = 'recording', 'done', state)
         WHERE tenant_id = ? AND name = ? AND version = ?`,
        [new Date(endedAt), new Date(endedAt), JSON.stringify(pauses), tenantId, name, version],
      );
      return res.affectedRows === 1;
    },

    /** The media server finished writing the file (or failed to). Unknown names are not ours: false. */
    async mediaFinished(tenantId: number, server: string, name: string, ok: boolean, seconds: number | undefined): Promise<boolean> {
      const [res] = await writer.query<ResultSetHeader>(
        `UPDATE recordings SET media_seconds = COALESCE(?, media_seconds),
           state = CASE WHEN state = 'deleted' THEN state WHEN ? THEN IF(state = 'recording', 'done', state) ELSE 'failed' END
         WHERE tenant_id = ? AND server = ? AND name = ?`,
        [seconds === undefined ? null : Math.max(0, Math.round(seconds)), ok, tenantId, server, name],
      );
      return res.affectedRows > 0;
    },

    /** Newest first; `limit + 1` rows are read so the caller knows whether more follow. */
    async list(tenantId: number, f: RecordingFilter): Promise<RecordingRow[]> {
      const where = ['tenant_id = ?'];
      const args: unknown[] = [tenantId];
      const add = (sql: string, ...values: unknown[]): void => {
        where.push(sql);
        args.push(...values);
      };
      if (f.queueId !== undefined) add('queue_id = ?', f.queueId);
      if (f.agentId !== undefined) add('(agent_id = ? OR JSON_CONTAINS(agents, ?))', f.agentId, JSON.stringify(f.agentId));
      if (f.callId !== undefined) add('call_id = ?', f.callId);
      if (f.state !== undefined) add('state = ?', f.state);
      if (f.from !== undefined) add('started_at >= ?', new Date(f.from));
      if (f.to !== undefined) add('started_at < ?', new Date(f.to));
      if (f.before) add('(started_at < ? OR (started_at = ? AND name < ?))', new Date(f.before.startedAt), new Date(f.before.startedAt), f.before.name);
      const [rows] = await pool.query<RowDataPacket[]>(`SELECT * FROM recordings WHERE ${where.join(' AND ')} ORDER BY started_at DESC, name DESC LIMIT ?`, [...args, f.limit + 1]);
      return rows.map(toRow);
    },

    /** One batch of a retention group, oldest first, after the keyset cursor `after`. */
    async candidates(tenantId: number, g: RetentionGroup, after: { startedAt: number; name: string } | undefined, limit: number): Promise<Candidate[]> {
      const w = groupWhere(g);
      const cursor = after ? ' AND (started_at > ? OR (started_at = ? AND name > ?))' : '';
      const [rows] = await pool.query<RowDataPacket[]>(
        `SELECT name, call_id, server, queue_id, started_at FROM recordings WHERE tenant_id = ? AND ${w.sql}${cursor} ORDER BY started_at, name LIMIT ?`,
        [tenantId, ...w.args, ...(after ? [new Date(after.startedAt), new Date(after.startedAt), after.name] : []), limit],
      );
      return rows.map((r) => ({ name: String(r.name), callId: String(r.call_id), server: String(r.server), queueId: r.queue_id == null ? null : String(r.queue_id), startedAt: ms(r.started_at) as number }));
    },

    async countCandidates(tenantId: number, groups: readonly RetentionGroup[]): Promise<number> {
      let n = 0;
      for (const g of groups) {
        const w = groupWhere(g);
        const [rows] = await pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM recordings WHERE tenant_id = ? AND ${w.sql}`, [tenantId, ...w.args]);
        n += Number(rows[0]?.n ?? 0);
      }
      return n;
    },

    /** Marks a recording deleted; false if it already was (another run got there first). */
    async markDeleted(tenantId: number, name: string, at: number, reason: string): Promise<boolean> {
      const [res] = await pool.query<ResultSetHeader>(
        "UPDATE recordings SET state = 'deleted', deleted_at = ?, deleted_reason = ?, version = version + 1 WHERE tenant_id = ? AND name = ? AND state <> 'deleted'",
        [new Date(at), reason.slice(0, 200), tenantId, name],
      );
      return res.affectedRows === 1;
    },

    async queueRun(tenantId: number, r: { id: string; trigger: RetentionRunRow['trigger']; requestedBy: string; at: number }): Promise<void> {
      await pool.query("INSERT IGNORE INTO recording_retention_runs (tenant_id, id, trigger_kind, requested_by, requested_at, state) VALUES (?, ?, ?, ?, ?, 'queued')", [
        tenantId, r.id, r.trigger, r.requestedBy, new Date(r.at),
      ]);
    },

    /** A run starts (again, after a retry): counters restart, the plan is what this attempt uses. */
    async startRun(tenantId: number, r: { id: string; trigger: RetentionRunRow['trigger']; requestedBy: string; at: number; plan: unknown; remaining: number }): Promise<void> {
      await pool.query(
        `INSERT INTO recording_retention_runs (tenant_id, id, trigger_kind, requested_by, requested_at, started_at, state, plan, remaining) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?)
         ON DUPLICATE KEY UPDATE started_at = VALUES(started_at), state = 'running', plan = VALUES(plan), remaining = VALUES(remaining), deleted = 0, failed = 0, finished_at = NULL, error = NULL`,
        [tenantId, r.id, r.trigger, r.requestedBy, new Date(r.at), new Date(r.at), JSON.stringify(r.plan), r.remaining],
      );
    },

    async runProgress(tenantId: number, id: string, p: { deleted: number; failed: number; remaining: number }): Promise<void> {
      await pool.query('UPDATE recording_retention_runs SET deleted = ?, failed = ?, remaining = ? WHERE tenant_id = ? AND id = ?', [p.deleted, p.failed, p.remaining, tenantId, id]);
    },

    async finishRun(tenantId: number, id: string, state: 'done' | 'failed', at: number, error?: string): Promise<void> {
      await pool.query('UPDATE recording_retention_runs SET state = ?, finished_at = ?, error = ? WHERE tenant_id = ? AND id = ?', [state, new Date(at), error?.slice(0, 500) ?? null, tenantId, id]);
    },

    async getRun(tenantId: number, id: string): Promise<RetentionRunRow | undefined> {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT * FROM recording_retention_runs WHERE tenant_id = ? AND id = ?', [tenantId, id]);
      return rows[0] && toRun(rows[0]);
    },

    async lastRun(tenantId: number): Promise<RetentionRunRow | undefined> {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT * FROM recording_retention_runs WHERE tenant_id = ? ORDER BY requested_at DESC, id DESC LIMIT 1', [tenantId]);
      return rows[0] && toRun(rows[0]);
    },
  };
}

export type RecordingStore = ReturnType<typeof createRecordingStore>;
