import { AppError } from './errors.js';

/** Skill levels run from 1 (novice) to 10 (expert). */
export const MIN_SKILL_LEVEL = 1;
export const MAX_SKILL_LEVEL = 10;

/**
 * A skill a Task or Queue needs, with the lowest acceptable level. `weight`
 * (default 1) says how much this skill counts in the best-skill-match score.
 */
export interface SkillRequirement {
  readonly skillId: string;
  readonly minLevel: number;
  readonly weight?: number;
}

/** A skill an Agent has, at a level from 1 to 10. */
export interface AgentSkill {
  readonly skillId: string;
  readonly level: number;
}

export const isSkillLevel = (n: unknown): n is number =>
  typeof n === 'number' && Number.isInteger(n) && n >= MIN_SKILL_LEVEL && n <= MAX_SKILL_LEVEL;

/** Returns an error value naming the offending field, or undefined when the requirement list is valid. */
export function validateRequirements(reqs: readonly SkillRequirement[], field: string): AppError | undefined {
  for (let i = 0; i < reqs.length; i++) {
    const r = reqs[i]!;
    if (typeof r.skillId !== 'string' || r.skillId.length === 0) {
      return new AppError('invalid', 'skill.invalid_id', `${field}[${i}].skillId must be a non-empty string`, {
        details: { field: `${field}[${i}].skillId` },
      });
    }
    if (!isSkillLevel(r.minLevel)) {
      return new AppError('invalid', 'skill.invalid_level', `${field}[${i}].minLevel must be an integer from 1 to 10`, {
        details: { field: `${field}[${i}].minLevel` },
      });
    }
    if (r.weight !== undefined && !(typeof r.weight === 'number' && Number.isFinite(r.weight) && r.weight >= 0)) {
      return new AppError('invalid', 'skill.invalid_weight', `${field}[${i}].weight must be a finite number >= 0`, {
        details: { field: `${field}[${i}].weight` },
      });
    }
  }
  return undefined;
}

const byId = (a: { skillId: string }, b: { skillId: string }): number =>
  a.skillId < b.skillId ? -1 : a.skillId > b.skillId ? 1 : 0;

/**
 * Merges requirement lists: one entry per skill, the highest minimum level and
 * the highest weight win. The result is sorted by skill id (a stable signature).
 */
export function mergeRequirements(...lists: readonly (readonly SkillRequirement[])[]): SkillRequirement[] {
  const merged = new Map<string, { skillId: string; minLevel: number; weight: number | undefined }>();
  for (const list of lists) {
    for (const r of list) {
      const prev = merged.get(r.skillId);
      if (prev === undefined) {
        merged.set(r.skillId, { skillId: r.skillId, minLevel: r.minLevel, weight: r.weight });
      } else {
        prev.minLevel = Math.max(prev.minLevel, r.minLevel);
        if (r.weight !== undefined) prev.weight = prev.weight === undefined ? r.weight : Math.max(prev.weight, r.weight);
      }
    }
  }
  return [...merged.values()]
    .sort(byId)
    .map((r) => (r.weight === undefined ? { skillId: r.skillId, minLevel: r.minLevel } : r));
}

/** Lowers every minimum level by `delta`, never below 1 (skill relaxation). */
export function relaxRequirements(reqs: readonly SkillRequirement[], delta: number): SkillRequirement[] {
  if (delta <= 0) return reqs.slice();
  return reqs.map((r) => ({ ...r, minLevel: Math.max(MIN_SKILL_LEVEL, r.minLevel - delta) }));
}

/** A stable string for a requirement list, independent of input order. */
export function requirementSignature(reqs: readonly SkillRequirement[]): string {
  return reqs
    .slice()
    .sort(byId)
    .map((r) => `${r.skillId}>=${r.minLevel}${r.weight === undefined ? '' : `*${r.weight}`}`)
    .join(',');
}

/** True when the skill levels meet every requirement. */
export function meetsRequirements(levels: ReadonlyMap<string, number>, reqs: readonly SkillRequirement[]): boolean {
  for (const r of reqs) {
    const level = levels.get(r.skillId);
    if (level === undefined || level < r.minLevel) return false;
  }
  return true;
}

/** Weighted proficiency: the sum of weight x level over the required skills (missing skills count 0). */
export function weightedProficiency(levels: ReadonlyMap<string, number>, reqs: readonly SkillRequirement[]): number {
  let score = 0;
  for (const r of reqs) score += (r.weight ?? 1) * (levels.get(r.skillId) ?? 0);
  return score;
}
