import type { Pool, RowDataPacket } from '../../infra/mysql.js';

/** One stored node visit (a journey entry the engine closed). */
export interface VisitRow {
  seq: number;
  flowId: string;
  flowVersion: number;
  nodeId: string;
  nodeType: string;
  enteredAt: number;
  leftAt: number | undefined;
  input: string | undefined;
  outcome: string | undefined;
  next: string | undefined;
}

export interface SessionStart {
  callId: string;
  flowId: string;
  flowVersion: number;
  at: number;
}

export interface SessionEnd {
  callId: string;
  at: number;
  by: string;
  nodeId: string | undefined;
  action: string | undefined;
  context: unknown;
}

const MAX_INPUT = 512;
const iso = (v: unknown): string | null => (v instanceof Date ? v.toISOString() : v == null ? null : String(v));
const json = (v: unknown): unknown => (typeof v === 'string' ? JSON.parse(v) : v);
const str = (v: unknown): string | null => (v == null ? null : String(v));

/** IVR sessions and their node visits (tables ivr_sessions, ivr_journey_visits). */
export function createIvrStore(pool: Pool) {
  return {
    async sessionStarted(tenantId: number, s: SessionStart): Promise<void> {
      await pool.query('INSERT IGNORE INTO ivr_sessions (tenant_id, call_id, flow_id, flow_version, started_at) VALUES (?, ?, ?, ?, ?)', [
        tenantId, s.callId, s.flowId, s.flowVersion, new Date(s.at),
      ]);
    },

    async sessionEnded(tenantId: number, e: SessionEnd): Promise<void> {
      await pool.query('UPDATE ivr_sessions SET ended_at = ?, ended_by = ?, end_node = ?, end_action = ?, context = ? WHERE tenant_id = ? AND call_id = ? AND ended_at IS NULL', [
        new Date(e.at), e.by, e.nodeId ?? null, e.action ?? null, JSON.stringify(e.context), tenantId, e.callId,
      ]);
    },

    /** Idempotent by (call, seq): writing the same visits twice is harmless. */
    async addVisits(tenantId: number, callId: string, visits: readonly VisitRow[]): Promise<void> {
      if (visits.length === 0) return;
      const rows = visits.map((v) => [
        tenantId, callId, v.seq, v.flowId, v.flowVersion, v.nodeId, v.nodeType, new Date(v.enteredAt), v.leftAt === undefined ? null : new Date(v.leftAt),
        v.input === undefined ? null : v.input.slice(0, MAX_INPUT), v.outcome ?? null, v.next ?? null,
      ]);
      await pool.query(
        'INSERT IGNORE INTO ivr_journey_visits (tenant_id, call_id, seq, flow_id, flow_version, node_id, node_type, entered_at, left_at, input, outcome, next_node) VALUES ?',
        [rows],
      );
    },

    async getSession(tenantId: number, callId: string) {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT * FROM ivr_sessions WHERE tenant_id = ? AND call_id = ?', [tenantId, callId]);
      const r = rows[0];
      if (!r) return undefined;
      return {
        callId: String(r.call_id),
        flowId: String(r.flow_id),
        flowVersion: Number(r.flow_version),
        startedAt: iso(r.started_at),
        endedAt: iso(r.ended_at),
        endedBy: str(r.ended_by),
        endNode: str(r.end_node),
        endAction: str(r.end_action),
        context: r.context == null ? null : json(r.context),
      };
    },

    async getVisits(tenantId: number, callId: string) {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT * FROM ivr_journey_visits WHERE tenant_id = ? AND call_id = ? ORDER BY seq', [tenantId, callId]);
      return rows.map((r) => ({
        seq: Number(r.seq),
        flowId: String(r.flow_id),
        flowVersion: Number(r.flow_version),
        nodeId: String(r.node_id),
        nodeType: String(r.node_type),
        enteredAt: iso(r.entered_at),
        leftAt: iso(r.left_at),
        input: str(r.input),
        outcome: str(r.outcome),
        next: str(r.next_node),
      }));
    },

    /** Visits per node of one flow in [from, to): how many, how many callers hung up there, how long they stayed. */
    async nodeSummary(tenantId: number, q: { flowId: string; from: number; to: number; version?: number | undefined }) {
      const [rows] = await pool.query<RowDataPacket[]>(
        `SELECT node_id, node_type, COUNT(*) AS visits,
                SUM(outcome = 'caller_hangup') AS hangups,
                SUM(outcome = 'no_input') AS no_input,
                SUM(outcome = 'invalid') AS invalid,
                SUM(outcome = 'fallback') AS fallback,
                AVG(TIMESTAMPDIFF(MICROSECOND, entered_at, left_at)) / 1000 AS avg_ms
           FROM ivr_journey_visits
          WHERE tenant_id = ? AND flow_id = ? AND entered_at >= ? AND entered_at < ?${q.version === undefined ? '' : ' AND flow_version = ?'}
          GROUP BY node_id, node_type
          ORDER BY visits DESC, node_id`,
        [tenantId, q.flowId, new Date(q.from), new Date(q.to), ...(q.version === undefined ? [] : [q.version])],
      );
      return rows.map((r) => ({
        nodeId: String(r.node_id),
        nodeType: String(r.node_type),
        visits: Number(r.visits),
        hangups: Number(r.hangups ?? 0),
        noInput: Number(r.no_input ?? 0),
        invalid: Number(r.invalid ?? 0),
        fallback: Number(r.fallback ?? 0),
        avgMs: r.avg_ms == null ? null : Math.round(Number(r.avg_ms)),
      }));
    },

    /** Sessions of one flow started in [from, to), by how they ended. */
    async sessionSummary(tenantId: number, q: { flowId: string; from: number; to: number; version?: number | undefined }) {
      const [rows] = await pool.query<RowDataPacket[]>(
        `SELECT COALESCE(ended_by, 'in_progress') AS how, COALESCE(end_action, '') AS what, COUNT(*) AS n
           FROM ivr_sessions
          WHERE tenant_id = ? AND flow_id = ? AND started_at >= ? AND started_at < ?${q.version === undefined ? '' : ' AND flow_version = ?'}
          GROUP BY how, what`,
        [tenantId, q.flowId, new Date(q.from), new Date(q.to), ...(q.version === undefined ? [] : [q.version])],
      );
      return rows.map((r) => ({ endedBy: String(r.how), endAction: String(r.what), count: Number(r.n) }));
    },
  };
}

export type IvrStore = ReturnType<typeof createIvrStore>;
