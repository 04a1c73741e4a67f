import { isRealTimeChannel } from '../domain/channel.js';
import type { Offer } from '../domain/offer.js';
import { effectiveRequirements } from '../domain/queue.js';
import type { AgentCandidate, RouteDecision, RouteMode, RouteTrigger, TaskCandidate } from '../domain/route-decision.js';
import type { SkillRequirement } from '../domain/skill.js';
import type { AgentRt, OfferRt, StateImpl, TaskRt } from './state.js';
import { TIMER_OFFER, idCmp, isExcluded, pushTimer, refreshAvailability, taskCmp, unplaceTask } from './state.js';

/*
 * The two directions of matching.
 *
 * Task picks agent (`routeTask`): the queue's strategy orders the agents that
 * are available and eligible for the task. Every strategy reduces to a key
 * (k1, k2, agent id), lowest first, so the choice is a minimum under a total
 * order and does not depend on the order candidates are visited in.
 *
 * Agent picks task (`bestTaskFor`): the task with the lowest rank, then id,
 * among the heads of the agent's buckets and its preferred-task list.
 */

interface Scored {
  a: AgentRt;
  k1: number;
  k2: number;
  score: number;
}

const scoredCmp = (x: Scored, y: Scored): number => x.k1 - y.k1 || x.k2 - y.k2 || idCmp(x.a.id, y.a.id);

/** Keeps the best `limit` entries sorted (insertion into a short array). */
function keepTop(top: Scored[], limit: number, e: Scored): void {
  if (limit === 0) return;
  if (top.length === limit && scoredCmp(e, top[limit - 1]!) >= 0) return;
  let i = top.length < limit ? top.length : limit - 1;
  if (top.length < limit) top.push(e);
  while (i > 0 && scoredCmp(e, top[i - 1]!) < 0) {
    top[i] = top[i - 1]!;
    i--;
  }
  top[i] = e;
}

function proficiency(a: AgentRt, reqs: readonly SkillRequirement[]): number {
  let score = 0;
  for (const r of reqs) score += (r.weight ?? 1) * (a.levels.get(r.skillId) ?? 0);
  return score;
}

/**
 * Offers the task to the agent(s) its queue's strategy picks among those
 * available and eligible now. Returns false (and changes nothing) when there
 * is none.
 */
export function routeTask(
  s: StateImpl,
  t: TaskRt,
  trigger: RouteTrigger,
  mode: RouteMode,
  taskAudit: readonly TaskCandidate[] = [],
  tasksConsidered = 0,
): boolean {
  const q = t.queue.queue;
  const channel = t.task.channel;
  const ringAll = q.strategy === 'ring_all' && isRealTimeChannel(channel);
  const strategy = q.strategy;
  const pick = ringAll ? s.config.ringAllMax : 1;
  const limit = Math.max(pick, s.config.auditTopK);
  const now = s.now;
  const reqs = t.bucket !== undefined ? t.bucket.reqs : undefined;
  const cursor = strategy === 'round_robin' ? s.rrCursor.get(q.id) : undefined;
  const top: Scored[] = [];
  let considered = 0;

  const consider = (a: AgentRt): void => {
    considered++;
    let k1: number;
    let k2 = a.idleSince;
    let score: number;
    switch (strategy) {
      case 'least_occupied':
        k1 = a.load / a.capacity;
        score = -Math.round(k1 * 1000) / 10;
        break;
      case 'best_skill_match':
        score = proficiency(a, reqs ?? []);
        k1 = -score;
        break;
      case 'round_robin':
        k1 = cursor === undefined || a.id > cursor ? 0 : 1;
        k2 = 0;
        score = 1 - k1;
        break;
      default: // longest_idle, ring_all: agents with work in hand come after idle ones
        k1 = a.load > 0 ? 1 : 0;
        score = now - a.idleSince;
    }
    // Most candidates lose to the current worst kept entry: skip them before allocating.
    if (top.length === limit) {
      const w = top[limit - 1]!;
      if (k1 > w.k1 || (k1 === w.k1 && (k2 > w.k2 || (k2 === w.k2 && a.id > w.a.id)))) return;
    }
    keepTop(top, limit, { a, k1, k2, score });
  };

  if (t.inPreferredList) {
    const a = s.agents.get(t.task.preferredAgentId!);
    if (a !== undefined && (a.availMask & (1 << t.chIdx)) !== 0 && a.tenantId === t.task.tenantId) {
      if (!isExcluded(s, t, a.id)) consider(a);
    }
  } else {
    const b = t.bucket;
    if (b === undefined) return false;
    const el = b.eligible.w;
    const av = s.availBits[t.chIdx]!.w;
    const n = el.length;
    const byOrd = s.byOrd;
    const checkExcl = t.excluded !== undefined && t.excluded.size > 0;
    for (let i = 0; i < n; i++) {
      let x = el[i]! & av[i]!;
      while (x !== 0) {
        const low = x & -x;
        x ^= low;
        const a = byOrd[(i << 5) + 31 - Math.clz32(low)]!;
        if (checkExcl && isExcluded(s, t, a.id)) continue;
        consider(a);
      }
    }
  }
  if (top.length === 0) return false;

  const chosen = top.slice(0, pick);
  t.attempt++;
  const decisionId = `${t.id}#${t.attempt}`;
  const eff =
    t.bucket !== undefined
      ? { skills: t.bucket.reqs, agentGroups: t.bucket.groups }
      : effectiveRequirements(q, t.task.requiredSkills, t.step);
  const excludedIds: string[] = [];
  if (t.excluded !== undefined) {
    for (const [id, until] of t.excluded) if (until > now) excludedIds.push(id);
    excludedIds.sort(idCmp);
  }
  const audit: AgentCandidate[] = top.slice(0, s.config.auditTopK).map((e) => ({
    agentId: e.a.id,
    score: e.score,
    idleMs: now - e.a.idleSince,
    loadUnits: e.a.load,
  }));
  const inputs: RouteDecision['inputs'] = {
    priority: t.task.priority,
    rank: t.rank,
    waitedMs: now - t.task.enqueuedAt,
    relaxationStep: t.step,
    requiredSkills: eff.skills,
    agentGroups: eff.agentGroups,
    ...(t.inPreferredList ? { preferredAgentId: t.task.preferredAgentId! } : {}),
    excludedAgentIds: excludedIds,
  };
  const decision: RouteDecision = {
    id: decisionId,
    at: now,
    tenantId: t.task.tenantId,
    taskId: t.id,
    queueId: q.id,
    channel,
    trigger,
    mode,
    strategy,
    agentIds: chosen.map((e) => e.a.id),
    inputs,
    candidates: { agents: audit, agentsConsidered: considered, tasks: taskAudit, tasksConsidered },
    configVersion: s.config.version,
  };

  unplaceTask(s, t);
  t.status = 'offered';
  const timeout = q.offerTimeoutMs ?? s.config.offerTimeoutMs[channel];
  const offers: Offer[] = [];
  for (const e of chosen) {
    const a = e.a;
    const offer: Offer = {
      id: `${decisionId}@${a.id}`,
      decisionId,
      taskId: t.id,
      agentId: a.id,
      tenantId: t.task.tenantId,
      channel,
      units: a.costs[channel],
      createdAt: now,
      expiresAt: now + timeout,
      status: 'pending',
    };
    const o: OfferRt = { offer, agent: a, task: t };
    a.load += offer.units;
    a.items[channel]++;
    a.pending.set(offer.id, o);
    s.offers.set(offer.id, o);
    t.offers.push(o);
    pushTimer(s, offer.expiresAt, TIMER_OFFER, o);
    refreshAvailability(s, a);
    offers.push(offer);
  }
  if (strategy === 'round_robin') s.rrCursor.set(q.id, chosen[0]!.a.id);
  s.out.push({ kind: 'route', decision, offers });
  return true;
}

