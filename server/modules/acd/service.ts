import { randomUUID } from 'node:crypto';
import { estimateWait, type WaitEstimate } from '../../acd/estimate-wait.js';
import type { Channel } from '../../domain/channel.js';
import type { Presence } from '../../domain/presence.js';
import { canTransitionPresence } from '../../domain/presence.js';
import type { Task } from '../../domain/task.js';
import type { Clock } from '../../infra/clock.js';
import type { Redis } from '../../infra/redis.js';
import type { RoutingConfig } from '../routing/service.js';
import { acdErrors } from './errors.js';
import { createAcdRedisStore, type AcdSqlStore } from './store.js';
import { applyEntry, newPartitionRouter, type PartitionRouter } from './partition.js';
import { diffDecisions, type DecisionDiff, type RecordedDecision } from '../../acd/replay.js';
import './events.js';

export interface AcdServiceDeps {
  redis: Redis;
  sql: AcdSqlStore;
  clock: Clock;
  tenantId: number;
  partition: string;
  loadConfig(): Promise<RoutingConfig>;
  /** A queue's after-call rules (wrap-up time, disposition codes). */
  afterCall?: (queueId: string) => Promise<{ wrapUpMs: number; dispositions: string[] } | undefined>;
  /** Whether the agent's phone is registered; undefined when the agent has no SIP login. */
  phoneRegistered?: (agentId: string) => Promise<boolean | undefined>;
}

export interface NewTask {
  id?: string;
  queueId: string;
  channel: Channel;
  priority?: number;
  requiredSkills?: { skillId: string; minLevel: number; weight?: number }[];
  interactionId?: string;
  preferredAgentId?: string;
  preferredForSeconds?: number;
  /**
   * When the customer started waiting, if earlier than now: a callback or a transfer back into
   * a queue keeps the customer's place by keeping this time (epoch ms, never in the future).
   */
  enqueuedAt?: number;
  /**
   * The caller vouches that `id` is new (a voice visit's own id): the router entry goes out
   * beside the task's row instead of after its commit, so the router sees the task a database
   * commit sooner, and the call resolves once the router has it (`stored` settles with the row).
   * The row is still written first (the writer sends statements in the order they are issued),
   * so the router's later updates of the row follow it.
   */
  fresh?: boolean;
}

/**
 * The ACD as the API sees it: tasks in, presence and offer answers from
 * agents, and views of live state. Every change becomes an entry of the
 * partition's input stream; the partition's router (whichever process holds
 * its lease) applies them in order.
 */
