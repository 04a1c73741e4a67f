import type { Agent } from '../domain/agent.js';
import type { Channel } from '../domain/channel.js';
import { AppError } from '../domain/errors.js';
import type { Offer } from '../domain/offer.js';
import type { Presence } from '../domain/presence.js';
import { relaxationStepAt } from '../domain/queue.js';
import type { Task } from '../domain/task.js';
import { clearBit, setBit } from './bitset.js';
import type { RouterConfig } from './config.js';
import type { OfferRt, RouterState, TaskStatus } from './state.js';
import {
  TIMER_EXCLUSION,
  TIMER_OFFER,
  TIMER_PREFERENCE,
  TIMER_WRAP_UP,
  createStateImpl,
  idCmp,
  impl,
  newTaskRt,
  opaque,
  placeTask,
  pushTimer,
  refreshAvailability,
  scheduleQueueTimers,
  upsertAgentProfile,
} from './state.js';

/**
 * The router's live state as plain data: what the shell keeps in Redis (one
 * record per agent, task and pending offer) and what a standby rebuilds from.
 * Indexes are derived, never stored. Everything is sorted by id, so equal
 * states export equal snapshots.
 */
export interface RouterSnapshot {
  readonly formatVersion: 1;
  readonly now: number;
  readonly agents: readonly AgentSnapshot[];
  readonly tasks: readonly TaskSnapshot[];
  /** Pending offers only; closed ones are history, not state. */
  readonly offers: readonly Offer[];
  readonly roundRobin: readonly { readonly queueId: string; readonly agentId: string }[];
}

export interface AgentSnapshot {
  readonly agent: Agent;
  readonly presence: Presence;
  readonly idleSince: number;
  readonly misses: number;
  /** Accepted work in hand. */
  readonly active: readonly { readonly taskId: string; readonly channel: Channel; readonly units: number; readonly offerId: string }[];
}

export interface TaskSnapshot {
  readonly task: Task;
  /** May differ from task.queueId after overflow. */
  readonly queueId: string;
  readonly queueEnteredAt: number;
  readonly status: TaskStatus;
  readonly attempt: number;
  readonly gen: number;
  readonly preferenceDropped: boolean;
  readonly excluded: readonly { readonly agentId: string; readonly until: number }[];
  readonly assignedAgentId?: string;
}

export function exportSnapshot(state: RouterState): RouterSnapshot {
  const s = impl(state);
  const agents = [...s.agents.values()]
    .sort((a, b) => idCmp(a.id, b.id))
    .map(
      (a): AgentSnapshot => ({
        agent: a.profile,
        presence: a.presence,
        idleSince: a.idleSince,
        misses: a.misses,
        active: [...a.active.values()].sort((x, y) => idCmp(x.taskId, y.taskId)).map((w) => ({ ...w })),
      }),
    );
  const tasks = [...s.tasks.values()]
    .sort((a, b) => idCmp(a.id, b.id))
    .map((t): TaskSnapshot => {
      const excluded = [...(t.excluded ?? [])]
        .filter(([, until]) => until > s.now)
        .map(([agentId, until]) => ({ agentId, until }))
        .sort((x, y) => idCmp(x.agentId, y.agentId));
      return {
        task: t.task,
        queueId: t.queue.queue.id,
        queueEnteredAt: t.queueEnteredAt,
        status: t.status,
        attempt: t.attempt,
        gen: t.gen,
        preferenceDropped: t.preferenceDropped,
        excluded,
        ...(t.assignedAgentId !== undefined ? { assignedAgentId: t.assignedAgentId } : {}),
      };
    });
  const offers = [...s.offers.values()].map((o) => o.offer).sort((a, b) => idCmp(a.id, b.id));
  const roundRobin = [...s.rrCursor]
    .map(([queueId, agentId]) => ({ queueId, agentId }))
    .sort((a, b) => idCmp(a.queueId, b.queueId));
  return { formatVersion: 1, now: s.now, agents, tasks, offers, roundRobin };
}

