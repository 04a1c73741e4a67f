import type { Pool } from '../../infra/mysql.js';
import type { Redis } from '../../infra/redis.js';
import type { RouterDecision } from '../../acd/decisions.js';
import type { RouterEvent } from '../../acd/events.js';
import type { RouterSnapshot } from '../../acd/snapshot.js';
import type { Queue } from '../../domain/queue.js';

/**
 * What flows into a partition's router, in order: the router's own events plus
 * configuration changes (carried in full, so a replay uses exactly the
 * configuration the live router had).
 */
export type PartitionInput = RouterEvent | { readonly type: 'config'; readonly version: string; readonly queues: readonly Queue[] };

export interface InputEntry {
  id: string;
  at: number;
  input: PartitionInput;
}

export interface StoredSnapshot {
  cursor: string;
  configVersion: string;
  queues: readonly Queue[];
  snapshot: RouterSnapshot;
}

/** One write of a fenced batch: stream appends, hash fields, capped lists. */
export type FencedOp =
  | { op: 'xadd'; key: string; fields: Record<string, string>; maxlen: number }
  | { op: 'hset'; key: string; field: string; value: string }
  | { op: 'hdel'; key: string; field: string }
  | { op: 'lpush'; key: string; value: string; keep: number }
  | { op: 'set'; key: string; value: string };

/**
 * Applies a batch only while the caller still holds the lease (KEYS[1]) with its value (ARGV[1]);
 * answers 0, or 1 followed by the ids its stream appends were given, in order.
 */
