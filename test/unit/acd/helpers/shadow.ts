import type { Agent } from '../../../../server/domain/agent.js';
import { validateAgent } from '../../../../server/domain/agent.js';
import { checkCapacity, resolveCosts } from '../../../../server/domain/capacity.js';
import type { Channel } from '../../../../server/domain/channel.js';
import { CHANNELS } from '../../../../server/domain/channel.js';
import type { Presence } from '../../../../server/domain/presence.js';
import { canTransitionPresence, validatePresence } from '../../../../server/domain/presence.js';
import type { EffectiveRequirements } from '../../../../server/domain/queue.js';
import { effectiveRequirements, relaxationStepAt } from '../../../../server/domain/queue.js';
import type { Task } from '../../../../server/domain/task.js';
import { validateTask } from '../../../../server/domain/task.js';
import type { RouterConfig } from '../../../../server/acd/config.js';
import { agingBoundMs } from '../../../../server/acd/config.js';
import type { RouterDecision } from '../../../../server/acd/decisions.js';
import type { RouterEvent } from '../../../../server/acd/events.js';

/*
 * An independent model of what the router must guarantee, built only from
 * the events sent and the decisions received (never from router internals),
 * with eligibility recomputed from the domain rules. It throws a
 * PropertyViolation naming the property as soon as one fails:
 *
 * - double-assignment: a task routed while not waiting, two accepted offers,
 *   an offer naming the same agent twice;
 * - capacity: reserved + accepted units above capacity, a blocked channel
 *   offered, units not the agent's cost;
 * - eligibility: an offer to an agent the rules do not allow;
 * - starvation: a task served while an older same-channel task, eligible for
 *   that agent, had waited longer than the aging bound before it;
 * - work-conservation: after a call, a waiting task and a ready agent that
 *   could take it (the router left work on the table), or a timer not fired;
 * - rejection: an event rejected that should pass, or accepted that should not;
 * - timing: a timer fired early (max wait, offer expiry, wrap-up).
 */

export type Property =
  | 'double-assignment'
  | 'capacity'
  | 'eligibility'
  | 'starvation'
  | 'work-conservation'
  | 'rejection'
  | 'timing';

export class PropertyViolation extends Error {
  constructor(
    readonly property: Property,
    message: string,
  ) {
    super(`[${property}] ${message}`);
    this.name = 'PropertyViolation';
  }
}

interface ShadowOffer {
  readonly id: string;
  readonly taskId: string;
  readonly agentId: string;
  readonly units: number;
  readonly channel: Channel;
  readonly expiresAt: number;
}

interface ShadowTask {
  readonly task: Task;
  queueId: string;
  queueEnteredAt: number;
  state: 'queued' | 'offered' | 'assigned';
  readonly offers: Set<string>;
  readonly excluded: Map<string, number>;
  preferenceDropped: boolean;
  effStep: number;
  eff: EffectiveRequirements | undefined;
}

interface ShadowAgent {
  profile: Agent;
  levels: Map<string, number>;
  costs: Record<Channel, number>;
  capacity: number;
  presence: Presence;
  load: number;
  readonly items: Record<Channel, number>;
  readonly pending: Set<string>;
  readonly active: Map<string, { units: number; channel: Channel }>;
  misses: number;
}

export interface ShadowStats {
  routes: number;
  offers: number;
  assigned: number;
  requeued: number;
  removed: number;
  overflowed: number;
  rejected: number;
  starvationChecks: number;
  pairChecks: number;
}

export class Shadow {
  readonly tasks = new Map<string, ShadowTask>();
  readonly agents = new Map<string, ShadowAgent>();
  readonly offers = new Map<string, ShadowOffer>();
  readonly stats: ShadowStats = {
    routes: 0,
    offers: 0,
    assigned: 0,
    requeued: 0,
    removed: 0,
    overflowed: 0,
    rejected: 0,
    starvationChecks: 0,
    pairChecks: 0,
  };
  private readonly bound: number;
  private expectReject: string | undefined;
  private expectRequeue: string | undefined;
  private pendingRemoval: { taskId: string; reason: 'cancelled' | 'abandoned' } | undefined;

  constructor(private readonly config: RouterConfig) {
    this.bound = agingBoundMs(config);
  }

  private fail(p: Property, msg: string): never {
    throw new PropertyViolation(p, msg);
  }

