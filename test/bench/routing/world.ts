import type { Agent } from '../../../server/domain/agent.js';
import type { Channel } from '../../../server/domain/channel.js';
import type { Queue, RoutingStrategy } from '../../../server/domain/queue.js';
import type { AgentSkill, SkillRequirement } from '../../../server/domain/skill.js';
import type { Task } from '../../../server/domain/task.js';
import type { Prng } from '../../../server/acd/prng.js';

/**
 * A seeded synthetic contact center for the routing benchmark: `skills`
 * skills (the first 10 are languages), `groups` agent groups, `queues`
 * queues each needing one or two product skills, and agents who mostly hold
 * the skills of the queues their groups serve, plus random extras.
 */
export interface WorldSizes {
  readonly skills: number;
  readonly groups: number;
  readonly queues: number;
  readonly agents: number;
}

export interface World {
  readonly queues: Queue[];
  readonly agents: Agent[];
  makeTask(n: number, now: number): Task;
}

const CHANNEL_MIX: readonly [Channel, number][] = [
  ['voice', 40],
  ['chat', 30],
  ['email', 15],
  ['sms', 5],
  ['wechat', 5],
  ['video', 5],
];
const STRATEGIES: readonly RoutingStrategy[] = ['longest_idle', 'least_occupied', 'best_skill_match', 'round_robin', 'ring_all'];
const LANGUAGES = 10;

const skillId = (i: number): string => `s${String(i).padStart(3, '0')}`;
const groupId = (i: number): string => `g${String(i).padStart(2, '0')}`;

export function generateWorld(rng: Prng, sizes: WorldSizes, tenantId = 't1'): World {
  const queues: Queue[] = [];
  const queuesOfGroup = new Map<string, Queue[]>();
  for (let i = 0; i < sizes.queues; i++) {
    const nSkills = 1 + rng.int(2);
    const skills: SkillRequirement[] = [];
    const used = new Set<number>();
    while (skills.length < nSkills) {
      const k = LANGUAGES + rng.int(sizes.skills - LANGUAGES);
      if (used.has(k)) continue;
      used.add(k);
      skills.push({ skillId: skillId(k), minLevel: 1 + rng.int(5), weight: 1 + rng.int(3) });
    }
    const groups = [groupId(rng.int(sizes.groups))];
    if (rng.chance(0.5)) {
      const g = groupId(rng.int(sizes.groups));
      if (!groups.includes(g)) groups.push(g);
    }
    const q: Queue = {
      id: `q${String(i).padStart(3, '0')}`,
      tenantId,
      strategy: STRATEGIES[i % STRATEGIES.length]!,
      skills,
      agentGroups: groups,
      serviceLevel: { percent: 80, withinMs: 20_000 },
      maxWaitMs: 3_600_000,
      relaxation: [
        { afterMs: 60_000, minLevelDelta: 2 },
        { afterMs: 180_000, minLevelDelta: 2, addAgentGroups: [groupId(rng.int(sizes.groups))] },
      ],
    };
    queues.push(q);
    for (const g of groups) {
      const list = queuesOfGroup.get(g) ?? [];
      list.push(q);
      queuesOfGroup.set(g, list);
    }
  }

  const agents: Agent[] = [];
  for (let i = 0; i < sizes.agents; i++) {
    const groups = new Set<string>();
    const nGroups = 1 + rng.int(3);
    while (groups.size < nGroups) groups.add(groupId(rng.int(sizes.groups)));
    const levels = new Map<string, number>();
    const nLang = 1 + rng.int(2);
    while (levels.size < nLang) levels.set(skillId(rng.int(LANGUAGES)), 1 + rng.int(10));
    for (const g of groups) {
      for (const q of queuesOfGroup.get(g) ?? []) {
        for (const r of q.skills) if (rng.chance(0.85)) levels.set(r.skillId, Math.max(levels.get(r.skillId) ?? 0, 2 + rng.int(9)));
      }
    }
    const extras = 3 + rng.int(8);
    for (let e = 0; e < extras; e++) levels.set(skillId(LANGUAGES + rng.int(sizes.skills - LANGUAGES)), 1 + rng.int(10));
    const skills: AgentSkill[] = [...levels].map(([skill, level]) => ({ skillId: skill, level: Math.min(10, level) }));
    agents.push({
      id: `a${String(i).padStart(5, '0')}`,
      tenantId,
      skills,
      agentGroups: [...groups].sort(),
      ...(rng.chance(0.1) ? { channelCosts: { voice: 60 } } : {}),
    });
  }

  const weights = CHANNEL_MIX.map(([, w]) => w);
  return {
    queues,
    agents,
    makeTask(n, now) {
      const q = queues[rng.int(queues.length)]!;
      const channel = CHANNEL_MIX[rng.weighted(weights)]![0];
      const requiredSkills: SkillRequirement[] = rng.chance(0.3) ? [{ skillId: skillId(rng.int(LANGUAGES)), minLevel: 1 + rng.int(3) }] : [];
      return {
        id: `task${String(n).padStart(7, '0')}`,
        tenantId,
        channel,
        queueId: q.id,
        priority: rng.chance(0.8) ? 0 : 1 + rng.int(10),
        requiredSkills,
        enqueuedAt: now,
        interactionId: `i${n}`,
      };
    },
  };
}
