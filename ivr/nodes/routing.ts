import type { SkillRequirement } from '../../server/domain/skill.js';
import type { SkillSpec } from '../types.js';
import type { NodeRuntime } from './node-handler.js';

/** Priority from a number or a placeholder; anything that is not an integer ≥ 0 becomes 0. */
export function resolvePriority(priority: number | string | undefined, rt: NodeRuntime): number {
  if (priority === undefined) return 0;
  const n = typeof priority === 'number' ? priority : Number(rt.render(priority).trim() || 'x');
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

/** Skills with placeholders filled; empty ones dropped; a skill named twice keeps its highest level. */
export function resolveSkills(skills: readonly SkillSpec[] | undefined, rt: NodeRuntime): SkillRequirement[] {
  const byId = new Map<string, number>();
  for (const s of skills ?? []) {
    const id = rt.render(s.skill).trim();
    if (id === '') continue;
    byId.set(id, Math.max(byId.get(id) ?? 0, s.minLevel ?? 1));
  }
  return [...byId].map(([skillId, minLevel]) => ({ skillId, minLevel }));
}

/** Fields of terminal nodes that route into a queue. */
export const ROUTING_FIELDS = ['queue', 'priority', 'skills', 'prompts'] as const;