  // ------------------------------------------------------------ events, applied before the outputs

  /** Applies what an event does by itself and notes what the outputs must show. */
  beforeEvent(ev: RouterEvent, now: number): void {
    this.expectReject = undefined;
    this.expectRequeue = undefined;
    this.pendingRemoval = undefined;
    switch (ev.type) {
      case 'task_enqueued': {
        const task = ev.task;
        const q = this.config.queues.get(task.queueId);
        const err = validateTask(task, this.config.aging.maxPriority);
        if (err !== undefined) this.expectReject = err.code;
        else if (this.tasks.has(task.id)) this.expectReject = 'task.duplicate';
        else if (q === undefined) this.expectReject = 'queue.unknown';
        else if (q.tenantId !== task.tenantId) this.expectReject = 'task.tenant_mismatch';
        else {
          this.tasks.set(task.id, {
            task,
            queueId: task.queueId,
            queueEnteredAt: now,
            state: 'queued',
            offers: new Set(),
            excluded: new Map(),
            preferenceDropped: false,
            effStep: -1,
            eff: undefined,
          });
        }
        return;
      }
      case 'task_cancelled':
      case 'task_abandoned': {
        const t = this.tasks.get(ev.taskId);
        if (t === undefined) this.expectReject = 'task.unknown';
        else if (t.state === 'assigned') this.expectReject = 'task.already_assigned';
        else this.pendingRemoval = { taskId: ev.taskId, reason: ev.type === 'task_cancelled' ? 'cancelled' : 'abandoned' };
        return;
      }
      case 'agent_upserted': {
        const err = validateAgent(ev.agent);
        const prev = this.agents.get(ev.agent.id);
        if (err !== undefined) this.expectReject = err.code;
        else if (prev !== undefined && prev.profile.tenantId !== ev.agent.tenantId && (prev.pending.size > 0 || prev.active.size > 0)) {
          this.expectReject = 'agent.tenant_change';
        } else if (prev === undefined) {
          this.agents.set(ev.agent.id, {
            ...this.profileFields(ev.agent),
            presence: { kind: 'offline' },
            load: 0,
            items: { voice: 0, video: 0, chat: 0, wechat: 0, sms: 0, email: 0 },
            pending: new Set(),
            active: new Map(),
            misses: 0,
          });
        } else {
          Object.assign(prev, this.profileFields(ev.agent));
        }
        return;
      }
      case 'agent_presence_changed': {
        const a = this.agents.get(ev.agentId);
        const err = validatePresence(ev.presence);
        if (a === undefined) this.expectReject = 'agent.unknown';
        else if (err !== undefined) this.expectReject = err.code;
        else if (!canTransitionPresence(a.presence, ev.presence)) this.expectReject = 'presence.invalid_transition';
        else this.setPresence(a, ev.presence);
        return;
      }
      case 'offer_accepted':
        if (!this.offers.has(ev.offerId)) this.expectReject = 'offer.not_pending';
        return;
      case 'offer_declined':
      case 'offer_timed_out': {
        const o = this.offers.get(ev.offerId);
        if (o === undefined) {
          this.expectReject = 'offer.not_pending';
          return;
        }
        this.failOffer(o, now, ev.type === 'offer_timed_out');
        return;
      }
      case 'capacity_released': {
        const a = this.agents.get(ev.agentId);
        const w = a?.active.get(ev.taskId);
        if (a === undefined || w === undefined) {
          this.expectReject = 'assignment.unknown';
          return;
        }
        a.active.delete(ev.taskId);
        a.load -= w.units;
        a.items[w.channel]--;
        this.tasks.delete(ev.taskId);
        return;
      }
      case 'tick':
        return;
    }
  }

  private profileFields(agent: Agent): Pick<ShadowAgent, 'profile' | 'levels' | 'costs' | 'capacity'> {
    return {
      profile: agent,
      levels: new Map(agent.skills.map((s) => [s.skillId, s.level])),
      costs: resolveCosts(this.config.channelCosts, agent.channelCosts),
      capacity: agent.capacity ?? this.config.defaultCapacity,
    };
  }

  private setPresence(a: ShadowAgent, p: Presence): void {
    if (a.presence.kind !== 'ready' && p.kind === 'ready') a.misses = 0;
    a.presence = p;
  }

