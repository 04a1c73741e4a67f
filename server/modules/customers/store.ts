import { suggestionPair, type CustomerState, type IdentityChannel, type MergeState, type SuggestionReason, type ThreadCursor } from '../../domain/customer.js';
import type { AppError } from '../../domain/errors.js';
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from '../../infra/mysql.js';
import { isDuplicateKey, withScript, withTx } from '../../infra/mysql.js';

/** A stored identity. Times are ISO 8601. */
export interface IdentityRecord {
  id: string;
  customerId: string;
  channel: IdentityChannel;
  address: string;
  verified: boolean;
  verifiedAt: string | null;
  firstSeenAt: string;
  lastSeenAt: string;
}

/** A customer with its identities and the size of its thread, read in one query. */
export interface CustomerRecord {
  id: string;
  displayName: string | null;
  createdAt: string;
  updatedAt: string;
  mergedInto: string | null;
  identities: IdentityRecord[];
  interactionsCount: number;
  lastInteractionAt: string | null;
}

/** A stored identity matching an address, with the whole record of the customer holding it. */
export interface AddressMatch {
  identityId: string;
  channel: IdentityChannel;
  verified: boolean;
  customer: CustomerRecord;
}

export interface MergeRecord {
  id: string;
  survivorId: string;
  mergedId: string;
  reason: string;
  actor: string;
  mergedAt: string;
  undoneAt: string | null;
  undoneBy: string | null;
  undoReason: string | null;
  movedIdentities: number;
  movedInteractions: number;
}

export interface SuggestionRecord {
  id: string;
  customerIds: [string, string];
  reason: SuggestionReason;
  channel: IdentityChannel;
  address: string;
  status: 'open' | 'merged' | 'dismissed';
  mergeId: string | null;
  seen: number;
  createdAt: string;
  lastSeenAt: string;
}

/** One interaction of a thread: the link's own facts and, where the interaction's record exists, its figures. */
export interface ThreadEntry {
  interactionId: string;
  channel: string;
  /** Epoch ms: the thread's order. */
  startedAt: number;
  answeredAt: string | null;
  endedAt: string | null;
  firstQueueId: string | null;
  lastQueueId: string | null;
  agentId: string | null;
  outcome: string | null;
  queueMs: number | null;
  talkMs: number | null;
  holdMs: number | null;
  transfers: number | null;
}

const iso = (d: unknown): string => (d instanceof Date ? d.toISOString() : String(d));
const isoOrNull = (d: unknown): string | null => (d == null ? null : iso(d));
/** DATETIME values inside JSON_OBJECT come as 'YYYY-MM-DD HH:MM:SS.mmm' in UTC (the pool's time zone). */
const jsonTime = (v: unknown): string | null => (v == null ? null : new Date(`${String(v).replace(' ', 'T')}Z`).toISOString());
const id = (v: unknown): string => String(v);
const num = (v: unknown): number | null => (v == null ? null : Number(v));

/** The longest merge chain followed (B merged into A merged into Z ...); far more than people make. */
const MAX_CHAIN = 64;

/**
 * Columns of a customer's record in one row: its identities as a JSON array and its thread's
 * size and latest start, each from an index range on the customer (`c` is the customers row).
 */
const RECORD_COLUMNS = `c.id AS c_id, c.display_name, c.created_at, c.updated_at, c.merged_into,
  (SELECT COUNT(*) FROM interaction_customers ic WHERE ic.tenant_id = c.tenant_id AND ic.customer_id = c.id) AS interactions_count,
  (SELECT MAX(ic.started_at) FROM interaction_customers ic WHERE ic.tenant_id = c.tenant_id AND ic.customer_id = c.id) AS last_interaction_at,
  (SELECT JSON_ARRAYAGG(JSON_OBJECT('id', x.id, 'channel', x.channel, 'address', x.address, 'verified', x.verified, 'verifiedAt', x.verified_at,
     'firstSeenAt', x.first_seen_at, 'lastSeenAt', x.last_seen_at) ORDER BY x.id)
   FROM customer_identities x WHERE x.tenant_id = c.tenant_id AND x.customer_id = c.id) AS identities`;

