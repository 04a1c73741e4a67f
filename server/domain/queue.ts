import type { BusinessCalendar } from './calendar.js';
import { validateCalendar } from './calendar.js';
import { AppError } from './errors.js';
import type { SkillRequirement } from './skill.js';
import { mergeRequirements, relaxRequirements, validateRequirements } from './skill.js';

/**
 * How a queue picks among several available agents for one task. When agents
 * are scarce the agent instead takes the best-ranked task (priority, then age).
 * - `longest_idle`: the agent idle longest (agents with work in hand come last).
 * - `least_occupied`: the lowest load/capacity ratio.
 * - `best_skill_match`: the highest weighted proficiency over the required skills.
 * - `round_robin`: the next agent id after the queue's last pick, wrapping.
 * - `ring_all`: voice/video only, offers every available agent at once, first answer
 *   wins; on other channels behaves as `longest_idle`.
 */
export type RoutingStrategy = 'longest_idle' | 'least_occupied' | 'best_skill_match' | 'round_robin' | 'ring_all';

export const ROUTING_STRATEGIES: readonly RoutingStrategy[] = [
  'longest_idle',
  'least_occupied',
  'best_skill_match',
  'round_robin',
  'ring_all',
];

/** e.g. 80 % of tasks answered within 20 s: `{ percent: 80, withinMs: 20_000 }`. */
export interface ServiceLevelTarget {
  readonly percent: number;
  readonly withinMs: number;
}

/**
 * After a task has waited `afterMs` in the queue, accept agents whose levels
 * are `minLevelDelta` lower than required (never below 1) and/or agents of
 * further groups. Deltas are absolute per step; groups accumulate.
 */
export interface RelaxationStep {
  readonly afterMs: number;
  readonly minLevelDelta?: number;
  readonly addAgentGroups?: readonly string[];
}

/** An ACD queue. */
export interface Queue {
  readonly id: string;
  readonly tenantId: string;
  readonly name?: string;
  readonly strategy: RoutingStrategy;
  /** Skills every task of this queue needs. */
  readonly skills: readonly SkillRequirement[];
  /** Agent groups that serve this queue; empty means any agent of the tenant (skills decide). */
  readonly agentGroups: readonly string[];
  readonly serviceLevel: ServiceLevelTarget;
  /** After this long in the queue, a waiting task moves to `overflowQueueId` or leaves with `max_wait`. */
  readonly maxWaitMs?: number;
  readonly overflowQueueId?: string;
  /** Without a calendar the queue is always open. */
  readonly calendar?: BusinessCalendar;
  /** Sorted by `afterMs` ascending. */
  readonly relaxation?: readonly RelaxationStep[];
  /** Overrides the router's per-channel offer timeout. */
  readonly offerTimeoutMs?: number;
}

/**
 * Which relaxation step applies after `waitedMs` in the queue: 0 = none,
 * i = steps[0..i-1] have been reached.
 */
export function relaxationStepAt(queue: Queue, waitedMs: number): number {
  const steps = queue.relaxation ?? [];
  let i = 0;
  while (i < steps.length && waitedMs >= steps[i]!.afterMs) i++;
  return i;
}

/** What an agent must have to take a task of this queue at a relaxation step. */
export interface EffectiveRequirements {
  readonly skills: readonly SkillRequirement[];
  /** Sorted; empty means any group. */
  readonly agentGroups: readonly string[];
}

export function effectiveRequirements(
  queue: Queue,
  taskSkills: readonly SkillRequirement[],
  step: number,
): EffectiveRequirements {
  const steps = queue.relaxation ?? [];
  const applied = steps.slice(0, step);
  const delta = applied.length === 0 ? 0 : (applied[applied.length - 1]!.minLevelDelta ?? 0);
  const skills = relaxRequirements(mergeRequirements(queue.skills, taskSkills), delta);
  const groups = new Set(queue.agentGroups);
  // A queue open to any group stays open to any group: widening cannot narrow it.
  if (groups.size > 0) for (const s of applied) for (const g of s.addAgentGroups ?? []) groups.add(g);
  return { skills, agentGroups: [...groups].sort() };
}

/** Checks a queue's shape; returns an error value naming the field, or undefined. */
export function validateQueue(queue: Queue): AppError | undefined {
  const bad = (code: string, field: string, message: string): AppError =>
    new AppError('invalid', code, `queue ${queue.id}: ${message}`, { details: { queueId: queue.id, field } });
  if (typeof queue.id !== 'string' || queue.id.length === 0) return bad('queue.invalid_id', 'id', 'id must be non-empty');
  if (typeof queue.tenantId !== 'string' || queue.tenantId.length === 0) {
    return bad('queue.invalid_tenant', 'tenantId', 'tenantId must be non-empty');
  }
  if (!ROUTING_STRATEGIES.includes(queue.strategy)) return bad('queue.invalid_strategy', 'strategy', 'unknown strategy');
  const skillError = validateRequirements(queue.skills, 'skills');
  if (skillError !== undefined) return skillError;
  const sl = queue.serviceLevel;
  if (!(sl.percent > 0 && sl.percent <= 100) || !(sl.withinMs > 0)) {
    return bad('queue.invalid_service_level', 'serviceLevel', 'serviceLevel needs 0 < percent <= 100 and withinMs > 0');
  }
  if (queue.maxWaitMs !== undefined && !(queue.maxWaitMs > 0)) {
    return bad('queue.invalid_max_wait', 'maxWaitMs', 'maxWaitMs must be > 0');
  }
  if (queue.overflowQueueId !== undefined && queue.maxWaitMs === undefined) {
    return bad('queue.overflow_without_max_wait', 'overflowQueueId', 'overflowQueueId needs maxWaitMs');
  }
  if (queue.offerTimeoutMs !== undefined && !(queue.offerTimeoutMs > 0)) {
    return bad('queue.invalid_offer_timeout', 'offerTimeoutMs', 'offerTimeoutMs must be > 0');
  }
  const steps = queue.relaxation ?? [];
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    if (!(s.afterMs > 0) || (i > 0 && s.afterMs <= steps[i - 1]!.afterMs)) {
      return bad('queue.invalid_relaxation', `relaxation[${i}].afterMs`, 'relaxation steps need increasing afterMs > 0');
    }
    if (s.minLevelDelta !== undefined && !(Number.isInteger(s.minLevelDelta) && s.minLevelDelta >= 0)) {
      return bad('queue.invalid_relaxation', `relaxation[${i}].minLevelDelta`, 'minLevelDelta must be an integer >= 0');
    }
  }
  if (queue.calendar !== undefined) {
    const calendarError = validateCalendar(queue.calendar);
    if (calendarError !== undefined) return calendarError;
  }
  return undefined;
}