export function createAcdService(deps: AcdServiceDeps) {
  const store = createAcdRedisStore(deps.redis, deps.partition);
  const k = store.keys;
  const now = (): number => deps.clock.now();

  async function knownAgent(agentId: string): Promise<boolean> {
    return (await deps.loadConfig()).agents.some((a) => a.id === agentId);
  }

  return {
    keys: k,

    /** Writes the configuration and every agent into the input stream once per partition, before anything else. */
    async bootstrap(): Promise<boolean> {
      const first = await deps.redis.set(`${k.input}:bootstrapped`, String(now()), 'NX');
      if (first !== 'OK') return false;
      const cfg = await deps.loadConfig();
      await store.append({ type: 'config', version: String(cfg.version), queues: cfg.queues }, now());
      for (const agent of cfg.agents) await store.append({ type: 'agent_upserted', agent }, now());
      return true;
    },

    /** A configuration change: a queue or calendar change reloads the router's queues; an agent change upserts it. */
    async configChanged(what: string): Promise<void> {
      const cfg = await deps.loadConfig();
      const agentMatch = /^agent (\S+)$/.exec(what);
      if (agentMatch) {
        const agent = cfg.agents.find((a) => a.id === agentMatch[1]);
        if (agent) await store.append({ type: 'agent_upserted', agent }, now());
        return;
      }
      await store.append({ type: 'config', version: String(cfg.version), queues: cfg.queues }, now());
    },

    async enqueueTask(input: NewTask): Promise<{ task: Task; created: boolean; stored?: Promise<void> }> {
      const cfg = await deps.loadConfig();
      if (!cfg.queues.some((q) => q.id === input.queueId)) throw acdErrors.unknownQueue(input.queueId);
      const at = now();
      const since = input.enqueuedAt !== undefined && input.enqueuedAt < at ? input.enqueuedAt : at;
      const id = input.id ?? randomUUID();
      const task: Task = {
        id,
        tenantId: String(deps.tenantId),
        channel: input.channel,
        queueId: input.queueId,
        priority: input.priority ?? 0,
        requiredSkills: input.requiredSkills ?? [],
        enqueuedAt: since,
        interactionId: input.interactionId ?? id,
        ...(input.preferredAgentId ? { preferredAgentId: input.preferredAgentId, preferredUntil: at + (input.preferredForSeconds ?? 30) * 1000 } : {}),
      };
      const row = { tenantId: deps.tenantId, id, queueId: task.queueId, channel: task.channel, priority: task.priority, interactionId: task.interactionId, body: task, enqueuedAt: at };
      if (input.fresh && input.id) {
        // Not new after all (the caller's promise broken): the router refuses a task it still
        // holds as a duplicate, the row keeps what was first stored, and `stored` says so.
        const stored = deps.sql.insertTask(row).then((created) => {
          if (!created) throw acdErrors.taskConflict(id);
        });
        stored.catch(() => undefined);
        await store.append({ type: 'task_enqueued', task }, at);
        return { task, created: true, stored };
      }
      const created = await deps.sql.insertTask(row);
      if (!created) {
        // The same request again (a retry) is answered with the task as first stored; a different one is a conflict.
        const existing = await deps.sql.getTask(deps.tenantId, id);
        const body = (typeof existing?.body === 'string' ? JSON.parse(existing.body) : existing?.body) as Task;
        if (!body || body.queueId !== task.queueId || body.channel !== task.channel || body.priority !== task.priority) throw acdErrors.taskConflict(id);
        return { task: body, created: false };
      }
      await store.append({ type: 'task_enqueued', task }, at);
      return { task, created: true };
    },

    async cancelTask(id: string): Promise<void> {
      if (!(await deps.sql.getTask(deps.tenantId, id))) throw acdErrors.taskNotFound(id);
      await store.append({ type: 'task_cancelled', taskId: id }, now());
    },

    /** The customer left before being answered (a caller hung up, a chat closed). */
    async abandonTask(id: string): Promise<void> {
      await store.append({ type: 'task_abandoned', taskId: id }, now());
    },

    async getTask(id: string) {
      const row = await deps.sql.getTask(deps.tenantId, id);
      if (!row) throw acdErrors.taskNotFound(id);
      // The place in the queue: when the customer started waiting (kept across a requeue, a
      // transfer back or a callback), which the task's own row time (this visit) is not.
      const body = (typeof row.body === 'string' ? JSON.parse(row.body) : row.body) as { enqueuedAt?: unknown } | null;
      const waitingSince = typeof body?.enqueuedAt === 'number' && Number.isFinite(body.enqueuedAt) ? new Date(body.enqueuedAt).toISOString() : undefined;
      return {
        id: String(row.id),
        queueId: String(row.queue_id),
        channel: String(row.channel),
        priority: Number(row.priority),
        state: String(row.state),
        assignedAgentId: row.assigned_agent_id == null ? null : String(row.assigned_agent_id),
        endReason: row.end_reason == null ? null : String(row.end_reason),
        enqueuedAt: row.enqueued_at instanceof Date ? row.enqueued_at.toISOString() : String(row.enqueued_at),
        ...(waitingSince ? { waitingSince } : {}),
      };
    },

    async setPresence(agentId: string, presence: Presence): Promise<void> {
      if (!(await knownAgent(agentId))) throw acdErrors.unknownAgent(agentId);
      const current = await store.presenceOf(agentId);
      const from = (current?.presence ?? { kind: 'offline' }) as Presence;
      if (!canTransitionPresence(from, presence)) throw acdErrors.badTransition(from.kind, presence.kind);
      // An agent with a SIP phone is offered calls only while that phone is registered.
      if (presence.kind === 'ready' && deps.phoneRegistered && (await deps.phoneRegistered(agentId)) === false) {
        throw acdErrors.phoneNotRegistered(agentId);
      }
      await store.append({ type: 'agent_presence_changed', agentId, presence }, now());
    },

    async agentState(agentId: string) {
      if (!(await knownAgent(agentId))) throw acdErrors.unknownAgent(agentId);
      const v = await store.presenceOf(agentId);
      return { agentId, presence: v?.presence ?? { kind: 'offline' }, ...(v ? { loadUnits: (v as { loadUnits?: number }).loadUnits, capacity: (v as { capacity?: number }).capacity } : {}) };
    },

    /** An agent answers an offer. Offer ids end in `@agentId`, so an agent can only answer its own. */
    async answerOffer(agentId: string, offerId: string, answer: 'accept' | 'decline'): Promise<void> {
      if (!offerId.endsWith(`@${agentId}`)) throw acdErrors.offerNotFound(offerId);
      await store.append(answer === 'accept' ? { type: 'offer_accepted', offerId } : { type: 'offer_declined', offerId }, now());
    },

    /**
     * The agent finished the task: its capacity is freed and, if the queue says so, wrap-up starts.
     * The durable task record is written behind the router, so a caller that knows the task's
     * queue (the voice service) passes it: the release must not wait for, or fail on, that record
     * (the router itself refuses a release of a task the agent does not hold).
     */
    async releaseTask(agentId: string, taskId: string, known?: { queueId: string; wrapUp?: boolean }): Promise<void> {
      const row = known ? undefined : await deps.sql.getTask(deps.tenantId, taskId);
      if (!known && (!row || String(row.assigned_agent_id) !== agentId)) throw acdErrors.taskNotFound(taskId);
      await store.append({ type: 'capacity_released', agentId, taskId }, now());
      // No after-call work for a task that never became work (an answer that could not be joined).
      if (known?.wrapUp === false) return;
      const rules = await deps.afterCall?.(known ? known.queueId : String(row?.queue_id));
      if (rules && rules.wrapUpMs > 0) {
        const current = (await store.presenceOf(agentId))?.presence.kind;
        // Wrap-up follows a finished task of a ready or busy agent; an agent who went not ready stays so.
        if (current === 'ready' || current === 'busy' || current === undefined) {
          await store.append({ type: 'agent_presence_changed', agentId, presence: { kind: 'wrap_up', until: now() + rules.wrapUpMs } }, now());
        }
      }
    },

    /** Records (or corrects) the disposition of a task the agent handled. */
    async setDisposition(agentId: string | undefined, taskId: string, code: string, notes: string | undefined) {
      const row = await deps.sql.getTask(deps.tenantId, taskId);
      if (!row || row.assigned_agent_id == null) throw acdErrors.taskNotFound(taskId);
      const handler = String(row.assigned_agent_id);
      if (agentId !== undefined && agentId !== handler) throw acdErrors.notYourTask(taskId);
      const allowed = (await deps.afterCall?.(String(row.queue_id)))?.dispositions ?? [];
      if (allowed.length > 0 && !allowed.includes(code)) throw acdErrors.unknownDisposition(code, allowed);
      await deps.sql.putDisposition(deps.tenantId, taskId, handler, code, notes);
      return { taskId, agentId: handler, code, notes: notes ?? null };
    },

    async estimateWait(queueId: string, channel: Channel, priority: number): Promise<WaitEstimate & { queueId: string; channel: Channel; waiting?: number }> {
      const cfg = await deps.loadConfig();
      if (!cfg.queues.some((q) => q.id === queueId)) throw acdErrors.unknownQueue(queueId);
      const view = (await store.queueView(queueId)) as { channels?: Record<string, { waiting: number; ahead: number; agentsAvailable: number }> } | undefined;
      const load = view?.channels?.[channel];
      const samples = (await store.recentWaits(queueId, channel)) as { at: number; waitedMs: number; outcome: 'answered' | 'abandoned' }[];
      const estimate = estimateWait({ now: now(), samples, position: load?.waiting ?? 0, agentsAvailable: load?.agentsAvailable ?? 0, priority });
      return { queueId, channel, ...(load ? { waiting: load.waiting } : {}), ...estimate };
    },

    /**
     * Adds an event of our own (not a routing decision) to an agent's desktop stream, e.g. the
     * screen-pop that goes with an offer. It is delivered and resumable like the decisions.
     */
    async notifyAgent(agentId: string, event: { kind: string } & Record<string, unknown>): Promise<void> {
      await deps.redis.xadd(k.agentStream(agentId), 'MAXLEN', '~', '1000', '*', 'd', JSON.stringify(event));
    },

    agentEvents: (agentId: string, after: string, count: number) => store.agentEvents(agentId, after, count),
    agentStreamHead: (agentId: string) => store.agentStreamHead(agentId),
  };
}

