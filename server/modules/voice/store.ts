import type { Redis } from '../../infra/redis.js';
import type { Pool, RowDataPacket } from '../../infra/mysql.js';

/** Where calls to a number go: a queue, or an IVR flow (its published version). */
export interface EntryPoint {
  entry: string;
  targetKind: 'queue' | 'ivr';
  targetId: string;
}

export function createVoiceStore(pool: Pool) {
  return {
    async putEntry(tenantId: number, e: EntryPoint): Promise<void> {
      await pool.query(
        'INSERT INTO entry_points (tenant_id, entry, target_kind, target_id) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE target_kind = VALUES(target_kind), target_id = VALUES(target_id)',
        [tenantId, e.entry, e.targetKind, e.targetId],
      );
    },
    async getEntry(tenantId: number, entry: string): Promise<EntryPoint | undefined> {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT entry, target_kind, target_id FROM entry_points WHERE tenant_id = ? AND entry = ?', [tenantId, entry]);
      const r = rows[0];
      return r && { entry: String(r.entry), targetKind: r.target_kind as EntryPoint['targetKind'], targetId: String(r.target_id) };
    },
    async listEntries(tenantId: number): Promise<EntryPoint[]> {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT entry, target_kind, target_id FROM entry_points WHERE tenant_id = ? ORDER BY entry', [tenantId]);
      return rows.map((r) => ({ entry: String(r.entry), targetKind: r.target_kind as EntryPoint['targetKind'], targetId: String(r.target_id) }));
    },
    async deleteEntry(tenantId: number, entry: string): Promise<boolean> {
      const [res] = (await pool.query('DELETE FROM entry_points WHERE tenant_id = ? AND entry = ?', [tenantId, entry])) as unknown as [{ affectedRows: number }];
      return res.affectedRows > 0;
    },
    async callArrived(c: { tenantId: number; id: string; server: string; entry: string; callerNumber: string; queueId: string | null; at: number }): Promise<void> {
      await pool.query('INSERT IGNORE INTO voice_calls (tenant_id, id, server, entry, caller_number, queue_id, arrived_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
        c.tenantId, c.id, c.server, c.entry, c.callerNumber, c.queueId, new Date(c.at),
      ]);
    },
    async callQueued(tenantId: number, id: string, queueId: string, ivrContext: unknown, at: number): Promise<void> {
      await pool.query('UPDATE voice_calls SET queue_id = ?, ivr_context = ?, queued_at = COALESCE(queued_at, ?) WHERE tenant_id = ? AND id = ?', [
        queueId, ivrContext == null ? null : JSON.stringify(ivrContext), new Date(at), tenantId, id,
      ]);
    },
    /** The first time an agent's phone rang for this call. */
    async callRang(tenantId: number, id: string, at: number): Promise<void> {
      await pool.query('UPDATE voice_calls SET rang_at = COALESCE(rang_at, ?) WHERE tenant_id = ? AND id = ?', [new Date(at), tenantId, id]);
    },
    async callConnected(tenantId: number, id: string, agentId: string, recording: string | null, at: number): Promise<void> {
      await pool.query('UPDATE voice_calls SET agent_id = ?, recording = ?, answered_at = ? WHERE tenant_id = ? AND id = ?', [agentId, recording, new Date(at), tenantId, id]);
    },
    async callEnded(tenantId: number, id: string, outcome: string, at: number): Promise<void> {
      await pool.query('UPDATE voice_calls SET outcome = COALESCE(outcome, ?), ended_at = COALESCE(ended_at, ?) WHERE tenant_id = ? AND id = ?', [outcome, new Date(at), tenantId, id]);
    },
    async getCall(tenantId: number, id: string): Promise<Record<string, unknown> | undefined> {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT * FROM voice_calls WHERE tenant_id = ? AND id = ?', [tenantId, id]);
      return rows[0];
    },
  };
}

export type VoiceStore = ReturnType<typeof createVoiceStore>;

/** A call the voice service holds, as kept in Redis (plain JSON) so a restarted process can take it over. */
export interface LiveCallRecord {
  server: string;
  callId: string;
  entry: string;
  callerNumber: string;
  callerName: string;
  /** Set once the call is in a queue. */
  queueId: string;
  arrivedAt: number;
  queuedAt?: number;
  state: 'ivr' | 'queued' | 'connected' | 'ended';
  /** What the IVR collected (inputs, data dips, path), shown to the agent with the offer. */
  ivr?: unknown;
  recording?: string;
  /** Ringing agent legs by offer id. */
  legs: Record<string, string>;
  agentId?: string;
  agentOfferId?: string;
  agentLeg?: string;
  bridgeId?: string;
  connectedAt?: number;
}

/**
 * Live calls in Redis: one JSON value per call and a set of the tenant's live call ids. The
 * voice service writes through on every change, so after a restart (or a kill) the process
 * reads them back and reconciles them with what the media server still holds.
 */
export function createLiveCallStore(redis: Redis, tenantId: number) {
  const callKey = (id: string) => `voice:t${tenantId}:call:${id}`;
  const setKey = `voice:t${tenantId}:calls`;
  return {
    async save(call: LiveCallRecord): Promise<void> {
      await redis.multi().set(callKey(call.callId), JSON.stringify(call)).sadd(setKey, call.callId).exec();
    },
    async remove(callId: string): Promise<void> {
      await redis.multi().del(callKey(callId)).srem(setKey, callId).exec();
    },
    async loadAll(): Promise<LiveCallRecord[]> {
      const ids = await redis.smembers(setKey);
      if (ids.length === 0) return [];
      const values = await redis.mget(ids.map(callKey));
      const out: LiveCallRecord[] = [];
      const gone: string[] = [];
      values.forEach((v, i) => {
        if (v) out.push(JSON.parse(v) as LiveCallRecord);
        else gone.push(ids[i] as string);
      });
      if (gone.length) await redis.srem(setKey, ...gone);
      return out;
    },
  };
}

export type LiveCallStore = ReturnType<typeof createLiveCallStore>;
