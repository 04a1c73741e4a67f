import { checkCapacity } from '../domain/capacity.js';
import { effectiveRequirements, relaxationStepAt } from '../domain/queue.js';
import type { RouterState } from './state.js';
import { impl } from './state.js';

export type IneligibleReason =
  | 'task.unknown'
  | 'task.not_waiting'
  | 'agent.unknown'
  | 'agent.not_ready'
  | 'tenant.mismatch'
  | 'preference.other_agent'
  | 'agent.excluded'
  | 'channel.disabled'
  | 'group.mismatch'
  | 'skill.missing'
  | 'capacity.full'
  | 'capacity.blocked_by_rule';

export type Eligibility =
  | { readonly eligible: true }
  | { readonly eligible: false; readonly reason: IneligibleReason; readonly detail?: string };

export interface EligibilityOptions {
  /** Judge everything but room: "could this agent take it once free?" */
  readonly ignoreCapacity?: boolean;
}

/**
 * Whether an agent may be offered a waiting task right now, and if not, the
 * first reason why. Computed from the records alone (queue, relaxation step
 * from elapsed time, skills, groups, presence, workload), never from the
 * router's indexes: it answers "why not this agent?" for supervisors, and it
 * is the oracle the property tests hold the indexes to.
 */
export function explainEligibility(
  state: RouterState,
  taskId: string,
  agentId: string,
  options: EligibilityOptions = {},
): Eligibility {
  const s = impl(state);
  const t = s.tasks.get(taskId);
  if (t === undefined) return { eligible: false, reason: 'task.unknown' };
  if (t.status !== 'queued') return { eligible: false, reason: 'task.not_waiting' };
  const a = s.agents.get(agentId);
  if (a === undefined) return { eligible: false, reason: 'agent.unknown' };
  if (a.presence.kind !== 'ready') return { eligible: false, reason: 'agent.not_ready', detail: a.presence.kind };
  const task = t.task;
  if (a.profile.tenantId !== task.tenantId) return { eligible: false, reason: 'tenant.mismatch' };
  const until = t.excluded?.get(agentId);
  if (until !== undefined && until > s.now) return { eligible: false, reason: 'agent.excluded', detail: `until ${until}` };
  if (!(a.profile.channels ?? [task.channel]).includes(task.channel)) return { eligible: false, reason: 'channel.disabled' };

  const pid = task.preferredAgentId;
  const pAgent = pid === undefined ? undefined : s.agents.get(pid);
  const preferenceActive =
    pid !== undefined &&
    !t.preferenceDropped &&
    task.preferredUntil! > s.now &&
    (pAgent === undefined || pAgent.profile.tenantId === task.tenantId);
  if (preferenceActive && pid !== agentId) return { eligible: false, reason: 'preference.other_agent', detail: pid };

  if (!preferenceActive) {
    const queue = t.queue.queue;
    const step = relaxationStepAt(queue, s.now - t.queueEnteredAt);
    const eff = effectiveRequirements(queue, task.requiredSkills, step);
    if (eff.agentGroups.length > 0 && !eff.agentGroups.some((g) => a.profile.agentGroups.includes(g))) {
      return { eligible: false, reason: 'group.mismatch' };
    }
    for (const r of eff.skills) {
      const level = a.profile.skills.find((k) => k.skillId === r.skillId)?.level;
      if (level === undefined || level < r.minLevel) {
        return { eligible: false, reason: 'skill.missing', detail: `${r.skillId}>=${r.minLevel}` };
      }
    }
  }
  if (options.ignoreCapacity !== true) {
    const verdict = checkCapacity(
      { capacity: a.capacity, costs: a.costs, rules: s.config.blockRules },
      { loadUnits: a.load, items: a.items },
      task.channel,
    );
    if (!verdict.ok) {
      return verdict.code === 'capacity.full'
        ? { eligible: false, reason: 'capacity.full' }
        : { eligible: false, reason: 'capacity.blocked_by_rule', detail: verdict.ruleId };
    }
  }
  return { eligible: true };
}
