import type { Channel } from './channel.js';
import { CHANNELS, isChannel } from './channel.js';
import { AppError } from './errors.js';
import type { AgentSkill } from './skill.js';
import { isSkillLevel } from './skill.js';

/**
 * A person who handles tasks: skills with levels, the agent groups that
 * decide which queues they serve, and capacity. Presence and workload are
 * live state kept by the router, not part of this record.
 */
export interface Agent {
  readonly id: string;
  readonly tenantId: string;
  readonly name?: string;
  readonly skills: readonly AgentSkill[];
  readonly agentGroups: readonly string[];
  /** Units; defaults to 100. */
  readonly capacity?: number;
  /** Overrides of the router's per-channel costs for this agent. */
  readonly channelCosts?: Readonly<Partial<Record<Channel, number>>>;
  /** Channels this agent works; defaults to all. */
  readonly channels?: readonly Channel[];
}

/** Checks an agent's shape; returns an error value naming the field, or undefined. */
export function validateAgent(agent: Agent): AppError | undefined {
  const bad = (code: string, field: string, message: string): AppError =>
    new AppError('invalid', code, message, { details: { agentId: agent.id, field } });
  if (typeof agent.id !== 'string' || agent.id.length === 0) return bad('agent.invalid_id', 'id', 'id must be non-empty');
  if (typeof agent.tenantId !== 'string' || agent.tenantId.length === 0) {
    return bad('agent.invalid_tenant', 'tenantId', 'tenantId must be non-empty');
  }
  const seen = new Set<string>();
  for (let i = 0; i < agent.skills.length; i++) {
    const s = agent.skills[i]!;
    if (typeof s.skillId !== 'string' || s.skillId.length === 0 || seen.has(s.skillId)) {
      return bad('agent.invalid_skill', `skills[${i}].skillId`, 'skill ids must be non-empty and unique');
    }
    seen.add(s.skillId);
    if (!isSkillLevel(s.level)) return bad('agent.invalid_skill_level', `skills[${i}].level`, 'level must be 1 to 10');
  }
  if (agent.capacity !== undefined && !(Number.isInteger(agent.capacity) && agent.capacity > 0)) {
    return bad('agent.invalid_capacity', 'capacity', 'capacity must be a positive integer');
  }
  for (const [c, cost] of Object.entries(agent.channelCosts ?? {})) {
    if (!isChannel(c) || !(Number.isInteger(cost) && cost > 0)) {
      return bad('agent.invalid_channel_cost', `channelCosts.${c}`, 'channel costs must be positive integers');
    }
  }
  for (const c of agent.channels ?? CHANNELS) {
    if (!isChannel(c)) return bad('agent.invalid_channel', 'channels', `${String(c)} is not a channel`);
  }
  return undefined;
}
