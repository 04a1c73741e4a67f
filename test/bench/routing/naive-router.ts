import type { Agent } from '../../../server/domain/agent.js';
import type { CapacityPolicy } from '../../../server/domain/capacity.js';
import { checkCapacity, emptyWorkload, resolveCosts } from '../../../server/domain/capacity.js';
import type { Channel } from '../../../server/domain/channel.js';
import type { EffectiveRequirements, Queue } from '../../../server/domain/queue.js';
import { effectiveRequirements, relaxationStepAt } from '../../../server/domain/queue.js';
import type { Task } from '../../../server/domain/task.js';
import type { RouterConfig } from '../../../server/acd/config.js';
import type { RouterDecision } from '../../../server/acd/decisions.js';

/**
 * The baseline: the same "agent takes the best-ranked eligible task" rule,
 * done the obvious way, by scanning every waiting task. It mirrors the state
 * from the router's own events and decisions and keeps nothing indexed, so
 * its cost grows with the backlog. It also cross-checks the indexed router:
 * both must pick the same task.
 */
interface WaitingTask {
  readonly task: Task;
  queue: Queue;
  enteredAt: number;
  readonly rank: number;
  /** Cached per relaxation step: a fair baseline does not recompute what does not change. */
  step: number;
  eff: EffectiveRequirements | undefined;
}

interface MirrorAgent {
  readonly agent: Agent;
  readonly levels: Map<string, number>;
  readonly policy: CapacityPolicy;
  readonly work: ReturnType<typeof emptyWorkload>;
}

export interface NaiveRouter {
  enqueued(task: Task, now: number): void;
  agentAdded(agent: Agent): void;
  /** Applies the router's decisions so the mirror stays in step. */
  observe(decisions: readonly RouterDecision[], now: number): void;
  released(agentId: string, channel: Channel): void;
  /** The task the agent should take now (all agents in the bench are ready). */
  bestTaskFor(agentId: string, now: number): string | undefined;
  readonly waiting: number;
}

export function createNaiveRouter(config: RouterConfig): NaiveRouter {
  const waiting = new Map<string, WaitingTask>();
  const agents = new Map<string, MirrorAgent>();
  const offers = new Map<string, { units: number; channel: Channel }>();
  const requirements = (w: WaitingTask, now: number): EffectiveRequirements => {
    const step = relaxationStepAt(w.queue, now - w.enteredAt);
    if (w.eff === undefined || w.step !== step) {
      w.eff = effectiveRequirements(w.queue, w.task.requiredSkills, step);
      w.step = step;
    }
    return w.eff;
  };
  return {
    get waiting() {
      return waiting.size;
    },
    enqueued(task, now) {
      waiting.set(task.id, {
        task,
        queue: config.queues.get(task.queueId)!,
        enteredAt: now,
        rank: task.enqueuedAt - task.priority * config.aging.intervalMs,
        step: -1,
        eff: undefined,
      });
    },
    agentAdded(agent) {
      agents.set(agent.id, {
        agent,
        levels: new Map(agent.skills.map((s) => [s.skillId, s.level])),
        policy: {
          capacity: agent.capacity ?? config.defaultCapacity,
          costs: resolveCosts(config.channelCosts, agent.channelCosts),
          rules: config.blockRules,
        },
        work: emptyWorkload(),
      });
    },
    observe(decisions, now) {
      for (const d of decisions) {
        if (d.kind === 'route') {
          waiting.delete(d.decision.taskId);
          for (const o of d.offers) {
            const a = agents.get(o.agentId)!;
            a.work.loadUnits += o.units;
            a.work.items[o.channel]++;
          }
        } else if (d.kind === 'offer_cancelled') {
          // Ring-all siblings and timeouts: the reservation ends.
          const o = offers.get(d.offerId);
          if (o !== undefined) {
            const a = agents.get(d.agentId)!;
            a.work.loadUnits -= o.units;
            a.work.items[o.channel]--;
          }
        } else if (d.kind === 'task_overflowed') {
          const w = waiting.get(d.taskId);
          if (w !== undefined) {
            w.queue = config.queues.get(d.toQueueId)!;
            w.enteredAt = now;
            w.eff = undefined;
          }
        } else if (d.kind === 'task_removed') {
          waiting.delete(d.taskId);
        }
        if (d.kind === 'route') for (const o of d.offers) offers.set(o.id, { units: o.units, channel: o.channel });
      }
    },
    released(agentId, channel) {
      const a = agents.get(agentId)!;
      a.work.loadUnits -= a.policy.costs[channel];
      a.work.items[channel]--;
    },
    bestTaskFor(agentId, now) {
      const a = agents.get(agentId)!;
      let best: WaitingTask | undefined;
      for (const w of waiting.values()) {
        if (w.task.tenantId !== a.agent.tenantId) continue;
        if (!checkCapacity(a.policy, a.work, w.task.channel).ok) continue;
        const eff = requirements(w, now);
        if (eff.agentGroups.length > 0 && !eff.agentGroups.some((g) => a.agent.agentGroups.includes(g))) continue;
        let ok = true;
        for (const r of eff.skills) {
          if ((a.levels.get(r.skillId) ?? 0) < r.minLevel) {
            ok = false;
            break;
          }
        }
        if (!ok) continue;
        if (best === undefined || w.rank < best.rank || (w.rank === best.rank && w.task.id < best.task.id)) best = w;
      }
      return best?.task.id;
    },
  };
}