function recordOf(r: RowDataPacket): CustomerRecord {
  const raw = r.identities == null ? [] : ((typeof r.identities === 'string' ? JSON.parse(r.identities) : r.identities) as Record<string, unknown>[]);
  return {
    id: id(r.c_id),
    displayName: r.display_name == null ? null : String(r.display_name),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    mergedInto: r.merged_into == null ? null : id(r.merged_into),
    identities: raw.map((x) => ({
      id: id(x.id),
      customerId: id(r.c_id),
      channel: x.channel as IdentityChannel,
      address: String(x.address),
      verified: Number(x.verified) === 1 || x.verified === true,
      verifiedAt: jsonTime(x.verifiedAt),
      firstSeenAt: jsonTime(x.firstSeenAt) as string,
      lastSeenAt: jsonTime(x.lastSeenAt) as string,
    })),
    interactionsCount: Number(r.interactions_count ?? 0),
    lastInteractionAt: isoOrNull(r.last_interaction_at),
  };
}

function mergeOf(r: RowDataPacket): MergeRecord {
  return {
    id: id(r.id),
    survivorId: id(r.survivor_id),
    mergedId: id(r.merged_id),
    reason: String(r.reason),
    actor: String(r.actor),
    mergedAt: iso(r.merged_at),
    undoneAt: isoOrNull(r.undone_at),
    undoneBy: r.undone_by == null ? null : String(r.undone_by),
    undoReason: r.undo_reason == null ? null : String(r.undo_reason),
    movedIdentities: Number(r.moved_identities ?? 0),
    movedInteractions: Number(r.moved_interactions ?? 0),
  };
}

const MERGE_COLUMNS = `m.*,
  (SELECT COUNT(*) FROM customer_merge_moves mv WHERE mv.tenant_id = m.tenant_id AND mv.merge_id = m.id AND mv.kind = 'identity') AS moved_identities,
  (SELECT COUNT(*) FROM customer_merge_moves mv WHERE mv.tenant_id = m.tenant_id AND mv.merge_id = m.id AND mv.kind = 'interaction') AS moved_interactions`;

function suggestionOf(r: RowDataPacket): SuggestionRecord {
  return {
    id: id(r.id),
    customerIds: [id(r.customer_lo), id(r.customer_hi)],
    reason: r.reason as SuggestionReason,
    channel: r.channel as IdentityChannel,
    address: String(r.address),
    status: r.status as SuggestionRecord['status'],
    mergeId: r.merge_id == null ? null : id(r.merge_id),
    seen: Number(r.seen),
    createdAt: iso(r.created_at),
    lastSeenAt: iso(r.last_seen_at),
  };
}

/**
 * Follows a customer's merges to the customer that holds its rows now, locking each row on
 * the way (shared, or exclusive for a merge), so a merge cannot move rows from under a write
 * that is about to add to them. Undefined when the customer does not exist.
 */
async function lockLive(conn: PoolConnection, tenantId: number, customerId: string, lock: 'LOCK IN SHARE MODE' | 'FOR UPDATE'): Promise<CustomerState | undefined> {
  let current = customerId;
  for (let i = 0; i < MAX_CHAIN; i++) {
    const [rows] = await conn.query<RowDataPacket[]>(`SELECT id, merged_into FROM customers WHERE tenant_id = ? AND id = ? ${lock}`, [tenantId, current]);
    const r = rows[0];
    if (!r) return undefined;
    if (r.merged_into == null) return { id: id(r.id), mergedInto: null };
    current = id(r.merged_into);
  }
  throw new Error(`customer ${customerId}: merge chain longer than ${MAX_CHAIN}`);
}

/** Thrown by {@link CustomerStore} writes that lost a race on an identity's unique key. */
export class IdentityTakenRace extends Error {
  constructor() {
    super('identity inserted concurrently');
    this.name = 'IdentityTakenRace';
  }
}

/**
 * SQL of customers, identities, interaction links, merges and suggestions. Invariant kept by
 * every write: identities and interaction links belong to customers that are not merged (a merge
 * moves them to the survivor under row locks, and writes that add them lock the customer).
 * Writes lock customers in id order, but a link following a merge chain locks the merged
 * customer before its survivor, which can cross an undo: a deadlock victim is run again
 * (`withTx`, `withScript`).
 *
 * `scripts`: connections that take several statements per query. The two writes every first
 * call makes (a new customer with its identity, the call's link into the thread) go there as
 * one round trip each instead of four and five.
 */