  private releaseOffer(o: ShadowOffer): void {
    const a = this.agents.get(o.agentId)!;
    a.load -= o.units;
    a.items[o.channel]--;
    a.pending.delete(o.id);
    this.offers.delete(o.id);
    this.tasks.get(o.taskId)?.offers.delete(o.id);
  }

  /** Decline or miss: release, exclude for the cooldown, drop a preference for that agent. */
  private failOffer(o: ShadowOffer, now: number, missed: boolean): void {
    this.releaseOffer(o);
    const t = this.tasks.get(o.taskId)!;
    if (this.config.declineCooldownMs > 0) t.excluded.set(o.agentId, now + this.config.declineCooldownMs);
    if (t.task.preferredAgentId === o.agentId) t.preferenceDropped = true;
    if (t.offers.size === 0) this.expectRequeue = t.task.id;
    if (missed) this.agents.get(o.agentId)!.misses++;
  }

  // ------------------------------------------------------------ outputs

  afterDecisions(ev: RouterEvent, ds: readonly RouterDecision[], now: number): void {
    const rejected = ds.find((d) => d.kind === 'event_rejected');
    if (rejected !== undefined || this.expectReject !== undefined) {
      const code = rejected?.kind === 'event_rejected' ? rejected.code : undefined;
      if (code !== this.expectReject) {
        this.fail('rejection', `${ev.type}: expected ${this.expectReject ?? 'acceptance'}, router said ${code ?? 'accepted'}`);
      }
      this.stats.rejected++;
      if (ds.length !== 1) this.fail('rejection', `a rejected ${ev.type} still produced ${ds.length - 1} decisions`);
      return;
    }
    for (const d of ds) this.apply(ev, d, now);
    if (this.expectRequeue !== undefined) this.fail('double-assignment', `task ${this.expectRequeue} lost its last offer but was not requeued`);
    if (this.pendingRemoval !== undefined) this.fail('rejection', `task ${this.pendingRemoval.taskId} was not removed`);
    this.checkQuiescent(now);
  }