const FENCED_BATCH = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local ops = cjson.decode(ARGV[2])
local out = {1}
for _, o in ipairs(ops) do
  local k = KEYS[o.k]
  if o.op == 'xadd' then
    local args = {k, 'MAXLEN', '~', o.maxlen, '*'}
    for f, v in pairs(o.fields) do table.insert(args, f); table.insert(args, v) end
    out[#out + 1] = redis.call('XADD', unpack(args))
  elseif o.op == 'hset' then redis.call('HSET', k, o.f, o.v)
  elseif o.op == 'hdel' then redis.call('HDEL', k, o.f)
  elseif o.op == 'lpush' then redis.call('LPUSH', k, o.v); redis.call('LTRIM', k, 0, o.keep - 1)
  elseif o.op == 'set' then redis.call('SET', k, o.v)
  end
end
return out`;

/** Stream ids compare as (milliseconds, sequence). */
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am - bm || (as ?? 0) - (bs ?? 0);
}

export function partitionKeys(partition: string) {
  const p = `acd:{${partition}}`;
  return {
    lease: `${p}:lease`,
    input: `${p}:in`,
    snapshot: `${p}:snap`,
    emitted: `${p}:emitted`,
    decisions: `${p}:out`,
    presence: `${p}:presence`,
    queues: `${p}:queues`,
    waits: (queueId: string, channel: string) => `${p}:waits:${queueId}:${channel}`,
    agentStream: (agentId: string) => `${p}:agent:${agentId}`,
  };
}

export type PartitionKeys = ReturnType<typeof partitionKeys>;

/** Redis side of a partition: the input log, snapshots, fenced output and the live views. */
export function createAcdRedisStore(redis: Redis, partition: string) {
  const keys = partitionKeys(partition);
  return {
    keys,
    async append(input: PartitionInput, at: number): Promise<string> {
      return (await redis.xadd(keys.input, 'MAXLEN', '~', '1000000', '*', 'at', String(at), 'e', JSON.stringify(input))) as string;
    },
    async readAfter(cursor: string, count: number, blockMs?: number): Promise<InputEntry[]> {
      const res = blockMs
        ? await redis.xread('COUNT', count, 'BLOCK', blockMs, 'STREAMS', keys.input, cursor)
        : await redis.xread('COUNT', count, 'STREAMS', keys.input, cursor);
      if (!res) return [];
      const entries = res[0]?.[1] ?? [];
      return entries.map(([id, fields]) => {
        const f: Record<string, string> = {};
        for (let i = 0; i < fields.length; i += 2) f[fields[i] as string] = fields[i + 1] as string;
        return { id, at: Number(f.at), input: JSON.parse(f.e ?? 'null') as PartitionInput };
      });
    },
    async loadSnapshot(): Promise<StoredSnapshot | undefined> {
      const raw = await redis.get(keys.snapshot);
      return raw ? (JSON.parse(raw) as StoredSnapshot) : undefined;
    },
    async lastEmitted(): Promise<string> {
      return (await redis.get(keys.emitted)) ?? '0-0';
    },
    /**
     * Runs the ops only if `leaseValue` still holds the lease: the ids of its stream appends, in
     * the order of the ops; false means we lost the lease.
     */
    async fenced(leaseValue: string, ops: FencedOp[]): Promise<string[] | false> {
      const keyList: string[] = [keys.lease];
      const index = new Map<string, number>([[keys.lease, 1]]);
      const k = (key: string): number => {
        let i = index.get(key);
        if (i === undefined) {
          keyList.push(key);
          i = keyList.length;
          index.set(key, i);
        }
        return i;
      };
      const encoded = ops.map((o) => {
        switch (o.op) {
          case 'xadd':
            return { op: 'xadd', k: k(o.key), fields: o.fields, maxlen: o.maxlen };
          case 'hset':
            return { op: 'hset', k: k(o.key), f: o.field, v: o.value };
          case 'hdel':
            return { op: 'hdel', k: k(o.key), f: o.field };
          case 'lpush':
            return { op: 'lpush', k: k(o.key), v: o.value, keep: o.keep };
          case 'set':
            return { op: 'set', k: k(o.key), v: o.value };
        }
      });
      const r = (await redis.eval(FENCED_BATCH, keyList.length, ...keyList, leaseValue, JSON.stringify(encoded))) as unknown;
      if (!Array.isArray(r) || Number(r[0]) !== 1) return false;
      return r.slice(1).map(String);
    },
    async presenceOf(agentId: string): Promise<{ presence: { kind: string; reason?: string; until?: number }; since: number } | undefined> {
      const raw = await redis.hget(keys.presence, agentId);
      return raw ? JSON.parse(raw) : undefined;
    },
    async queueView(queueId: string): Promise<Record<string, unknown> | undefined> {
      const raw = await redis.hget(keys.queues, queueId);
      return raw ? JSON.parse(raw) : undefined;
    },
    async recentWaits(queueId: string, channel: string): Promise<{ waitedMs: number; outcome: 'answered' | 'abandoned' }[]> {
      return (await redis.lrange(keys.waits(queueId, channel), 0, 499)).map((s) => JSON.parse(s));
    },
    async agentEvents(agentId: string, after: string, count: number): Promise<{ id: string; event: unknown }[]> {
      const res = await redis.xrange(keys.agentStream(agentId), `(${after}`, '+', 'COUNT', count);
      return res.map(([id, fields]) => ({ id, event: JSON.parse(fields[1] ?? 'null') }));
    },
    async agentStreamHead(agentId: string): Promise<string | undefined> {
      const res = await redis.xrevrange(keys.agentStream(agentId), '+', '-', 'COUNT', 1);
      return res[0]?.[0];
    },
  };
}

export type AcdRedisStore = ReturnType<typeof createAcdRedisStore>;

type Statement = [sql: string, params: unknown[]];

/** A task's row as its enqueue writes it; idempotent (the first row stored stays). */
function taskInsert(t: { tenantId: number; id: string; queueId: string; channel: string; priority: number; interactionId: string; body: unknown; enqueuedAt: number }): Statement {
  return ['INSERT IGNORE INTO tasks (tenant_id, id, queue_id, channel, priority, interaction_id, body, state, enqueued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', [
    t.tenantId, t.id, t.queueId, t.channel, t.priority, t.interactionId, JSON.stringify(t.body), 'queued', new Date(t.enqueuedAt),
  ]];
}

/** The statements that record consumed routing events and their decisions, in order. */
function recordStatements(tenantId: number, partition: string, batch: readonly { entry: InputEntry; decisions: readonly RouterDecision[]; configVersion: string }[]): Statement[] {
  const out: Statement[] = [];
  out.push(['INSERT IGNORE INTO routing_events (tenant_id, partition_key, event_id, at_ms, body) VALUES ?', [
    batch.map((b) => [tenantId, partition, b.entry.id, b.entry.at, JSON.stringify(b.entry.input)]),
  ]]);
  const decisionRows: unknown[][] = [];
  for (const b of batch) {
    const at = new Date(b.entry.at);
    if (b.entry.input.type === 'task_enqueued') {
      // The task's row, as its enqueue writes it (a fresh task's row goes out beside its router
      // entry: a process that died between the two leaves the row to this record).
      const task = b.entry.input.task;
      out.push(taskInsert({ tenantId, id: task.id, queueId: task.queueId, channel: task.channel, priority: task.priority, interactionId: task.interactionId, body: task, enqueuedAt: b.entry.at }));
    }
    b.decisions.forEach((d, idx) => {
      const taskId = 'taskId' in d ? d.taskId : d.kind === 'route' ? d.decision.taskId : null;
      decisionRows.push([tenantId, at, partition, b.entry.id, idx, taskId, d.kind, b.configVersion, JSON.stringify(d)]);
    });
    for (const d of b.decisions) {
      if (d.kind === 'route') {
        if (d.offers.length > 0) {
          out.push(['INSERT IGNORE INTO offers (tenant_id, id, task_id, agent_id, offered_at, expires_at) VALUES ?', [
            d.offers.map((x) => [tenantId, x.id, x.taskId, x.agentId, new Date(x.createdAt), new Date(x.expiresAt)]),
          ]]);
        }
        out.push(["UPDATE tasks SET state = 'offered' WHERE tenant_id = ? AND id = ? AND state = 'queued'", [tenantId, d.decision.taskId]]);
      } else if (d.kind === 'offer_cancelled') {
        out.push(['UPDATE offers SET outcome = ?, outcome_at = ? WHERE tenant_id = ? AND id = ? AND outcome IS NULL', [
          d.reason === 'timed_out' ? 'timed_out' : 'cancelled', at, tenantId, d.offerId,
        ]]);
      } else if (d.kind === 'task_assigned') {
        out.push(["UPDATE offers SET outcome = 'accepted', outcome_at = ? WHERE tenant_id = ? AND id = ? AND outcome IS NULL", [at, tenantId, d.offerId]]);
        out.push(["UPDATE tasks SET state = 'assigned', assigned_agent_id = ? WHERE tenant_id = ? AND id = ?", [d.agentId, tenantId, d.taskId]]);
      } else if (d.kind === 'task_requeued') {
        out.push(["UPDATE tasks SET state = 'queued' WHERE tenant_id = ? AND id = ? AND state <> 'ended'", [tenantId, d.taskId]]);
      } else if (d.kind === 'task_removed') {
        out.push(["UPDATE tasks SET state = 'ended', ended_at = ?, end_reason = ? WHERE tenant_id = ? AND id = ?", [at, d.reason, tenantId, d.taskId]]);
      } else if (d.kind === 'task_overflowed') {
        out.push(['UPDATE tasks SET queue_id = ? WHERE tenant_id = ? AND id = ?', [d.toQueueId, tenantId, d.taskId]]);
      }
    }
    if (b.entry.input.type === 'offer_declined') {
      out.push(["UPDATE offers SET outcome = 'declined', outcome_at = ? WHERE tenant_id = ? AND id = ? AND outcome IS NULL", [at, tenantId, b.entry.input.offerId]]);
    }
    if (b.entry.input.type === 'capacity_released') {
      out.push(["UPDATE tasks SET state = 'ended', ended_at = ?, end_reason = COALESCE(end_reason, 'completed') WHERE tenant_id = ? AND id = ?", [at, tenantId, b.entry.input.taskId]]);
    }
  }
  if (decisionRows.length > 0) {
    out.push(['INSERT IGNORE INTO route_decisions (tenant_id, decided_at, partition_key, event_id, idx, task_id, kind, config_version, body) VALUES ?', [decisionRows]]);
  }
  return out;
}

/**
 * Durable records of routing in MariaDB. Every write is idempotent (replays after a takeover
 * repeat them). `writes`: where a new task's row goes (one per call or chat; the server's
 * batching writer).
 */
export function createAcdSqlStore(pool: Pool, o: { writes?: Pool } = {}) {
  const writer = o.writes ?? pool;
  return {
    async insertTask(t: { tenantId: number; id: string; queueId: string; channel: string; priority: number; interactionId: string; body: unknown; enqueuedAt: number }): Promise<boolean> {
      const [res] = (await writer.query(...taskInsert(t))) as unknown as [{ affectedRows: number }];
      return res.affectedRows === 1;
    },
    async getTask(tenantId: number, id: string): Promise<Record<string, unknown> | undefined> {
      const [rows] = (await pool.query('SELECT * FROM tasks WHERE tenant_id = ? AND id = ?', [tenantId, id])) as unknown as [Record<string, unknown>[]];
      return rows[0];
    },
    async putDisposition(tenantId: number, taskId: string, agentId: string, code: string, notes: string | undefined): Promise<void> {
      await pool.query(
        'INSERT INTO task_dispositions (tenant_id, task_id, agent_id, code, notes) VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE code = VALUES(code), notes = VALUES(notes)',
        [tenantId, taskId, agentId, code, notes ?? null],
      );
    },
    async getOffer(tenantId: number, id: string): Promise<Record<string, unknown> | undefined> {
      const [rows] = (await pool.query('SELECT * FROM offers WHERE tenant_id = ? AND id = ?', [tenantId, id])) as unknown as [Record<string, unknown>[]];
      return rows[0];
    },
    /**
     * Records a batch of consumed events and their decisions. The statements are built first and
     * sent together: through the batching writer when there is one (one round trip with whatever
     * else is being written; statements in order; a failure rejects and the caller records the
     * batch again, every statement being idempotent), otherwise as one transaction.
     */
    async record(tenantId: number, partition: string, batch: { entry: InputEntry; decisions: readonly RouterDecision[]; configVersion: string }[]): Promise<void> {
      if (batch.length === 0) return;
      const statements = recordStatements(tenantId, partition, batch);
      if (o.writes) {
        const results = await Promise.allSettled(statements.map(([sql, params]) => writer.query(sql, params)));
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
        return;
      }
      const conn = await pool.getConnection();
      try {
        await conn.beginTransaction();
        for (const [sql, params] of statements) await conn.query(sql, params);
        await conn.commit();
      } catch (e) {
        await conn.rollback().catch(() => undefined);
        throw e;
      } finally {
        conn.release();
      }
    },
    async eventsBetween(tenantId: number, partition: string, fromMs: number, toMs: number): Promise<InputEntry[]> {
      const [rows] = (await pool.query(
        'SELECT event_id, at_ms, body FROM routing_events WHERE tenant_id = ? AND partition_key = ? AND at_ms BETWEEN ? AND ? ORDER BY at_ms, event_id',
        [tenantId, partition, fromMs, toMs],
      )) as unknown as [{ event_id: string; at_ms: number; body: unknown }[]];
      return rows
        .map((r) => ({ id: r.event_id, at: Number(r.at_ms), input: (typeof r.body === 'string' ? JSON.parse(r.body) : r.body) as PartitionInput }))
        .sort((a, b) => compareIds(a.id, b.id));
    },
    async decisionsBetween(tenantId: number, partition: string, fromMs: number, toMs: number): Promise<{ eventId: string; decision: RouterDecision }[]> {
      const [rows] = (await pool.query(
        'SELECT event_id, idx, body FROM route_decisions WHERE tenant_id = ? AND partition_key = ? AND decided_at BETWEEN ? AND ? ORDER BY id',
        [tenantId, partition, new Date(fromMs), new Date(toMs)],
      )) as unknown as [{ event_id: string; idx: number; body: unknown }[]];
      return rows.map((r) => ({ eventId: r.event_id, decision: (typeof r.body === 'string' ? JSON.parse(r.body) : r.body) as RouterDecision }));
    },
  };
}

export type AcdSqlStore = ReturnType<typeof createAcdSqlStore>;