/** Whether some agent could be offered this waiting task now (no scoring, no change). */
export function hasCandidate(s: StateImpl, t: TaskRt): boolean {
  if (t.inPreferredList) {
    const a = s.agents.get(t.task.preferredAgentId!);
    return a !== undefined && (a.availMask & (1 << t.chIdx)) !== 0 && a.tenantId === t.task.tenantId && !isExcluded(s, t, a.id);
  }
  const b = t.bucket;
  if (b === undefined) return false;
  const el = b.eligible.w;
  const av = s.availBits[t.chIdx]!.w;
  for (let i = 0; i < el.length; i++) {
    let x = el[i]! & av[i]!;
    while (x !== 0) {
      const low = x & -x;
      x ^= low;
      if (!isExcluded(s, t, s.byOrd[(i << 5) + 31 - Math.clz32(low)]!.id)) return true;
    }
  }
  return false;
}

export interface TaskPick {
  readonly task: TaskRt;
  readonly audit: readonly TaskCandidate[];
  readonly considered: number;
}

/**
 * The best-ranked task this agent can take now, across every queue it serves,
 * or undefined. `withAudit` collects the best few bucket heads for the record.
 */
export function bestTaskFor(s: StateImpl, a: AgentRt, withAudit: boolean): TaskPick | undefined {
  const mask = a.availMask;
  if (mask === 0) return undefined;
  let best: TaskRt | undefined;
  let considered = 0;
  const limit = withAudit ? s.config.auditTopK : 0;
  const top: TaskRt[] = [];
  const consider = (t: TaskRt): void => {
    considered++;
    if (best === undefined || taskCmp(t, best) < 0) best = t;
    if (limit > 0 && (top.length < limit || taskCmp(t, top[top.length - 1]!) < 0)) {
      let i = top.length < limit ? top.length : limit - 1;
      if (top.length < limit) top.push(t);
      while (i > 0 && taskCmp(t, top[i - 1]!) < 0) {
        top[i] = top[i - 1]!;
        i--;
      }
      top[i] = t;
    }
  };

  const preferred = s.preferred.get(a.id);
  if (preferred !== undefined) {
    for (const t of preferred) {
      if ((mask & (1 << t.chIdx)) !== 0 && t.task.tenantId === a.tenantId && !isExcluded(s, t, a.id)) {
        consider(t);
        break;
      }
    }
  }
  const buckets = a.buckets;
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i]!;
    if ((mask & b.chBit) === 0 || b.tasks.size === 0) continue;
    if (b.excludedCount === 0) {
      consider(b.tasks.first()!);
      continue;
    }
    for (const t of b.tasks) {
      if (!isExcluded(s, t, a.id)) {
        consider(t);
        break;
      }
    }
  }
  if (best === undefined) return undefined;
  const now = s.now;
  return {
    task: best,
    considered,
    audit: top.map((t) => ({
      taskId: t.id,
      queueId: t.queue.queue.id,
      rank: t.rank,
      priority: t.task.priority,
      waitedMs: now - t.task.enqueuedAt,
    })),
  };
}
