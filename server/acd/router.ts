import { validateAgent } from '../domain/agent.js';
import { isOpen } from '../domain/calendar.js';
import type { OfferCancelReason } from '../domain/offer.js';
import type { Presence } from '../domain/presence.js';
import { canTransitionPresence, validatePresence } from '../domain/presence.js';
import { relaxationStepAt } from '../domain/queue.js';
import type { RouteTrigger } from '../domain/route-decision.js';
import { validateTask } from '../domain/task.js';
import { clearBit, setBit } from './bitset.js';
import type { RouterConfig } from './config.js';
import type { RouterDecision, TaskRemovedReason } from './decisions.js';
import type { RouterEvent, RouterEventType } from './events.js';
import { bestTaskFor, hasCandidate, routeTask } from './select.js';
import type { AgentRt, OfferRt, QueueRt, RouterState, StateImpl, TaskRt, Timer } from './state.js';
import {
  TIMER_EXCLUSION,
  TIMER_MAX_WAIT,
  TIMER_OFFER,
  TIMER_PREFERENCE,
  TIMER_RELAX,
  TIMER_WRAP_UP,
  createStateImpl,
  hasExclusions,
  idCmp,
  impl,
  newTaskRt,
  opaque,
  placeTask,
  preferenceActive,
  pushTimer,
  refreshAvailability,
  scheduleQueueTimers,
  taskCmp,
  unplaceTask,
  upsertAgentProfile,
} from './state.js';

export interface RouteResult {
  /** The same object as the input state, advanced (see the note in state.ts). */
  readonly state: RouterState;
  readonly decisions: readonly RouterDecision[];
}

/** An empty router: no agents, no tasks. `now` is the time the state starts at. */
export function createRouterState(config: RouterConfig, now: number): RouterState {
  return opaque(createStateImpl(config, now));
}

/**
 * The router: applies one event at `now` and returns what to do.
 *
 * Order within a call: timers due at or before `now` fire (offer expiry,
 * wrap-up end, preference and exclusion expiry, relaxation, max wait; their
 * effects are computed at `now`, so the shell should tick at `nextDueAt`),
 * then the event applies, then timers made due by it, then matching runs
 * until no waiting task has an available eligible agent (see `settle`).
 *
 * `now` never goes back: an earlier `now` is treated as the last one seen.
 * Invalid or stale events change nothing and yield an `event_rejected`.
 */
export function route(state: RouterState, event: RouterEvent, now: number): RouteResult {
  const s = impl(state);
  if (s.dirty) {
    // After a restore, at the snapshot's own time: finish matching a snapshot taken mid-way
    // (e.g. by a crash). A consistent snapshot has no routable task, so the run continues
    // exactly as the original would have.
    s.dirty = false;
    for (const t of s.tasks.values()) if (t.status === 'queued' && hasCandidate(s, t)) s.touchedTasks.set(t, 'rebuild');
  }
  if (now > s.now) s.now = now;
  const out: RouterDecision[] = [];
  s.out = out;
  fireDueTimers(s);
  applyEvent(s, event);
  fireDueTimers(s);
  settle(s);
  s.out = [];
  return { state, decisions: out };
}

/** When the shell should next send a `tick` (the earliest live timer), or undefined. */
export function nextDueAt(state: RouterState): number | undefined {
  const s = impl(state);
  for (;;) {
    const top = s.timers.peek();
    if (top === undefined) return undefined;
    if (timerLive(s, top)) return top.at;
    s.timers.pop();
  }
}

// ---------------------------------------------------------------- matching

/*
 * Matching to quiescence. Candidates are the tasks that became routable in
 * this call and, for each agent that gained room, the best task it could
 * take. The best-ranked candidate goes first and picks its agent(s) by its
 * queue's strategy among all available eligible agents; repeat until no
 * candidate is left. Taking candidates in global rank order is what keeps
 * the aging bound: a task is never served while a better-ranked one that
 * the same agent could take still waits.
 */
