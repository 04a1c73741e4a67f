import type { Redis } from '../../infra/redis.js';
import type { Pool, RowDataPacket } from '../../infra/mysql.js';

/** Where calls to a number go: a queue, or an IVR flow (its published version). */
export interface EntryPoint {
  entry: string;
  targetKind: 'queue' | 'ivr';
  targetId: string;
}

/** A call's own figures, added to its interaction's. */
export interface CallFigures {
  queueMs: number;
  talkMs: number;
  holdMs: number;
  transfers: number;
}

/**
 * `writes`: where a call's own records are written (voice_calls, call_legs, interactions,
 * callbacks, voicemails) — the batching writer in the server, so every live call's records go
 * in shared round trips; reads and the entry-point configuration use `pool`. Callers await
 * each write, so what they read back afterwards is there.
 */
export function createVoiceStore(pool: Pool, o: { writes?: Pool } = {}) {
  const writer = o.writes ?? pool;
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
    async callArrived(c: { tenantId: number; id: string; server: string; entry: string; callerNumber: string; queueId: string | null; at: number; interactionId: string; direction?: string }): Promise<void> {
      await writer.query('INSERT IGNORE INTO voice_calls (tenant_id, id, server, entry, caller_number, queue_id, arrived_at, interaction_id, direction) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', [
        c.tenantId, c.id, c.server, c.entry, c.callerNumber, c.queueId, new Date(c.at), c.interactionId, c.direction ?? 'inbound',
      ]);
    },
    async callQueued(tenantId: number, id: string, queueId: string, ivrContext: unknown, at: number): Promise<void> {
      await writer.query('UPDATE voice_calls SET queue_id = ?, ivr_context = ?, queued_at = COALESCE(queued_at, ?) WHERE tenant_id = ? AND id = ?', [
        queueId, ivrContext == null ? null : JSON.stringify(ivrContext), new Date(at), tenantId, id,
      ]);
    },
    /** The first time an agent's phone rang for this call. */
    async callRang(tenantId: number, id: string, at: number): Promise<void> {
      await writer.query('UPDATE voice_calls SET rang_at = COALESCE(rang_at, ?) WHERE tenant_id = ? AND id = ?', [new Date(at), tenantId, id]);
    },
    async callConnected(tenantId: number, id: string, agentId: string, recording: string | null, at: number): Promise<void> {
      await writer.query('UPDATE voice_calls SET agent_id = ?, recording = ?, answered_at = ? WHERE tenant_id = ? AND id = ?', [agentId, recording, new Date(at), tenantId, id]);
    },
    async callEnded(tenantId: number, id: string, outcome: string, at: number, f: CallFigures | undefined): Promise<void> {
      await writer.query(
        'UPDATE voice_calls SET outcome = COALESCE(outcome, ?), ended_at = COALESCE(ended_at, ?), queue_ms = ?, talk_ms = ?, hold_ms = ?, transfers = ? WHERE tenant_id = ? AND id = ?',
        [outcome, new Date(at), f?.queueMs ?? null, f?.talkMs ?? null, f?.holdMs ?? null, f?.transfers ?? 0, tenantId, id],
      );
    },
    async legStarted(tenantId: number, l: { callId: string; legId: string; kind: string; party: string | null; at: number; answered: boolean }): Promise<void> {
      await writer.query('INSERT IGNORE INTO call_legs (tenant_id, call_id, leg_id, kind, party, started_at, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
        tenantId, l.callId, l.legId, l.kind, l.party, new Date(l.at), l.answered ? new Date(l.at) : null,
      ]);
    },
    async legAnswered(tenantId: number, callId: string, legId: string, at: number): Promise<void> {
      await writer.query('UPDATE call_legs SET answered_at = COALESCE(answered_at, ?) WHERE tenant_id = ? AND call_id = ? AND leg_id = ?', [new Date(at), tenantId, callId, legId]);
    },
    async legEnded(tenantId: number, callId: string, legId: string, at: number, reason: string): Promise<void> {
      await writer.query('UPDATE call_legs SET ended_at = COALESCE(ended_at, ?), end_reason = COALESCE(end_reason, ?) WHERE tenant_id = ? AND call_id = ? AND leg_id = ?', [new Date(at), reason, tenantId, callId, legId]);
    },
    async legsOf(tenantId: number, callId: string): Promise<RowDataPacket[]> {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT * FROM call_legs WHERE tenant_id = ? AND call_id = ? ORDER BY started_at, leg_id', [tenantId, callId]);
      return rows;
    },
    async interactionStarted(tenantId: number, i: { id: string; channel: string; customerNumber: string; entry: string | null; at: number }): Promise<void> {
      await writer.query('INSERT IGNORE INTO interactions (tenant_id, id, channel, customer_number, entry, started_at) VALUES (?, ?, ?, ?, ?, ?)', [tenantId, i.id, i.channel, i.customerNumber || null, i.entry, new Date(i.at)]);
    },
    async interactionQueued(tenantId: number, id: string, queueId: string, context: unknown): Promise<void> {
      await writer.query('UPDATE interactions SET first_queue_id = COALESCE(first_queue_id, ?), last_queue_id = ?, context = COALESCE(?, context) WHERE tenant_id = ? AND id = ?', [
        queueId, queueId, context == null ? null : JSON.stringify(context), tenantId, id,
      ]);
    },
    async interactionAnswered(tenantId: number, id: string, agentId: string, at: number): Promise<void> {
      await writer.query('UPDATE interactions SET first_answered_at = COALESCE(first_answered_at, ?), last_agent_id = ? WHERE tenant_id = ? AND id = ?', [new Date(at), agentId, tenantId, id]);
    },
    /** A call of the interaction ended: its figures add up (an interaction may have several calls). */
    async interactionEnded(tenantId: number, id: string, f: CallFigures & { at: number; outcome: string; lastQueueId: string | null; lastAgentId: string | null }): Promise<void> {
      await writer.query(
        `UPDATE interactions SET ended_at = ?, outcome = ?, queue_ms = queue_ms + ?, talk_ms = talk_ms + ?, hold_ms = hold_ms + ?, transfers = transfers + ?,
           last_queue_id = COALESCE(?, last_queue_id), last_agent_id = COALESCE(?, last_agent_id) WHERE tenant_id = ? AND id = ?`,
        [new Date(f.at), f.outcome, Math.round(f.queueMs), Math.round(f.talkMs), Math.round(f.holdMs), f.transfers, f.lastQueueId, f.lastAgentId, tenantId, id],
      );
    },
    async interactionOutcome(tenantId: number, id: string, outcome: string, at: number): Promise<void> {
      await writer.query('UPDATE interactions SET outcome = ?, ended_at = COALESCE(ended_at, ?) WHERE tenant_id = ? AND id = ?', [outcome, new Date(at), tenantId, id]);
    },
    async setCallInteraction(tenantId: number, callId: string, interactionId: string): Promise<void> {
      await writer.query('UPDATE voice_calls SET interaction_id = ? WHERE tenant_id = ? AND id = ?', [interactionId, tenantId, callId]);
    },
    async getInteraction(tenantId: number, id: string): Promise<RowDataPacket | undefined> {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT * FROM interactions WHERE tenant_id = ? AND id = ?', [tenantId, id]);
      return rows[0];
    },
    async callsOfInteraction(tenantId: number, id: string): Promise<RowDataPacket[]> {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT id, direction, outcome, agent_id FROM voice_calls WHERE tenant_id = ? AND interaction_id = ? ORDER BY arrived_at', [tenantId, id]);
      return rows;
    },
    async callbackCreated(tenantId: number, c: { id: string; interactionId: string; originCallId: string | null; queueId: string; number: string; requestedAt: number; waitingSince: number; maxAttempts: number }): Promise<void> {
      await writer.query(
        `INSERT IGNORE INTO callbacks (tenant_id, id, interaction_id, origin_call_id, queue_id, number, requested_at, waiting_since, state, max_attempts)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'waiting', ?)`,
        [tenantId, c.id, c.interactionId, c.originCallId, c.queueId, c.number, new Date(c.requestedAt), new Date(c.waitingSince), c.maxAttempts],
      );
    },
    async callbackState(tenantId: number, id: string, f: { state: string; attempts?: number; nextAttemptAt?: number | null; lastResult?: string; agentId?: string; callId?: string; mergedCallId?: string; ended?: number }): Promise<void> {
      const cols: [string, unknown][] = [['state', f.state]];
      if (f.attempts !== undefined) cols.push(['attempts', f.attempts]);
      if (f.nextAttemptAt !== undefined) cols.push(['next_attempt_at', f.nextAttemptAt === null ? null : new Date(f.nextAttemptAt)]);
      if (f.lastResult !== undefined) cols.push(['last_result', f.lastResult]);
      if (f.agentId !== undefined) cols.push(['agent_id', f.agentId]);
      if (f.callId !== undefined) cols.push(['call_id', f.callId]);
      if (f.mergedCallId !== undefined) cols.push(['merged_call_id', f.mergedCallId]);
      if (f.ended !== undefined) cols.push(['ended_at', new Date(f.ended)]);
      const sets = cols.map(([c]) => `${c} = ?`);
      const args = cols.map(([, v]) => v);
      await writer.query(`UPDATE callbacks SET ${sets.join(', ')} WHERE tenant_id = ? AND id = ?`, [...args, tenantId, id]);
    },
    async callbackAttempt(tenantId: number, a: { callbackId: string; attempt: number; agentId: string | null; at: number; result?: string }): Promise<void> {
      if (a.result === undefined) {
        await writer.query('INSERT IGNORE INTO callback_attempts (tenant_id, callback_id, attempt, agent_id, started_at) VALUES (?, ?, ?, ?, ?)', [tenantId, a.callbackId, a.attempt, a.agentId, new Date(a.at)]);
      } else {
        await writer.query('UPDATE callback_attempts SET ended_at = ?, result = ? WHERE tenant_id = ? AND callback_id = ? AND attempt = ?', [new Date(a.at), a.result, tenantId, a.callbackId, a.attempt]);
      }
    },
    async getCallback(tenantId: number, id: string): Promise<{ row: RowDataPacket; attempts: RowDataPacket[] } | undefined> {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT * FROM callbacks WHERE tenant_id = ? AND id = ?', [tenantId, id]);
      if (!rows[0]) return undefined;
      const [attempts] = await pool.query<RowDataPacket[]>('SELECT * FROM callback_attempts WHERE tenant_id = ? AND callback_id = ? ORDER BY attempt', [tenantId, id]);
      return { row: rows[0], attempts };
    },
    async listCallbacks(tenantId: number, state: string | undefined, limit: number): Promise<RowDataPacket[]> {
      const [rows] = await pool.query<RowDataPacket[]>(
        `SELECT * FROM callbacks WHERE tenant_id = ?${state ? ' AND state = ?' : ''} ORDER BY requested_at DESC LIMIT ?`,
        state ? [tenantId, state, limit] : [tenantId, limit],
      );
      return rows;
    },
    async voicemailSaved(tenantId: number, v: { id: string; interactionId: string; callId: string; mailbox: string; callerNumber: string; server: string; recording: string; durationMs: number | null; at: number; context: unknown }): Promise<void> {
      await writer.query(
        `INSERT IGNORE INTO voicemails (tenant_id, id, interaction_id, call_id, mailbox, caller_number, server, recording, duration_ms, created_at, context) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [tenantId, v.id, v.interactionId, v.callId, v.mailbox, v.callerNumber || null, v.server, v.recording, v.durationMs, new Date(v.at), v.context == null ? null : JSON.stringify(v.context)],
      );
    },
    async listVoicemails(tenantId: number, mailbox: string | undefined, limit: number): Promise<RowDataPacket[]> {
      const [rows] = await pool.query<RowDataPacket[]>(
        `SELECT * FROM voicemails WHERE tenant_id = ?${mailbox ? ' AND mailbox = ?' : ''} ORDER BY created_at DESC LIMIT ?`,
        mailbox ? [tenantId, mailbox, limit] : [tenantId, limit],
      );
      return rows;
    },
    async getVoicemail(tenantId: number, id: string): Promise<RowDataPacket | undefined> {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT * FROM voicemails WHERE tenant_id = ? AND id = ?', [tenantId, id]);
      return rows[0];
    },
    async getCall(tenantId: number, id: string): Promise<Record<string, unknown> | undefined> {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT * FROM voice_calls WHERE tenant_id = ? AND id = ?', [tenantId, id]);
      return rows[0];
    },
  };
}

export type VoiceStore = ReturnType<typeof createVoiceStore>;

/** Where a transfer or consultation goes. */
export type TransferTarget = { kind: 'agent'; agentId: string } | { kind: 'queue'; queueId: string } | { kind: 'number'; number: string };

/** A further party on a call: a conference member or the outside number a call was transferred to. */
export interface PartyLeg {
  legId: string;
  agentId?: string;
  taskId?: string;
  number?: string;
}

/** A call the voice service holds, as kept in Redis (plain JSON) so a restarted process can take it over. */
export interface LiveCallRecord {
  server: string;
  /** The customer's channel id. */
  callId: string;
  interactionId: string;
  direction: 'inbound' | 'callback';
  entry: string;
  callerNumber: string;
  callerName: string;
  /** Set once the call is in a queue. */
  queueId: string;
  arrivedAt: number;
  /** While in a queue: when this visit started. */
  queuedAt?: number | undefined;
  /** `scheduled`: a callback between two attempts (no task in the ACD, no channel). */
  state: 'ivr' | 'queued' | 'connected' | 'scheduled' | 'ended';
  /** When the customer started waiting (a transfer back or a callback keeps it); default arrivedAt. */
  waitingSince?: number;
  priority?: number;
  /** A callback: the customer is called when the turn comes; its channel is `customerLeg`. */
  callback?: { id: string; number: string; attempts: number; maxAttempts: number; requestedAt: number; dialLeg?: string | undefined };
  /** The customer behind the caller (its id is the thread id) and what came before. */
  customer?: { id: string; name: string | null; known: boolean; interactions: number; lastInteractionAt: string | null };
  /** The customer's channel when it is not `callId` (a callback dialled out). */
  customerLeg?: string | undefined;
  /** The ACD task of the call's current queue visit (a transfer to a queue is a new task). */
  taskId: string;
  taskSeq: number;
  /** What the IVR collected (inputs, data dips, path), shown to the agent with the offer. */
  ivr?: unknown;
  recording?: string | undefined;
  /** Ringing agent legs by offer id. */
  legs: Record<string, string>;
  agentId?: string | undefined;
  agentOfferId?: string | undefined;
  agentLeg?: string | undefined;
  /** The task the connected agent holds (released when the agent leaves). */
  agentTaskId?: string | undefined;
  bridgeId?: string | undefined;
  /** While connected: when this stretch started. */
  connectedAt?: number | undefined;
  holdSince?: number | undefined;
  muted?: boolean | undefined;
  /** Conference members and outside parties. */
  others: PartyLeg[];
  consult?: { target: TransferTarget; taskId?: string; legId?: string | undefined; agentId?: string; answered: boolean } | undefined;
  consultSeq?: number;
  /** A blind transfer to an outside number that has not answered yet. */
  pendingExternal?: { number: string; legId: string } | undefined;
  legSeq: number;
  /**
   * The offer whose answered phone is already joined with the caller in the call's bridge while
   * the router has yet to assign the call (the join is made on the answer, not after the
   * router's round trip); undone if the router gives the call to someone else.
   */
  joinedOffer?: string | undefined;
  /** Answers that could not be joined to the caller (the phone dropped, the media server refused). */
  connectFailures?: number;
  queueMs: number;
  talkGrossMs: number;
  holdMs: number;
  transfers: number;
}

/**
 * Live calls in Redis: one JSON value per call and a set of the tenant's live call ids. The
 * voice service writes through on every change, so after a restart (or a kill) the process
 * reads them back and reconciles them with what the media server still holds.
 */
export function createLiveCallStore(redis: Redis, tenantId: number) {
  const callKey = (id: string) => `voice:t${tenantId}:call:${id}`;
  const setKey = `voice:t${tenantId}:calls`;
  // Calls this process has put in the set (or read from it): a call is saved at every change,
  // so after its first save a save is the value alone — one command, not a transaction of four.
  const listed = new Set<string>();
  return {
    async save(call: LiveCallRecord): Promise<void> {
      if (listed.has(call.callId)) {
        await redis.set(callKey(call.callId), JSON.stringify(call));
        return;
      }
      // Listed before the reply: a save queued behind this one on the connection comes after it.
      listed.add(call.callId);
      try {
        await redis.multi().set(callKey(call.callId), JSON.stringify(call)).sadd(setKey, call.callId).exec();
      } catch (e) {
        listed.delete(call.callId);
        throw e;
      }
    },
    async remove(callId: string): Promise<void> {
      listed.delete(callId);
      await redis.multi().del(callKey(callId)).srem(setKey, callId).exec();
    },
    async loadAll(): Promise<LiveCallRecord[]> {
      const ids = await redis.smembers(setKey);
      if (ids.length === 0) return [];
      const values = await redis.mget(ids.map(callKey));
      const out: LiveCallRecord[] = [];
      const gone: string[] = [];
      values.forEach((v, i) => {
        if (v) {
          out.push(JSON.parse(v) as LiveCallRecord);
          listed.add(ids[i] as string);
        } else gone.push(ids[i] as string);
      });
      if (gone.length) await redis.srem(setKey, ...gone);
      return out;
    },
  };
}

export type LiveCallStore = ReturnType<typeof createLiveCallStore>;