  private apply(ev: RouterEvent, d: RouterDecision, now: number): void {
    switch (d.kind) {
      case 'route':
        return this.onRoute(d, now);
      case 'offer_cancelled': {
        const o = this.offers.get(d.offerId);
        if (o === undefined) this.fail('double-assignment', `cancelled offer ${d.offerId} was not pending`);
        if (d.reason === 'timed_out') {
          if (o.expiresAt > now) this.fail('timing', `offer ${o.id} timed out at ${now} before ${o.expiresAt}`);
          this.failOffer(o, now, true);
          return;
        }
        if (d.reason === 'task_left' && this.pendingRemoval?.taskId !== o.taskId) this.fail('rejection', `offer ${o.id} withdrawn for a task nobody removed`);
        if (d.reason === 'agent_unavailable' && this.agents.get(o.agentId)!.presence.kind === 'ready') {
          this.fail('rejection', `offer ${o.id} withdrawn though the agent is ready`);
        }
        if (d.reason === 'answered_elsewhere' && this.tasks.get(o.taskId)?.state !== 'assigned') {
          this.fail('double-assignment', `offer ${o.id} withdrawn as answered elsewhere but the task is not assigned`);
        }
        this.releaseOffer(o);
        if (d.reason === 'agent_unavailable') {
          const t = this.tasks.get(o.taskId)!;
          if (t.offers.size === 0) this.expectRequeue = t.task.id;
        }
        return;
      }
      case 'task_assigned': {
        const o = this.offers.get(d.offerId);
        if (ev.type !== 'offer_accepted' || ev.offerId !== d.offerId || o === undefined) {
          this.fail('double-assignment', `task ${d.taskId} assigned through ${d.offerId} without that offer being pending and accepted`);
        }
        const t = this.tasks.get(d.taskId)!;
        if (t.state !== 'offered') this.fail('double-assignment', `task ${d.taskId} assigned while ${t.state}`);
        const a = this.agents.get(o.agentId)!;
        a.pending.delete(o.id);
        this.offers.delete(o.id);
        t.offers.delete(o.id);
        a.active.set(t.task.id, { units: o.units, channel: o.channel });
        a.misses = 0;
        t.state = 'assigned';
        this.stats.assigned++;
        return;
      }
      case 'task_requeued': {
        const t = this.tasks.get(d.taskId);
        if (t === undefined || t.state !== 'offered' || t.offers.size > 0) {
          this.fail('double-assignment', `task ${d.taskId} requeued while ${t?.state ?? 'unknown'} with ${t?.offers.size ?? 0} offers`);
        }
        if (this.expectRequeue === d.taskId) this.expectRequeue = undefined;
        t.state = 'queued';
        this.stats.requeued++;
        return;
      }
      case 'task_overflowed': {
        const t = this.tasks.get(d.taskId);
        if (t === undefined || t.state !== 'queued' || t.queueId !== d.fromQueueId) this.fail('double-assignment', `overflow of ${d.taskId} not waiting in ${d.fromQueueId}`);
        const q = this.config.queues.get(t.queueId)!;
        if (q.maxWaitMs === undefined || now < t.queueEnteredAt + q.maxWaitMs) this.fail('timing', `task ${d.taskId} overflowed before its max wait`);
        if (q.overflowQueueId !== d.toQueueId) this.fail('timing', `task ${d.taskId} overflowed to ${d.toQueueId}, not ${q.overflowQueueId}`);
        t.queueId = d.toQueueId;
        t.queueEnteredAt = now;
        t.eff = undefined;
        t.effStep = -1;
        this.stats.overflowed++;
        return;
      }
      case 'task_removed': {
        const t = this.tasks.get(d.taskId);
        if (t === undefined || t.state === 'assigned' || t.offers.size > 0) this.fail('double-assignment', `removal of ${d.taskId} in a wrong state`);
        if (d.reason === 'max_wait') {
          const q = this.config.queues.get(t.queueId)!;
          if (q.maxWaitMs === undefined || now < t.queueEnteredAt + q.maxWaitMs || q.overflowQueueId !== undefined) {
            this.fail('timing', `task ${d.taskId} removed for max wait early or despite an overflow target`);
          }
        } else if (this.pendingRemoval?.taskId !== d.taskId || this.pendingRemoval.reason !== d.reason) {
          this.fail('rejection', `task ${d.taskId} removed as ${d.reason} without such an event`);
        } else {
          this.pendingRemoval = undefined;
        }
        this.tasks.delete(d.taskId);
        this.stats.removed++;
        return;
      }
      case 'presence_changed': {
        const a = this.agents.get(d.agentId)!;
        if (d.cause === 'wrap_up_ended') {
          if (a.presence.kind !== 'wrap_up' || a.presence.until > now) this.fail('timing', `wrap-up of ${d.agentId} ended early`);
        } else if (!(this.config.ronaAfterMisses > 0 && a.misses >= this.config.ronaAfterMisses)) {
          this.fail('timing', `RONA for ${d.agentId} after ${a.misses} misses`);
        }
        this.setPresence(a, d.presence);
        return;
      }
      case 'event_rejected':
        return;
    }
  }

  private onRoute(d: Extract<RouterDecision, { kind: 'route' }>, now: number): void {
    const t = this.tasks.get(d.decision.taskId);
    if (t === undefined || t.state !== 'queued') this.fail('double-assignment', `task ${d.decision.taskId} routed while ${t?.state ?? 'unknown'}`);
    if (d.offers.length === 0 || new Set(d.offers.map((o) => o.agentId)).size !== d.offers.length) {
      this.fail('double-assignment', `decision ${d.decision.id} offers ${d.offers.map((o) => o.agentId).join(',')}`);
    }
    this.stats.routes++;
    for (const o of d.offers) {
      if (this.offers.has(o.id)) this.fail('double-assignment', `offer id ${o.id} reused`);
      const a = this.agents.get(o.agentId);
      if (a === undefined) this.fail('eligibility', `offer to unknown agent ${o.agentId}`);
      const why = this.ineligible(t, a, now, false);
      if (why !== undefined) this.fail(why.startsWith('capacity') ? 'capacity' : 'eligibility', `task ${t.task.id} offered to ${o.agentId}: ${why}`);
      if (o.units !== a.costs[t.task.channel]) this.fail('capacity', `offer ${o.id} reserves ${o.units} units, cost is ${a.costs[t.task.channel]}`);
      this.checkOvertaking(t, o.agentId, now);
      a.load += o.units;
      a.items[o.channel]++;
      if (a.load > a.capacity) this.fail('capacity', `agent ${a.profile.id} at ${a.load}/${a.capacity}`);
      a.pending.add(o.id);
      this.offers.set(o.id, { id: o.id, taskId: t.task.id, agentId: o.agentId, units: o.units, channel: o.channel, expiresAt: o.expiresAt });
      t.offers.add(o.id);
      this.stats.offers++;
    }
    t.state = 'offered';
  }