function settle(s: StateImpl): void {
  if (s.touchedAgents.size === 0 && s.touchedTasks.size === 0) return;
  let agents: AgentRt[] = [];
  for (const a of s.touchedAgents) if (a.availMask !== 0) agents.push(a);
  if (agents.length > 1) agents.sort((x, y) => idCmp(x.id, y.id));
  s.touchedAgents.clear();
  const tasks: [TaskRt, RouteTrigger][] = [];
  for (const e of s.touchedTasks) tasks.push(e);
  s.touchedTasks.clear();
  if (tasks.length > 1) tasks.sort((x, y) => taskCmp(x[0], y[0]));
  let ti = 0;
  for (;;) {
    while (ti < tasks.length && (tasks[ti]![0].status !== 'queued' || s.tasks.get(tasks[ti]![0].id) !== tasks[ti]![0])) ti++;
    let bestPick: ReturnType<typeof bestTaskFor>;
    let picker: AgentRt | undefined;
    for (const a of agents) {
      const pick = bestTaskFor(s, a, s.config.auditTopK > 0);
      if (pick !== undefined && (bestPick === undefined || taskCmp(pick.task, bestPick.task) < 0)) {
        bestPick = pick;
        picker = a;
      }
    }
    const next = tasks[ti];
    if (next !== undefined && (bestPick === undefined || taskCmp(next[0], bestPick.task) <= 0)) {
      routeTask(s, next[0], next[1], 'task_picks_agent');
      ti++;
    } else if (bestPick !== undefined) {
      const ok = routeTask(s, bestPick.task, 'agent_available', 'agent_picks_task', bestPick.audit, bestPick.considered);
      // Cannot fail (the picking agent is available and eligible); never loop on it if it did.
      if (!ok) agents = agents.filter((a) => a !== picker);
    } else {
      break;
    }
    if (agents.some((a) => a.availMask === 0)) agents = agents.filter((a) => a.availMask !== 0);
  }
  // Reservations made here only take room away; nothing gained room during matching.
  s.touchedAgents.clear();
  s.touchedTasks.clear();
}

const touchTask = (s: StateImpl, t: TaskRt, trigger: RouteTrigger): void => {
  if (!s.touchedTasks.has(t)) s.touchedTasks.set(t, trigger);
};

// ---------------------------------------------------------------- events

function reject(s: StateImpl, eventType: RouterEventType, code: string, message: string): void {
  s.out.push({ kind: 'event_rejected', eventType, code, message });
}

function applyEvent(s: StateImpl, ev: RouterEvent): void {
  switch (ev.type) {
    case 'task_enqueued':
      return enqueue(s, ev);
    case 'task_cancelled':
    case 'task_abandoned':
      return removeByCustomer(s, ev.type, ev.taskId);
    case 'agent_upserted': {
      const err = validateAgent(ev.agent);
      if (err !== undefined) return reject(s, ev.type, err.code, err.message);
      const prev = s.agents.get(ev.agent.id);
      const tenantBefore = prev?.tenantId;
      if (prev !== undefined && prev.tenantId !== ev.agent.tenantId && (prev.pending.size > 0 || prev.active.size > 0)) {
        return reject(s, ev.type, 'agent.tenant_change', `agent ${ev.agent.id} has work and cannot change tenant`);
      }
      const a = upsertAgentProfile(s, ev.agent);
      // New skills or groups can make waiting tasks eligible without changing availability.
      if (a.availMask !== 0) s.touchedAgents.add(a);
      // A preference holds only within the tenant (see preferenceActive): when that changes,
      // tasks preferring this agent move between its list and their buckets. A new agent can
      // only have tasks parked in its list; a tenant change (rare) needs a scan.
      const affected =
        prev === undefined
          ? [...(s.preferred.get(a.id) ?? [])]
          : tenantBefore !== a.tenantId
            ? [...s.tasks.values()].filter((t) => t.status === 'queued' && t.task.preferredAgentId === a.id)
            : [];
      for (const t of affected) {
        if (t.inPreferredList === preferenceActive(s, t)) continue;
        unplaceTask(s, t);
        placeTask(s, t);
        touchTask(s, t, 'preference_expired');
      }
      return;
    }
    case 'agent_presence_changed': {
      const a = s.agents.get(ev.agentId);
      if (a === undefined) return reject(s, ev.type, 'agent.unknown', `agent ${ev.agentId} is unknown`);
      const err = validatePresence(ev.presence);
      if (err !== undefined) return reject(s, ev.type, err.code, err.message);
      if (!canTransitionPresence(a.presence, ev.presence)) {
        return reject(s, ev.type, 'presence.invalid_transition', `cannot go from ${a.presence.kind} to ${ev.presence.kind}`);
      }
      setPresence(s, a, ev.presence);
      return;
    }
    case 'offer_accepted': {
      const o = s.offers.get(ev.offerId);
      if (o === undefined) return reject(s, ev.type, 'offer.not_pending', `offer ${ev.offerId} is not pending`);
      return accept(s, o);
    }
    case 'offer_declined': {
      const o = s.offers.get(ev.offerId);
      if (o === undefined) return reject(s, ev.type, 'offer.not_pending', `offer ${ev.offerId} is not pending`);
      return offerFailed(s, o, 'declined');
    }
    case 'offer_timed_out': {
      const o = s.offers.get(ev.offerId);
      if (o === undefined) return reject(s, ev.type, 'offer.not_pending', `offer ${ev.offerId} is not pending`);
      return missed(s, o);
    }
    case 'capacity_released': {
      const a = s.agents.get(ev.agentId);
      const w = a?.active.get(ev.taskId);
      if (a === undefined || w === undefined) {
        return reject(s, ev.type, 'assignment.unknown', `agent ${ev.agentId} holds no task ${ev.taskId}`);
      }
      a.active.delete(ev.taskId);
      a.load -= w.units;
      a.items[w.channel]--;
      s.tasks.delete(ev.taskId);
      if (a.load === 0 && a.presence.kind === 'ready') a.idleSince = s.now;
      refreshAvailability(s, a);
      return;
    }
    case 'tick':
      return;
  }
}