export type AcdService = ReturnType<typeof createAcdService>;

export interface ReplayReport {
  partition: string;
  from: string;
  to: string;
  eventsReplayed: number;
  eventsInWindow: number;
  configVersions: string[];
  diff: DecisionDiff;
}

/**
 * Re-runs a partition's recorded input from its beginning up to `toMs` and
 * compares the decisions made in [fromMs, toMs] with those on record: under the
 * recorded configuration they must be identical; with `override` it answers
 * "what would this configuration have decided?".
 */
export async function replayWindow(
  sql: AcdSqlStore,
  q: { tenantId: number; partition: string; fromMs: number; toMs: number; override?: PartitionRouter['override'] },
): Promise<ReplayReport> {
  const entries = await sql.eventsBetween(q.tenantId, q.partition, 0, q.toMs);
  const recordedRows = await sql.decisionsBetween(q.tenantId, q.partition, q.fromMs, q.toMs);
  const indexOf = new Map(entries.map((e, i) => [e.id, i]));
  const recorded: RecordedDecision[] = recordedRows.map((r) => {
    const i = indexOf.get(r.eventId) ?? -1;
    return { eventIndex: i, at: entries[i]?.at ?? 0, decision: r.decision };
  });
  const p = newPartitionRouter(0, q.override);
  const replayed: RecordedDecision[] = [];
  const versions = new Set<string>();
  let inWindow = 0;
  entries.forEach((e, i) => {
    if (e.input.type === 'config') versions.add(e.input.version);
    const ds = applyEntry(p, e);
    if (e.at < q.fromMs) return;
    inWindow++;
    for (const d of ds) replayed.push({ eventIndex: i, at: e.at, decision: d });
  });
  return {
    partition: q.partition,
    from: new Date(q.fromMs).toISOString(),
    to: new Date(q.toMs).toISOString(),
    eventsReplayed: entries.length,
    eventsInWindow: inWindow,
    configVersions: [...versions],
    diff: diffDecisions(recorded, replayed),
  };
}