  /** No same-channel task eligible for this agent waited more than the aging bound longer than the one served. */
  private checkOvertaking(served: ShadowTask, agentId: string, now: number): void {
    const a = this.agents.get(agentId)!;
    const limit = served.task.enqueuedAt - this.bound;
    for (const u of this.tasks.values()) {
      if (u === served || u.state !== 'queued' || u.task.channel !== served.task.channel || !(u.task.enqueuedAt < limit)) continue;
      this.stats.starvationChecks++;
      if (this.ineligible(u, a, now, true) === undefined) {
        this.fail(
          'starvation',
          `task ${served.task.id} (enqueued ${served.task.enqueuedAt}, p${served.task.priority}) given to ${agentId} while ${u.task.id} (enqueued ${u.task.enqueuedAt}, p${u.task.priority}) waited; bound ${this.bound} ms`,
        );
      }
    }
  }

  /** Why this agent may not take this waiting task now, or undefined when it may. */
  ineligible(t: ShadowTask, a: ShadowAgent, now: number, ignoreCapacity: boolean): string | undefined {
    const task = t.task;
    if (a.presence.kind !== 'ready') return 'not ready';
    if (a.profile.tenantId !== task.tenantId) return 'tenant';
    const until = t.excluded.get(a.profile.id);
    if (until !== undefined && until > now) return 'excluded';
    if (!(a.profile.channels ?? CHANNELS).includes(task.channel)) return 'channel disabled';
    const pid = task.preferredAgentId;
    const pAgent = pid === undefined ? undefined : this.agents.get(pid);
    const preferred = pid !== undefined && !t.preferenceDropped && task.preferredUntil! > now && (pAgent === undefined || pAgent.profile.tenantId === task.tenantId);
    if (preferred && pid !== a.profile.id) return 'preferred for another';
    if (!preferred) {
      const q = this.config.queues.get(t.queueId)!;
      const step = relaxationStepAt(q, now - t.queueEnteredAt);
      if (t.eff === undefined || t.effStep !== step) {
        t.eff = effectiveRequirements(q, task.requiredSkills, step);
        t.effStep = step;
      }
      const eff = t.eff;
      if (eff.agentGroups.length > 0 && !eff.agentGroups.some((g) => a.profile.agentGroups.includes(g))) return 'group';
      for (const r of eff.skills) if ((a.levels.get(r.skillId) ?? 0) < r.minLevel) return `skill ${r.skillId}`;
    }
    if (!ignoreCapacity) {
      const v = checkCapacity({ capacity: a.capacity, costs: a.costs, rules: this.config.blockRules }, { loadUnits: a.load, items: a.items }, task.channel);
      if (!v.ok) return v.code;
    }
    return undefined;
  }

  /** After a call: every due timer fired, and no waiting task could go to a ready agent. */
  checkQuiescent(now: number): void {
    for (const o of this.offers.values()) if (o.expiresAt <= now) this.fail('timing', `offer ${o.id} still pending after ${o.expiresAt}`);
    const ready: ShadowAgent[] = [];
    for (const a of this.agents.values()) {
      if (a.presence.kind === 'wrap_up' && a.presence.until <= now) this.fail('timing', `agent ${a.profile.id} still in wrap-up after ${a.presence.until}`);
      if (a.presence.kind === 'ready' && a.load < a.capacity) ready.push(a);
    }
    for (const t of this.tasks.values()) {
      if (t.state !== 'queued') continue;
      const q = this.config.queues.get(t.queueId)!;
      if (q.maxWaitMs !== undefined && now >= t.queueEnteredAt + q.maxWaitMs) this.fail('timing', `task ${t.task.id} still waiting past its max wait`);
      for (const a of ready) {
        if (a.load + a.costs[t.task.channel] > a.capacity) continue;
        this.stats.pairChecks++;
        if (this.ineligible(t, a, now, false) === undefined) {
          this.fail('work-conservation', `task ${t.task.id} waits while ${a.profile.id} could take it at ${now}`);
        }
      }
    }
  }
}