function enqueue(s: StateImpl, ev: Extract<RouterEvent, { type: 'task_enqueued' }>): void {
  const task = ev.task;
  const err = validateTask(task, s.config.aging.maxPriority);
  if (err !== undefined) return reject(s, ev.type, err.code, err.message);
  if (s.tasks.has(task.id)) return reject(s, ev.type, 'task.duplicate', `task ${task.id} is already known`);
  const q = s.queues.get(task.queueId);
  if (q === undefined) return reject(s, ev.type, 'queue.unknown', `queue ${task.queueId} is unknown`);
  if (q.queue.tenantId !== task.tenantId) {
    return reject(s, ev.type, 'task.tenant_mismatch', `task ${task.id} and queue ${q.queue.id} belong to different tenants`);
  }
  if (q.queue.calendar !== undefined && !isOpen(q.queue.calendar, s.now)) {
    s.out.push({
      kind: 'task_removed',
      taskId: task.id,
      queueId: q.queue.id,
      reason: 'queue_closed',
      waitedMs: s.now - task.enqueuedAt,
    });
    return;
  }
  const t = newTaskRt(s, task, q, s.now);
  s.tasks.set(t.id, t);
  scheduleQueueTimers(s, t);
  if (task.preferredAgentId !== undefined && task.preferredUntil! > s.now) {
    pushTimer(s, task.preferredUntil!, TIMER_PREFERENCE, t);
  }
  placeTask(s, t);
  touchTask(s, t, 'task_enqueued');
}

function removeByCustomer(s: StateImpl, type: 'task_cancelled' | 'task_abandoned', taskId: string): void {
  const t = s.tasks.get(taskId);
  if (t === undefined) return reject(s, type, 'task.unknown', `task ${taskId} is unknown`);
  if (t.status === 'assigned') return reject(s, type, 'task.already_assigned', `task ${taskId} is with an agent`);
  const queueId = t.queue.queue.id;
  if (t.status === 'queued') unplaceTask(s, t);
  else for (const o of byOfferId(t.offers)) cancelOffer(s, o, 'task_left');
  s.tasks.delete(taskId);
  s.touchedTasks.delete(t);
  s.out.push({
    kind: 'task_removed',
    taskId,
    queueId,
    reason: type === 'task_cancelled' ? 'cancelled' : 'abandoned',
    waitedMs: s.now - t.task.enqueuedAt,
  });
}

function setPresence(s: StateImpl, a: AgentRt, p: Presence): void {
  const wasReady = a.presence.kind === 'ready';
  a.presence = p;
  if (p.kind === 'offline') clearBit(s.loggedIn, a.ord);
  else setBit(s.loggedIn, a.ord);
  if (!wasReady && p.kind === 'ready') {
    a.idleSince = s.now;
    a.misses = 0;
  }
  if (p.kind === 'wrap_up') pushTimer(s, p.until, TIMER_WRAP_UP, a);
  if (wasReady && p.kind !== 'ready') {
    const pending = byOfferId(a.pending.values());
    for (const o of pending) {
      cancelOffer(s, o, 'agent_unavailable');
      if (o.task.offers.length === 0) requeue(s, o.task, 'agent_unavailable');
    }
  }
  refreshAvailability(s, a);
}

