import type { RouterDecision } from '../../acd/decisions.js';
import { agentView, queueLoad } from '../../acd/inspect.js';
import { nextDueAt } from '../../acd/router.js';
import { exportSnapshot } from '../../acd/snapshot.js';
import { CHANNELS } from '../../domain/channel.js';
import type { Clock } from '../../infra/clock.js';
import type { Log } from '../../infra/logger.js';
import type { Redis } from '../../infra/redis.js';
import { createLease, type LeaseHandle } from './lease.js';
import { applyEntry, newPartitionRouter, restorePartitionRouter, type PartitionRouter } from './partition.js';
import { compareIds, createAcdRedisStore, type AcdSqlStore, type FencedOp, type InputEntry } from './store.js';

export interface RouterRunnerOptions {
  /** A connection of its own: the runner blocks on it reading the input stream. */
  redis: Redis;
  sql: AcdSqlStore;
  tenantId: number;
  partition: string;
  /** Identifies this process in the lease (host:pid:random). */
  owner: string;
  clock: Clock;
  log: Log;
  leaseTtlMs?: number;
  renewEveryMs?: number;
  acquireEveryMs?: number;
  snapshotEveryMs?: number;
  /** Sees every batch this runner applied, emitted or not (tests, metrics). */
  onApplied?: (batch: readonly { entry: InputEntry; decisions: readonly RouterDecision[] }[], emitted: boolean) => void;
}

/**
 * Decisions this runner has just published to the partition's decision stream, with their
 * stream ids. `previous` is the id of the decision this runner published last before them in
 * the same lease term (undefined for the first batch of a term): nothing lies between the two in
 * the stream, since only the lease holder appends to it. A follower in this process that has
 * handled exactly `previous` may take them at once instead of reading them back from the stream.
 */
export interface PublishedDecisions {
  previous: string | undefined;
  decisions: readonly { id: string; decision: RouterDecision }[];
}

export interface RouterRunner {
  start(): void;
  stop(): Promise<void>;
  isLeader(): boolean;
  stats(): { leader: boolean; cursor: string; applied: number; lastTakeoverMs: number | undefined };
  /** Calls `listener` after each fenced write that published decisions; returns an unsubscribe. */
  onPublished(listener: (p: PublishedDecisions) => void): () => void;
}

/** Events that touch one agent's desktop, and which agent. */
function agentOf(d: RouterDecision): string[] {
  switch (d.kind) {
    case 'route':
      return d.offers.map((o) => o.agentId);
    case 'offer_cancelled':
    case 'task_assigned':
    case 'presence_changed':
      return [d.agentId];
    default:
      return [];
  }
}

/**
 * The leader loop of one ACD partition. It holds the partition lease, applies
 * the input stream to the pure router in order, and publishes the decisions
 * with a fenced Lua batch (so a former leader cannot publish). A standby keeps
 * trying the lease; when it wins it restores the last snapshot and re-applies
 * the input after it — re-deriving, not re-publishing, what was already
 * published — and carries on.
 */