function corrupt(message: string, details: Record<string, unknown>): AppError {
  return new AppError('invalid', 'snapshot.inconsistent', message, { details });
}

/**
 * Rebuilds a router from a snapshot under `config` (which may differ from the
 * one that produced it: what-if). The first `route` call after a restore
 * re-runs matching over every waiting task, so a snapshot taken between a
 * change and its matching (a crash) is completed, not lost.
 * @throws AppError `invalid`/`snapshot.inconsistent` when records contradict
 *   each other or name queues the config lacks.
 */
export function restoreRouterState(config: RouterConfig, snap: RouterSnapshot): RouterState {
  if (snap.formatVersion !== 1) throw corrupt('unknown snapshot format', { formatVersion: snap.formatVersion });
  const s = createStateImpl(config, snap.now);
  for (const as of snap.agents) {
    const a = upsertAgentProfile(s, as.agent);
    a.presence = as.presence;
    if (as.presence.kind !== 'offline') setBit(s.loggedIn, a.ord);
    else clearBit(s.loggedIn, a.ord);
    a.idleSince = as.idleSince;
    a.misses = as.misses;
    for (const w of as.active) {
      a.active.set(w.taskId, { ...w });
      a.load += w.units;
      a.items[w.channel]++;
    }
    if (as.presence.kind === 'wrap_up') pushTimer(s, as.presence.until, TIMER_WRAP_UP, a);
  }
  for (const ts of snap.tasks) {
    const q = s.queues.get(ts.queueId);
    if (q === undefined) throw corrupt(`task ${ts.task.id} is in unknown queue ${ts.queueId}`, { taskId: ts.task.id });
    const t = newTaskRt(s, ts.task, q, ts.queueEnteredAt);
    t.status = ts.status;
    t.attempt = ts.attempt;
    t.gen = ts.gen;
    t.preferenceDropped = ts.preferenceDropped;
    t.assignedAgentId = ts.assignedAgentId;
    t.step = relaxationStepAt(q.queue, s.now - ts.queueEnteredAt);
    if (ts.excluded.length > 0) {
      t.excluded = new Map(ts.excluded.map((e) => [e.agentId, e.until]));
      for (const e of ts.excluded) pushTimer(s, e.until, TIMER_EXCLUSION, t);
    }
    s.tasks.set(t.id, t);
    if (t.status !== 'assigned') {
      scheduleQueueTimers(s, t);
      // Also for offered tasks: they may come back to the preferred agent's list before it expires.
      if (t.task.preferredAgentId !== undefined && t.task.preferredUntil! > s.now) pushTimer(s, t.task.preferredUntil!, TIMER_PREFERENCE, t);
    }
    if (t.status === 'queued') placeTask(s, t);
  }
  for (const offer of snap.offers) {
    const a = s.agents.get(offer.agentId);
    const t = s.tasks.get(offer.taskId);
    if (a === undefined || t === undefined || t.status !== 'offered' || offer.status !== 'pending') {
      throw corrupt(`offer ${offer.id} does not match its agent and task`, { offerId: offer.id });
    }
    const o: OfferRt = { offer, agent: a, task: t };
    a.load += offer.units;
    a.items[offer.channel]++;
    a.pending.set(offer.id, o);
    s.offers.set(offer.id, o);
    t.offers.push(o);
    pushTimer(s, offer.expiresAt, TIMER_OFFER, o);
  }
  for (const t of s.tasks.values()) {
    if (t.status === 'offered' && t.offers.length === 0) {
      throw corrupt(`task ${t.id} is offered but has no pending offer`, { taskId: t.id });
    }
    t.offers.sort((x, y) => idCmp(x.offer.id, y.offer.id));
  }
  for (const { queueId, agentId } of snap.roundRobin) s.rrCursor.set(queueId, agentId);
  for (const a of s.byOrd) refreshAvailability(s, a);
  s.touchedAgents.clear();
  s.dirty = true;
  return opaque(s);
}