const byOfferId = (offers: Iterable<OfferRt>): OfferRt[] => [...offers].sort((x, y) => idCmp(x.offer.id, y.offer.id));

/** Frees an offer's reservation and forgets it (no output). */
function releaseOffer(s: StateImpl, o: OfferRt): void {
  const a = o.agent;
  a.load -= o.offer.units;
  a.items[o.offer.channel]--;
  a.pending.delete(o.offer.id);
  s.offers.delete(o.offer.id);
  const i = o.task.offers.indexOf(o);
  if (i >= 0) o.task.offers.splice(i, 1);
  refreshAvailability(s, a);
}

function cancelOffer(s: StateImpl, o: OfferRt, reason: OfferCancelReason | 'timed_out'): void {
  releaseOffer(s, o);
  s.out.push({ kind: 'offer_cancelled', offerId: o.offer.id, taskId: o.task.id, agentId: o.agent.id, reason });
}

function accept(s: StateImpl, o: OfferRt): void {
  const a = o.agent;
  const t = o.task;
  a.pending.delete(o.offer.id);
  s.offers.delete(o.offer.id);
  t.offers.splice(t.offers.indexOf(o), 1);
  a.active.set(t.id, { taskId: t.id, channel: o.offer.channel, units: o.offer.units, offerId: o.offer.id });
  a.misses = 0;
  t.status = 'assigned';
  t.assignedAgentId = a.id;
  s.out.push({ kind: 'task_assigned', taskId: t.id, agentId: a.id, offerId: o.offer.id, waitedMs: s.now - t.task.enqueuedAt });
  for (const sibling of byOfferId(t.offers)) cancelOffer(s, sibling, 'answered_elsewhere');
}

/** A decline or a miss: the reservation ends, the agent is kept off this task for a while. */
function offerFailed(s: StateImpl, o: OfferRt, reason: 'declined' | 'timed_out'): void {
  releaseOffer(s, o);
  const t = o.task;
  const agentId = o.agent.id;
  if (s.config.declineCooldownMs > 0) {
    const until = s.now + s.config.declineCooldownMs;
    t.excluded ??= new Map();
    t.excluded.set(agentId, until);
    pushTimer(s, until, TIMER_EXCLUSION, t);
  }
  if (t.task.preferredAgentId === agentId) t.preferenceDropped = true;
  if (t.offers.length === 0) requeue(s, t, reason);
}

function missed(s: StateImpl, o: OfferRt): void {
  const a = o.agent;
  offerFailed(s, o, 'timed_out');
  a.misses++;
  const limit = s.config.ronaAfterMisses;
  if (limit > 0 && a.misses >= limit && a.presence.kind === 'ready') {
    const p: Presence = { kind: 'not_ready', reason: 'rona' };
    // The cause before its effects (withdrawn offers of this agent).
    s.out.push({ kind: 'presence_changed', agentId: a.id, presence: p, cause: 'rona' });
    setPresence(s, a, p);
  }
}

function requeue(s: StateImpl, t: TaskRt, reason: 'declined' | 'timed_out' | 'agent_unavailable'): void {
  t.status = 'queued';
  s.out.push({ kind: 'task_requeued', taskId: t.id, reason });
  const maxWait = t.queue.queue.maxWaitMs;
  if (maxWait !== undefined && s.now >= t.queueEnteredAt + maxWait) {
    maxWaitReached(s, t);
    return;
  }
  placeTask(s, t);
  touchTask(s, t, 'task_requeued');
}

function maxWaitReached(s: StateImpl, t: TaskRt): void {
  unplaceTask(s, t);
  const q = t.queue.queue;
  const target = q.overflowQueueId === undefined ? undefined : s.queues.get(q.overflowQueueId);
  if (target !== undefined) {
    moveToQueue(s, t, target);
    s.out.push({ kind: 'task_overflowed', taskId: t.id, fromQueueId: q.id, toQueueId: target.queue.id });
    return;
  }
  removeTask(s, t, 'max_wait');
}

function removeTask(s: StateImpl, t: TaskRt, reason: TaskRemovedReason): void {
  unplaceTask(s, t);
  s.tasks.delete(t.id);
  s.touchedTasks.delete(t);
  s.out.push({ kind: 'task_removed', taskId: t.id, queueId: t.queue.queue.id, reason, waitedMs: s.now - t.task.enqueuedAt });
}