export function createRouterRunner(opts: RouterRunnerOptions): RouterRunner {
  const store = createAcdRedisStore(opts.redis, opts.partition);
  const k = store.keys;
  const ttl = opts.leaseTtlMs ?? 3000;
  const renewEvery = opts.renewEveryMs ?? Math.floor(ttl / 3);
  const acquireEvery = opts.acquireEveryMs ?? 250;
  const snapshotEvery = opts.snapshotEveryMs ?? 2000;
  const lease = createLease(opts.redis, { key: k.lease, owner: opts.owner, ttlMs: ttl });
  const log = opts.log.child({ component: 'router', partition: opts.partition });

  let running = false;
  let loop: Promise<void> | undefined;
  let handle: LeaseHandle | undefined;
  let router: PartitionRouter | undefined;
  let cursor = '0-0';
  let emittedUpTo = '0-0';
  let lastRenew = 0;
  let lastSnapshot = 0;
  let tickPending = false;
  let applied = 0;
  let lastTakeoverMs: number | undefined;
  // The id of the last decision published in this lease term (see PublishedDecisions).
  let lastPublished: string | undefined;
  const publishedListeners = new Set<(p: PublishedDecisions) => void>();
  const pendingRecords: { entry: InputEntry; decisions: readonly RouterDecision[]; configVersion: string }[] = [];
  const touchedQueues = new Set<string>();

  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  // The lease is renewed on its own timer, so a long step (a big backlog, a slow database) never
  // lets it lapse; every write stays fenced by the lease, so this cannot let two routers write.
  let renewTimer: NodeJS.Timeout | undefined;
  let renewing = false;
  function keepRenewing(): void {
    clearInterval(renewTimer);
    renewTimer = setInterval(() => {
      const h = handle;
      if (!h || renewing) return;
      renewing = true;
      lease
        .renew(h)
        .then((ok) => {
          if (ok) lastRenew = opts.clock.now();
          else if (handle === h) stepDown('lease expired before renewal');
        })
        .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'lease renewal failed; retrying'))
        .finally(() => {
          renewing = false;
        });
    }, renewEvery);
    renewTimer.unref();
  }

  async function takeOver(h: LeaseHandle): Promise<void> {
    const started = Date.now();
    handle = h;
    lastPublished = undefined;
    lastRenew = opts.clock.now();
    keepRenewing();
    const snap = await store.loadSnapshot();
    // A fresh router starts at time 0 so that its clock comes only from the entries (as in a replay).
    router = snap ? restorePartitionRouter(snap.configVersion, snap.queues, snap.snapshot) : newPartitionRouter(0);
    cursor = snap ? snap.cursor : '0-0';
    emittedUpTo = await store.lastEmitted();
    // Catch up with everything after the snapshot; decisions already published are re-derived, not re-sent.
    for (;;) {
      const entries = await store.readAfter(cursor, 2000);
      if (entries.length === 0) break;
      if (!(await applyBatch(entries))) return;
    }
    lastTakeoverMs = Date.now() - started;
    log.info({ token: h.token, cursor, rebuildMs: lastTakeoverMs }, 'router took the partition lease');
  }

  function stepDown(why: string): void {
    prefetched = undefined;
    if (handle) log.warn({ why }, 'router lost the partition lease; standing by');
    clearInterval(renewTimer);
    handle = undefined;
    router = undefined;
    lastPublished = undefined;
  }

  /** Applies entries in order, publishes what is new, records everything. False when the lease was lost. */
  async function applyBatch(entries: InputEntry[]): Promise<boolean> {
    if (!router || !handle) return false;
    const batch: { entry: InputEntry; decisions: readonly RouterDecision[] }[] = [];
    for (const entry of entries) {
      if (entry.input.type === 'tick') tickPending = false;
      const decisions = applyEntry(router, entry);
      cursor = entry.id;
      batch.push({ entry, decisions });
      applied++;
    }
    const fresh = batch.filter((b) => compareIds(b.entry.id, emittedUpTo) > 0);
    const { ops, decisionAt } = fresh.length > 0 ? publishOps(fresh) : { ops: [], decisionAt: new Map<number, RouterDecision>() };
    if (ops.length > 0 || fresh.length > 0) {
      const lastId = batch[batch.length - 1]!.entry.id;
      ops.push({ op: 'set', key: k.emitted, value: lastId });
      const written = store.fenced(handle.value, ops);
      // The next read goes out right behind the write (one connection: it runs after it), so
      // what arrived meanwhile comes back with the write's answer instead of a round trip later.
      const after = cursor;
      prefetched = { after, entries: store.readAfter(after, 1000).catch(() => []) };
      const ids = await written;
      if (!ids) {
        prefetched = undefined;
        stepDown('fenced write refused');
        return false;
      }
      emittedUpTo = lastId;
      if (decisionAt.size > 0) announcePublished(ops, ids, decisionAt);
    }
    opts.onApplied?.(batch, fresh.length > 0);
    for (const b of batch) pendingRecords.push({ ...b, configVersion: router?.config.version ?? '0' });
    // The durable history is written behind the routing, one flush at a time (records are idempotent).
    void flushRecords();
    return true;
  }

  /** Hands the decisions of a fenced write, with the stream ids it gave them, to the listeners. */
  function announcePublished(ops: readonly FencedOp[], ids: readonly string[], decisionAt: ReadonlyMap<number, RouterDecision>): void {
    const decisions: { id: string; decision: RouterDecision }[] = [];
    let next = 0;
    ops.forEach((op, i) => {
      if (op.op !== 'xadd') return;
      const id = ids[next++];
      const decision = decisionAt.get(i);
      if (decision && id) decisions.push({ id, decision });
    });
    if (decisions.length === 0) return;
    const published: PublishedDecisions = { previous: lastPublished, decisions };
    lastPublished = decisions[decisions.length - 1]!.id;
    for (const listener of publishedListeners) {
      try {
        listener(published);
      } catch (err) {
        log.error({ err }, 'a listener of published decisions failed');
      }
    }
  }

  /** The writes that publish a batch's decisions, and which of them append a decision (by op index). */
  function publishOps(batch: { entry: InputEntry; decisions: readonly RouterDecision[] }[]): { ops: FencedOp[]; decisionAt: Map<number, RouterDecision> } {
    const ops: FencedOp[] = [];
    const decisionAt = new Map<number, RouterDecision>();
    const touchedAgents = new Set<string>();
    for (const { entry, decisions } of batch) {
      const input = entry.input;
      if (input.type === 'agent_upserted') touchedAgents.add(input.agent.id);
      if (input.type === 'agent_presence_changed' || input.type === 'capacity_released') touchedAgents.add(input.agentId);
      if (input.type === 'offer_accepted' || input.type === 'offer_declined' || input.type === 'offer_timed_out') {
        touchedAgents.add(input.offerId.slice(input.offerId.lastIndexOf('@') + 1));
      }
      if (entry.input.type === 'task_enqueued') touchedQueues.add(entry.input.task.queueId);
      for (const d of decisions) {
        decisionAt.set(ops.length, d);
        ops.push({ op: 'xadd', key: k.decisions, fields: { ev: entry.id, d: JSON.stringify(d) }, maxlen: 100000 });
        for (const agentId of agentOf(d)) {
          touchedAgents.add(agentId);
          ops.push({ op: 'xadd', key: k.agentStream(agentId), fields: { d: JSON.stringify(d) }, maxlen: 1000 });
        }
        if (d.kind === 'route') touchedQueues.add(d.decision.queueId);
        if (d.kind === 'task_assigned' || d.kind === 'task_removed') {
          const task = d.kind === 'task_removed' ? { queueId: d.queueId } : undefined;
          const queueId = task?.queueId ?? findQueueOfDecision(batch, d.taskId);
          const channel = findChannel(batch, d.taskId);
          if (queueId && channel) {
            ops.push({ op: 'lpush', key: k.waits(queueId, channel), value: JSON.stringify({ waitedMs: d.waitedMs, outcome: d.kind === 'task_assigned' ? 'answered' : 'abandoned', at: entry.at }), keep: 500 });
          }
        }
      }
    }
    for (const agentId of touchedAgents) {
      const v = agentView(router!.state, agentId);
      if (v) ops.push({ op: 'hset', key: k.presence, field: agentId, value: JSON.stringify({ presence: v.presence, loadUnits: v.loadUnits, capacity: v.capacity, since: v.idleSince }) });
    }
    return { ops, decisionAt };
  }

  // The channel and queue of a task, from this batch or the router's knowledge of it.
  const taskMeta = new Map<string, { queueId: string; channel: string }>();
  function remember(batch: { entry: InputEntry }[]): void {
    for (const b of batch) if (b.entry.input.type === 'task_enqueued') taskMeta.set(b.entry.input.task.id, { queueId: b.entry.input.task.queueId, channel: b.entry.input.task.channel });
  }
  function findQueueOfDecision(batch: { entry: InputEntry }[], taskId: string): string | undefined {
    remember(batch);
    return taskMeta.get(taskId)?.queueId;
  }
  function findChannel(batch: { entry: InputEntry }[], taskId: string): string | undefined {
    remember(batch);
    return taskMeta.get(taskId)?.channel;
  }

  let flushing: Promise<void> | undefined;
  function flushRecords(): Promise<void> {
    if (flushing) return flushing;
    // Nothing to write: no flush is started. (One started with nothing to write would end before
    // it was stored as `flushing`, and stay stored there, and no record would be written again.)
    if (pendingRecords.length === 0) return Promise.resolve();
    flushing = (async () => {
      try {
        while (pendingRecords.length > 0) {
          const batch = pendingRecords.splice(0, 1000);
          try {
            await opts.sql.record(opts.tenantId, opts.partition, batch);
          } catch (err) {
            // Records are idempotent; keep them and try again with the next batch.
            pendingRecords.unshift(...batch);
            if (pendingRecords.length > 50000) pendingRecords.splice(0, pendingRecords.length - 50000);
            log.error({ err, pending: pendingRecords.length }, 'could not record routing history; will retry');
            return;
          }
        }
      } finally {
        flushing = undefined;
      }
    })();
    return flushing;
  }

  async function publishQueueViews(): Promise<void> {
    if (!router || !handle || touchedQueues.size === 0) return;
    const ops: FencedOp[] = [];
    for (const q of router.queues) {
      if (!touchedQueues.has(q.id)) continue;
      const byChannel: Record<string, unknown> = {};
      for (const c of CHANNELS) {
        const load = queueLoad(router.state, q.id, c, 0);
        if (load && (load.waiting > 0 || load.agentsServing > 0)) byChannel[c] = load;
      }
      ops.push({ op: 'hset', key: k.queues, field: q.id, value: JSON.stringify({ at: opts.clock.now(), channels: byChannel }) });
    }
    const touched = [...touchedQueues];
    touchedQueues.clear();
    if (ops.length === 0) return;
    const written = await store.fenced(handle.value, ops).catch((err: unknown) => {
      // Not written: those queues go out again with the next batch.
      for (const id of touched) touchedQueues.add(id);
      throw err;
    });
    if (!written) stepDown('fenced write refused');
  }

  async function snapshot(): Promise<void> {
    if (!router || !handle) return;
    const body = JSON.stringify({ cursor, configVersion: router.config.version, queues: router.queues, snapshot: exportSnapshot(router.state) });
    if (!(await store.fenced(handle.value, [{ op: 'set', key: k.snapshot, value: body }]))) stepDown('fenced write refused');
    lastSnapshot = opts.clock.now();
  }

  async function step(): Promise<void> {
    const now = opts.clock.now();
    if (!handle) {
      const h = await lease.tryAcquire();
      if (!h) {
        await sleep(acquireEvery);
        return;
      }
      await takeOver(h);
      return;
    }
    if (now - lastRenew >= ttl) {
      // The renewal timer has not succeeded for a whole lease time: the lease may be another's now.
      if (!(await lease.renew(handle))) {
        stepDown('lease expired before renewal');
        return;
      }
      lastRenew = now;
    }
    const pre = prefetched;
    prefetched = undefined;
    let entries = pre && pre.after === cursor ? await pre.entries : [];
    if (entries.length === 0) entries = await store.readAfter(cursor, 1000, 100);
    if (entries.length > 0) {
      if (!(await applyBatch(entries))) return;
    }
    if (router && !tickPending) {
      const due = nextDueAt(router.state);
      if (due !== undefined && due <= opts.clock.now()) {
        tickPending = true;
        await store.append({ type: 'tick' }, opts.clock.now());
      }
    }
    // The queue views (supervisors' figures) go out beside the next read instead of before it:
    // an entry that arrives meanwhile is taken a round trip sooner. One write at a time.
    if (!viewsInFlight) {
      viewsInFlight = publishQueueViews()
        .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'could not publish the queue views; they follow with the next batch'))
        .finally(() => {
          viewsInFlight = undefined;
        });
    }
    if (opts.clock.now() - lastSnapshot >= snapshotEvery) await snapshot();
  }
  let viewsInFlight: Promise<void> | undefined;
  /** The read sent behind the last fenced write: entries after `after`. */
  let prefetched: { after: string; entries: Promise<InputEntry[]> } | undefined;

  return {
    start() {
      if (running) return;
      running = true;
      loop = (async () => {
        while (running) {
          try {
            await step();
          } catch (err) {
            log.error({ err }, 'router step failed; retrying');
            await sleep(200);
          }
        }
      })();
    },
    async stop() {
      running = false;
      await loop;
      await viewsInFlight;
      clearInterval(renewTimer);
      await flushRecords().catch(() => undefined);
      if (handle) {
        await snapshot().catch(() => undefined);
        await lease.release(handle).catch(() => undefined);
        handle = undefined;
      }
    },
    isLeader: () => handle !== undefined,
    onPublished(listener) {
      publishedListeners.add(listener);
      return () => publishedListeners.delete(listener);
    },
    stats: () => ({ leader: handle !== undefined, cursor, applied, lastTakeoverMs }),
  };
}