export function createCustomerStore(pool: Pool, scripts: Pool) {
  return {
    /** Identities with this address in these channels, each with its customer's whole record (one query). */
    async matchesOf(tenantId: number, channels: readonly IdentityChannel[], address: string): Promise<AddressMatch[]> {
      const [rows] = await pool.query<RowDataPacket[]>(
        `SELECT i.id AS identity_id, i.channel AS identity_channel, i.verified AS identity_verified, ${RECORD_COLUMNS}
         FROM customer_identities i JOIN customers c ON c.id = i.customer_id
         WHERE i.tenant_id = ? AND i.channel IN (?) AND i.address = ? ORDER BY i.id`,
        [tenantId, channels, address],
      );
      return rows.map((r) => ({ identityId: id(r.identity_id), channel: r.identity_channel as IdentityChannel, verified: Number(r.identity_verified) === 1, customer: recordOf(r) }));
    },

    async get(tenantId: number, customerId: string): Promise<CustomerRecord | undefined> {
      const [rows] = await pool.query<RowDataPacket[]>(`SELECT ${RECORD_COLUMNS} FROM customers c WHERE c.tenant_id = ? AND c.id = ?`, [tenantId, customerId]);
      return rows[0] && recordOf(rows[0]);
    },

    /** The customer that holds `customerId`'s rows now (itself unless merged), without locking. */
    async liveId(tenantId: number, customerId: string): Promise<string | undefined> {
      let current = customerId;
      for (let i = 0; i < MAX_CHAIN; i++) {
        const [rows] = await pool.query<RowDataPacket[]>('SELECT merged_into FROM customers WHERE tenant_id = ? AND id = ?', [tenantId, current]);
        if (!rows[0]) return undefined;
        if (rows[0].merged_into == null) return current;
        current = id(rows[0].merged_into);
      }
      throw new Error(`customer ${customerId}: merge chain longer than ${MAX_CHAIN}`);
    },

    /**
     * A new customer with its first identity, in one transaction. A concurrent first contact from
     * the same address makes this throw {@link IdentityTakenRace} (the unique key): the caller looks
     * again and finds the other's customer, so there is one customer, not two.
     */
    async createWithIdentity(tenantId: number, c: { displayName: string | null; channel: IdentityChannel; address: string; verified: boolean; at: number }): Promise<{ customerId: string; identityId: string }> {
      const at = new Date(c.at);
      try {
        const [cust, ident] = (await withScript(
          scripts,
          [
            'INSERT INTO customers (tenant_id, display_name, created_at, updated_at) VALUES (?, ?, ?, ?)',
            'INSERT INTO customer_identities (tenant_id, customer_id, channel, address, verified, verified_at, first_seen_at, last_seen_at) VALUES (?, LAST_INSERT_ID(), ?, ?, ?, ?, ?, ?)',
          ],
          [tenantId, c.displayName, at, at, tenantId, c.channel, c.address, c.verified ? 1 : 0, c.verified ? at : null, at, at],
        )) as [ResultSetHeader, ResultSetHeader];
        return { customerId: id(cust.insertId), identityId: id(ident.insertId) };
      } catch (e) {
        if (isDuplicateKey(e)) throw new IdentityTakenRace();
        throw e;
      }
    },

    /**
     * Adds an identity to a customer (to the survivor if it was merged meanwhile: the id it went
     * to is returned). Throws {@link IdentityTakenRace} if the address was taken concurrently;
     * undefined when the customer does not exist.
     */
    async attachIdentity(tenantId: number, customerId: string, c: { channel: IdentityChannel; address: string; verified: boolean; at: number }): Promise<{ customerId: string; identityId: string } | undefined> {
      const at = new Date(c.at);
      try {
        return await withTx(pool, async (conn) => {
          const live = await lockLive(conn, tenantId, customerId, 'LOCK IN SHARE MODE');
          if (!live) return undefined;
          const [ident] = await conn.query<ResultSetHeader>(
            'INSERT INTO customer_identities (tenant_id, customer_id, channel, address, verified, verified_at, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
            [tenantId, live.id, c.channel, c.address, c.verified ? 1 : 0, c.verified ? at : null, at, at],
          );
          await conn.query('UPDATE customers SET updated_at = GREATEST(updated_at, ?) WHERE tenant_id = ? AND id = ?', [at, tenantId, live.id]);
          return { customerId: live.id, identityId: id(ident.insertId) };
        });
      } catch (e) {
        if (isDuplicateKey(e)) throw new IdentityTakenRace();
        throw e;
      }
    },

    /** Marks an identity seen at `at` (never moving back in time), and verified if asked. */
    async touchIdentity(tenantId: number, identityId: string, at: number, verify: boolean): Promise<void> {
      const d = new Date(at);
      await pool.query(
        `UPDATE customer_identities SET last_seen_at = GREATEST(last_seen_at, ?),
           verified_at = IF(? AND verified = 0, ?, verified_at), verified = verified OR ? WHERE tenant_id = ? AND id = ?`,
        [d, verify, d, verify, tenantId, identityId],
      );
    },

    /** Marks an identity verified (a person or an integration vouched for it). */
    async verifyIdentity(tenantId: number, identityId: string, at: number): Promise<void> {
      await pool.query('UPDATE customer_identities SET verified = 1, verified_at = COALESCE(verified_at, ?) WHERE tenant_id = ? AND id = ?', [new Date(at), tenantId, identityId]);
    },

    /** Who holds this address in this channel. */
    async holderOf(tenantId: number, channel: IdentityChannel, address: string): Promise<{ identityId: string; customerId: string; verified: boolean } | undefined> {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT id, customer_id, verified FROM customer_identities WHERE tenant_id = ? AND channel = ? AND address = ?', [tenantId, channel, address]);
      const r = rows[0];
      return r && { identityId: id(r.id), customerId: id(r.customer_id), verified: Number(r.verified) === 1 };
    },

    async rename(tenantId: number, customerId: string, displayName: string | null, at: number): Promise<boolean> {
      const [res] = await pool.query<ResultSetHeader>('UPDATE customers SET display_name = ?, updated_at = ? WHERE tenant_id = ? AND id = ?', [displayName, new Date(at), tenantId, customerId]);
      return res.affectedRows > 0;
    },

    /**
     * Links an interaction to a customer (its survivor if merged meanwhile: `liveId`). Idempotent:
     * linking again changes nothing. Returns the customer the interaction belongs to and whether
     * this call made the link; undefined when the customer does not exist.
     */
    async link(tenantId: number, l: { customerId: string; interactionId: string; channel: string; startedAt: number; at: number }): Promise<{ customerId: string; liveId: string; linked: boolean } | undefined> {
      // The usual case, a customer that was not merged, in one round trip: the customer's row
      // locked, the link made only while it is not merged, its time moved only if this made the
      // link, and who holds the interaction read back. A merged (or missing) customer changes
      // nothing there and takes the path that follows the merge chain.
      const startedAt = new Date(l.startedAt);
      const at = new Date(l.at);
      const [lockRows, inserted, , , holderRows] = (await withScript(
        scripts,
        [
          'SELECT id, merged_into FROM customers WHERE tenant_id = ? AND id = ? LOCK IN SHARE MODE',
          `INSERT IGNORE INTO interaction_customers (tenant_id, interaction_id, customer_id, channel, started_at, linked_at)
             SELECT c.tenant_id, ?, c.id, ?, ?, ? FROM customers c WHERE c.tenant_id = ? AND c.id = ? AND c.merged_into IS NULL`,
          'SET @ipcc_linked = ROW_COUNT()',
          'UPDATE customers SET updated_at = GREATEST(updated_at, ?) WHERE tenant_id = ? AND id = ? AND merged_into IS NULL AND @ipcc_linked = 1',
          'SELECT customer_id FROM interaction_customers WHERE tenant_id = ? AND interaction_id = ?',
        ],
        [tenantId, l.customerId, l.interactionId, l.channel, startedAt, at, tenantId, l.customerId, at, tenantId, l.customerId, tenantId, l.interactionId],
      )) as [RowDataPacket[], ResultSetHeader, unknown, unknown, RowDataPacket[]];
      const row = lockRows[0];
      if (!row) return undefined;
      if (row.merged_into == null) {
        const liveId = id(row.id);
        if (inserted.affectedRows === 1) return { customerId: liveId, liveId, linked: true };
        return { customerId: id(holderRows[0]?.customer_id), liveId, linked: false };
      }
      return withTx(pool, async (conn) => {
        const live = await lockLive(conn, tenantId, l.customerId, 'LOCK IN SHARE MODE');
        if (!live) return undefined;
        const [res] = await conn.query<ResultSetHeader>(
          'INSERT IGNORE INTO interaction_customers (tenant_id, interaction_id, customer_id, channel, started_at, linked_at) VALUES (?, ?, ?, ?, ?, ?)',
          [tenantId, l.interactionId, live.id, l.channel, new Date(l.startedAt), new Date(l.at)],
        );
        if (res.affectedRows === 1) {
          await conn.query('UPDATE customers SET updated_at = GREATEST(updated_at, ?) WHERE tenant_id = ? AND id = ?', [new Date(l.at), tenantId, live.id]);
          return { customerId: live.id, liveId: live.id, linked: true };
        }
        const [rows] = await conn.query<RowDataPacket[]>('SELECT customer_id FROM interaction_customers WHERE tenant_id = ? AND interaction_id = ?', [tenantId, l.interactionId]);
        return { customerId: id(rows[0]?.customer_id), liveId: live.id, linked: false };
      });
    },

    /** Records (or counts again) a suggestion that two customers are one person. */
    async suggest(tenantId: number, s: { pair: [string, string]; reason: SuggestionReason; channel: IdentityChannel; address: string; at: number }): Promise<{ id: string; created: boolean; status: string }> {
      const at = new Date(s.at);
      // LAST_INSERT_ID(id) makes insertId the existing row's id when the pair is already known.
      const [res] = await pool.query<ResultSetHeader>(
        `INSERT INTO customer_merge_suggestions (tenant_id, customer_lo, customer_hi, reason, channel, address, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id), seen = seen + 1, last_seen_at = GREATEST(last_seen_at, VALUES(last_seen_at))`,
        [tenantId, s.pair[0], s.pair[1], s.reason, s.channel, s.address, at, at],
      );
      const [rows] = await pool.query<RowDataPacket[]>('SELECT status FROM customer_merge_suggestions WHERE tenant_id = ? AND id = ?', [tenantId, res.insertId]);
      return { id: id(res.insertId), created: res.affectedRows === 1, status: String(rows[0]?.status ?? 'open') };
    },

    async openSuggestionsOf(tenantId: number, customerId: string): Promise<SuggestionRecord[]> {
      const [rows] = await pool.query<RowDataPacket[]>(
        `SELECT * FROM customer_merge_suggestions WHERE tenant_id = ? AND status = 'open' AND (customer_lo = ? OR customer_hi = ?) ORDER BY last_seen_at DESC, id DESC LIMIT 100`,
        [tenantId, customerId, customerId],
      );
      return rows.map(suggestionOf);
    },

    async dismissSuggestion(tenantId: number, suggestionId: string): Promise<boolean> {
      const [res] = await pool.query<ResultSetHeader>("UPDATE customer_merge_suggestions SET status = 'dismissed' WHERE tenant_id = ? AND id = ? AND status = 'open'", [tenantId, suggestionId]);
      return res.affectedRows > 0;
    },

    /**
     * Merges `mergedId` into `survivorId` in one transaction: both rows locked (in id order, so
     * two merges never deadlock each other), `check` run on what is locked, then every identity
     * and interaction link of the merged customer moved to the survivor and each move written
     * down for the undo. Undefined when either customer does not exist (`missing` says which).
     */
    async merge(
      tenantId: number,
      m: { survivorId: string; mergedId: string; reason: string; actor: string; requestId: string | undefined; at: number },
      check: (survivor: CustomerState, merged: CustomerState) => AppError | undefined,
    ): Promise<{ merge: MergeRecord } | { missing: string }> {
      const at = new Date(m.at);
      return withTx(pool, async (conn) => {
        const [rows] = await conn.query<RowDataPacket[]>('SELECT id, merged_into FROM customers WHERE tenant_id = ? AND id IN (?, ?) ORDER BY id FOR UPDATE', [tenantId, m.survivorId, m.mergedId]);
        const state = (cid: string): CustomerState | undefined => {
          const r = rows.find((x) => id(x.id) === cid);
          return r && { id: cid, mergedInto: r.merged_into == null ? null : id(r.merged_into) };
        };
        const survivor = state(m.survivorId);
        if (!survivor) return { missing: m.survivorId };
        const merged = state(m.mergedId);
        if (!merged) return { missing: m.mergedId };
        const refused = check(survivor, merged);
        if (refused) throw refused;
        const [ins] = await conn.query<ResultSetHeader>(
          'INSERT INTO customer_merges (tenant_id, survivor_id, merged_id, reason, actor, request_id, merged_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
          [tenantId, m.survivorId, m.mergedId, m.reason, m.actor, m.requestId ?? null, at],
        );
        const mergeId = ins.insertId;
        await conn.query(
          "INSERT INTO customer_merge_moves (tenant_id, merge_id, kind, ref) SELECT tenant_id, ?, 'identity', id FROM customer_identities WHERE tenant_id = ? AND customer_id = ?",
          [mergeId, tenantId, m.mergedId],
        );
        await conn.query('UPDATE customer_identities SET customer_id = ? WHERE tenant_id = ? AND customer_id = ?', [m.survivorId, tenantId, m.mergedId]);
        await conn.query(
          "INSERT INTO customer_merge_moves (tenant_id, merge_id, kind, ref) SELECT tenant_id, ?, 'interaction', interaction_id FROM interaction_customers WHERE tenant_id = ? AND customer_id = ?",
          [mergeId, tenantId, m.mergedId],
        );
        await conn.query('UPDATE interaction_customers SET customer_id = ? WHERE tenant_id = ? AND customer_id = ?', [m.survivorId, tenantId, m.mergedId]);
        await conn.query('UPDATE customers SET merged_into = ?, updated_at = ? WHERE tenant_id = ? AND id = ?', [m.survivorId, at, tenantId, m.mergedId]);
        await conn.query('UPDATE customers SET updated_at = ? WHERE tenant_id = ? AND id = ?', [at, tenantId, m.survivorId]);
        const [lo, hi] = suggestionPair(m.survivorId, m.mergedId);
        await conn.query("UPDATE customer_merge_suggestions SET status = 'merged', merge_id = ? WHERE tenant_id = ? AND customer_lo = ? AND customer_hi = ? AND status = 'open'", [
          mergeId, tenantId, lo, hi,
        ]);
        const [back] = await conn.query<RowDataPacket[]>(`SELECT ${MERGE_COLUMNS} FROM customer_merges m WHERE m.tenant_id = ? AND m.id = ?`, [tenantId, mergeId]);
        return { merge: mergeOf(back[0] as RowDataPacket) };
      });
    },

    /**
     * Undoes a merge in one transaction: the merge and both customers locked, `check` run on
     * them, then exactly the rows the merge moved are moved back (those still with the survivor),
     * the merged customer stands on its own again and the pair's suggestion is closed as
     * dismissed (people decided they are two). Undefined when there is no such merge.
     */
    async undo(
      tenantId: number,
      mergeId: string,
      u: { actor: string; reason: string | null; at: number },
      check: (merge: MergeState, survivor: CustomerState, merged: CustomerState, laterMergeId: string | undefined) => AppError | undefined,
    ): Promise<MergeRecord | undefined> {
      return withTx(pool, async (conn) => {
        const [ms] = await conn.query<RowDataPacket[]>('SELECT * FROM customer_merges WHERE tenant_id = ? AND id = ? FOR UPDATE', [tenantId, mergeId]);
        const row = ms[0];
        if (!row) return undefined;
        const survivorId = id(row.survivor_id);
        const mergedId = id(row.merged_id);
        const [cs] = await conn.query<RowDataPacket[]>('SELECT id, merged_into FROM customers WHERE tenant_id = ? AND id IN (?, ?) ORDER BY id FOR UPDATE', [tenantId, survivorId, mergedId]);
        const state = (cid: string): CustomerState => {
          const r = cs.find((x) => id(x.id) === cid);
          return { id: cid, mergedInto: r?.merged_into == null ? null : id(r.merged_into) };
        };
        const survivor = state(survivorId);
        let later: string | undefined;
        if (survivor.mergedInto !== null) {
          const [lm] = await conn.query<RowDataPacket[]>('SELECT id FROM customer_merges WHERE tenant_id = ? AND merged_id = ? AND undone_at IS NULL ORDER BY id DESC LIMIT 1', [tenantId, survivorId]);
          later = lm[0] ? id(lm[0].id) : undefined;
        }
        const refused = check({ id: mergeId, survivorId, mergedId, undone: row.undone_at != null }, survivor, state(mergedId), later);
        if (refused) throw refused;
        await conn.query(
          `UPDATE customer_merge_moves mv JOIN customer_identities i ON i.id = CAST(mv.ref AS UNSIGNED)
           SET i.customer_id = ? WHERE mv.tenant_id = ? AND mv.merge_id = ? AND mv.kind = 'identity' AND i.tenant_id = ? AND i.customer_id = ?`,
          [mergedId, tenantId, mergeId, tenantId, survivorId],
        );
        await conn.query(
          `UPDATE customer_merge_moves mv JOIN interaction_customers ic ON ic.tenant_id = mv.tenant_id AND ic.interaction_id = mv.ref
           SET ic.customer_id = ? WHERE mv.tenant_id = ? AND mv.merge_id = ? AND mv.kind = 'interaction' AND ic.customer_id = ?`,
          [mergedId, tenantId, mergeId, survivorId],
        );
        const at = new Date(u.at);
        await conn.query('UPDATE customers SET merged_into = NULL, updated_at = ? WHERE tenant_id = ? AND id = ?', [at, tenantId, mergedId]);
        await conn.query('UPDATE customers SET updated_at = ? WHERE tenant_id = ? AND id = ?', [at, tenantId, survivorId]);
        await conn.query('UPDATE customer_merges SET undone_at = ?, undone_by = ?, undo_reason = ? WHERE tenant_id = ? AND id = ?', [at, u.actor, u.reason, tenantId, mergeId]);
        await conn.query("UPDATE customer_merge_suggestions SET status = 'dismissed' WHERE tenant_id = ? AND merge_id = ?", [tenantId, mergeId]);
        const [back] = await conn.query<RowDataPacket[]>(`SELECT ${MERGE_COLUMNS} FROM customer_merges m WHERE m.tenant_id = ? AND m.id = ?`, [tenantId, mergeId]);
        return mergeOf(back[0] as RowDataPacket);
      });
    },

    async getMerge(tenantId: number, mergeId: string): Promise<MergeRecord | undefined> {
      const [rows] = await pool.query<RowDataPacket[]>(`SELECT ${MERGE_COLUMNS} FROM customer_merges m WHERE m.tenant_id = ? AND m.id = ?`, [tenantId, mergeId]);
      return rows[0] && mergeOf(rows[0]);
    },
  };
}