function moveToQueue(s: StateImpl, t: TaskRt, target: QueueRt): void {
  t.queue = target;
  t.queueEnteredAt = s.now;
  t.step = 0;
  t.gen++;
  scheduleQueueTimers(s, t);
  placeTask(s, t);
  touchTask(s, t, 'overflow');
}

// ---------------------------------------------------------------- timers

/** False only for timers that can never matter again (dropping them early is then harmless). */
function timerLive(s: StateImpl, tm: Timer): boolean {
  switch (tm.kind) {
    case TIMER_OFFER:
      return s.offers.get(tm.id) === tm.ref;
    case TIMER_WRAP_UP: {
      const a = s.agents.get(tm.id);
      return a === tm.ref && a.presence.kind === 'wrap_up' && a.presence.until === tm.at;
    }
    case TIMER_PREFERENCE: {
      // An offered task can come back to its preferred agent's list: only its end or assignment ends this timer.
      const t = s.tasks.get(tm.id);
      return t === tm.ref && t.status !== 'assigned';
    }
    case TIMER_EXCLUSION: {
      const t = s.tasks.get(tm.id);
      return t === tm.ref && t.excluded !== undefined;
    }
    case TIMER_RELAX:
    case TIMER_MAX_WAIT: {
      const t = s.tasks.get(tm.id);
      return t === tm.ref && t.gen === tm.gen && t.status !== 'assigned';
    }
    default:
      return false;
  }
}

function fireDueTimers(s: StateImpl): void {
  const now = s.now;
  for (;;) {
    const top = s.timers.peek();
    if (top === undefined || top.at > now) return;
    s.timers.pop();
    if (timerLive(s, top)) fire(s, top);
  }
}

/** Fires a live timer (see timerLive). */
function fire(s: StateImpl, tm: Timer): void {
  switch (tm.kind) {
    case TIMER_OFFER: {
      const o = s.offers.get(tm.id);
      if (o === undefined) return;
      s.out.push({ kind: 'offer_cancelled', offerId: o.offer.id, taskId: o.task.id, agentId: o.agent.id, reason: 'timed_out' });
      missed(s, o);
      return;
    }
    case TIMER_WRAP_UP: {
      const a = s.agents.get(tm.id);
      if (a === undefined || a.presence.kind !== 'wrap_up' || a.presence.until !== tm.at) return;
      const p: Presence = { kind: 'ready' };
      setPresence(s, a, p);
      s.out.push({ kind: 'presence_changed', agentId: a.id, presence: p, cause: 'wrap_up_ended' });
      return;
    }
    case TIMER_PREFERENCE: {
      const t = s.tasks.get(tm.id);
      if (t === undefined || !t.inPreferredList) return;
      unplaceTask(s, t);
      placeTask(s, t);
      touchTask(s, t, 'preference_expired');
      return;
    }
    case TIMER_EXCLUSION: {
      const t = s.tasks.get(tm.id);
      if (t === undefined || t.excluded === undefined) return;
      const queued = t.status === 'queued';
      if (queued) unplaceTask(s, t);
      for (const [id, until] of t.excluded) if (until <= s.now) t.excluded.delete(id);
      if (!hasExclusions(t)) t.excluded = undefined;
      if (queued) {
        placeTask(s, t);
        touchTask(s, t, 'exclusion_expired');
      }
      return;
    }
    case TIMER_RELAX: {
      const t = s.tasks.get(tm.id);
      if (t === undefined || t.gen !== tm.gen || t.status === 'assigned') return;
      const step = relaxationStepAt(t.queue.queue, s.now - t.queueEnteredAt);
      if (step > t.step) {
        const queued = t.status === 'queued';
        if (queued) unplaceTask(s, t);
        t.step = step;
        if (queued) {
          placeTask(s, t);
          touchTask(s, t, 'relaxation');
        }
      }
      const steps = t.queue.steps;
      if (t.step < steps.length) pushTimer(s, t.queueEnteredAt + steps[t.step]!.afterMs, TIMER_RELAX, t, t.gen);
      return;
    }
    case TIMER_MAX_WAIT: {
      const t = s.tasks.get(tm.id);
      if (t === undefined || t.gen !== tm.gen || t.status !== 'queued') return;
      maxWaitReached(s, t);
      return;
    }
  }
}
