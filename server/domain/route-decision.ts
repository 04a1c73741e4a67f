import type { Channel } from './channel.js';
import type { RoutingStrategy } from './queue.js';
import type { SkillRequirement } from './skill.js';

/** What set the decision off. */
export type RouteTrigger =
  | 'task_enqueued'
  | 'task_requeued'
  | 'relaxation'
  | 'preference_expired'
  | 'exclusion_expired'
  | 'overflow'
  | 'agent_available'
  | 'rebuild';

/**
 * `task_picks_agent`: a task became routable and the queue strategy chose
 * among available agents. `agent_picks_task`: an agent gained room and took
 * the best-ranked eligible task across all queues it serves.
 */
export type RouteMode = 'task_picks_agent' | 'agent_picks_task';

/** An agent the strategy looked at, with what it was judged on. */
export interface AgentCandidate {
  readonly agentId: string;
  /** Strategy score, higher is better: idle ms, -occupancy %, weighted proficiency, or rotation order. */
  readonly score: number;
  readonly idleMs: number;
  readonly loadUnits: number;
}

/** A task the agent could have taken (best per bucket), with its rank (lower is served first). */
export interface TaskCandidate {
  readonly taskId: string;
  readonly queueId: string;
  readonly rank: number;
  readonly priority: number;
  readonly waitedMs: number;
}

/**
 * The audited record of one routing choice: enough to answer "why did this
 * customer go to that agent?" and to replay it. Candidate lists hold the best
 * few; the `...Considered` counts say how many were looked at.
 */
export interface RouteDecision {
  /** `${taskId}#${attempt}`: deterministic. */
  readonly id: string;
  readonly at: number;
  readonly tenantId: string;
  readonly taskId: string;
  readonly queueId: string;
  readonly channel: Channel;
  readonly trigger: RouteTrigger;
  readonly mode: RouteMode;
  readonly strategy: RoutingStrategy;
  /** One agent, or several for ring-all. */
  readonly agentIds: readonly string[];
  readonly inputs: {
    readonly priority: number;
    /** enqueuedAt - priority x aging interval; lower goes first. */
    readonly rank: number;
    readonly waitedMs: number;
    readonly relaxationStep: number;
    readonly requiredSkills: readonly SkillRequirement[];
    /** Empty: any group. */
    readonly agentGroups: readonly string[];
    readonly preferredAgentId?: string;
    readonly excludedAgentIds: readonly string[];
  };
  readonly candidates: {
    readonly agents: readonly AgentCandidate[];
    readonly agentsConsidered: number;
    readonly tasks: readonly TaskCandidate[];
    readonly tasksConsidered: number;
  };
  /** The router configuration (queues, rules) version in force. */
  readonly configVersion: string;
}