export type CustomerStore = ReturnType<typeof createCustomerStore>;

/**
 * The thread query: a customer's interactions newest first, read from our link table joined
 * with the interactions table of the voice module (which owns that table and its writes). The
 * join is the one place this module reads a table it does not own, and only to show it; the
 * app wires it as the customer service's {@link ThreadSource} port, so it can be replaced by a
 * call into the interactions' owner without touching the service.
 */
export function createInteractionThreadSource(pool: Pool) {
  return {
    async interactionsOf(tenantId: number, customerIds: readonly string[], before: ThreadCursor | undefined, limit: number): Promise<ThreadEntry[]> {
      if (customerIds.length === 0) return [];
      const after = before ? 'AND (ic.started_at < ? OR (ic.started_at = ? AND ic.interaction_id < ?))' : '';
      const params: unknown[] = [tenantId, customerIds];
      if (before) params.push(new Date(before.at), new Date(before.at), before.interactionId);
      params.push(limit);
      const [rows] = await pool.query<RowDataPacket[]>(
        `SELECT ic.interaction_id, ic.channel AS link_channel, ic.started_at AS link_started_at,
           i.channel, i.first_answered_at, i.ended_at, i.first_queue_id, i.last_queue_id, i.last_agent_id, i.outcome, i.queue_ms, i.talk_ms, i.hold_ms, i.transfers
         FROM interaction_customers ic LEFT JOIN interactions i ON i.tenant_id = ic.tenant_id AND i.id = ic.interaction_id
         WHERE ic.tenant_id = ? AND ic.customer_id IN (?) ${after}
         ORDER BY ic.started_at DESC, ic.interaction_id DESC LIMIT ?`,
        params,
      );
      return rows.map((r) => ({
        interactionId: String(r.interaction_id),
        channel: String(r.channel ?? r.link_channel),
        startedAt: (r.link_started_at as Date).getTime(),
        answeredAt: isoOrNull(r.first_answered_at),
        endedAt: isoOrNull(r.ended_at),
        firstQueueId: r.first_queue_id == null ? null : String(r.first_queue_id),
        lastQueueId: r.last_queue_id == null ? null : String(r.last_queue_id),
        agentId: r.last_agent_id == null ? null : String(r.last_agent_id),
        outcome: r.outcome == null ? null : String(r.outcome),
        queueMs: num(r.queue_ms),
        talkMs: num(r.talk_ms),
        holdMs: num(r.hold_ms),
        transfers: num(r.transfers),
      }));
    },
  };
}
