import type { Agent } from '../../../../server/domain/agent.js';
import type { Presence } from '../../../../server/domain/presence.js';
import type { Queue } from '../../../../server/domain/queue.js';
import type { Task } from '../../../../server/domain/task.js';
import type { RouterConfigInput } from '../../../../server/acd/config.js';
import { createRouterConfig } from '../../../../server/acd/config.js';
import type { RouterDecision } from '../../../../server/acd/decisions.js';
import type { RouterEvent } from '../../../../server/acd/events.js';
import type { RouterState } from '../../../../server/acd/state.js';
import { createRouterState, route } from '../../../../server/acd/router.js';

/** The fixed clock every unit test starts at: 2025-01-06T09:00:00Z, a Monday. */
export const T0 = 1_736_154_000_000;

export const TENANT = 't1';

export function queue(id: string, over: Partial<Queue> = {}): Queue {
  return {
    id,
    tenantId: TENANT,
    strategy: 'longest_idle',
    skills: [],
    agentGroups: [],
    serviceLevel: { percent: 80, withinMs: 20_000 },
    ...over,
  };
}

export function agent(id: string, over: Partial<Agent> = {}): Agent {
  return { id, tenantId: TENANT, skills: [], agentGroups: [], ...over };
}

export function task(id: string, queueId: string, enqueuedAt: number, over: Partial<Task> = {}): Task {
  return {
    id,
    tenantId: TENANT,
    channel: 'voice',
    queueId,
    priority: 0,
    requiredSkills: [],
    enqueuedAt,
    interactionId: `i-${id}`,
    ...over,
  };
}

/**
 * A router driven by hand with a fixed clock: `at(ms)` moves time forward,
 * `send(event)` routes at the current time and keeps every decision.
 */
export interface Harness {
  state: RouterState;
  now: number;
  readonly log: RouterDecision[];
  send(event: RouterEvent): RouterDecision[];
  at(ms: number): Harness;
  addReadyAgent(a: Agent): RouterDecision[];
  enqueue(t: Task): RouterDecision[];
}

export function harness(config: RouterConfigInput, start = T0): Harness {
  const cfg = createRouterConfig(config);
  const h: Harness = {
    state: createRouterState(cfg, start),
    now: start,
    log: [],
    send(event) {
      const r = route(h.state, event, h.now);
      h.state = r.state;
      h.log.push(...r.decisions);
      return [...r.decisions];
    },
    at(ms) {
      h.now = ms;
      return h;
    },
    addReadyAgent(a) {
      const out = h.send({ type: 'agent_upserted', agent: a });
      out.push(...h.send({ type: 'agent_presence_changed', agentId: a.id, presence: { kind: 'ready' } as Presence }));
      return out;
    },
    enqueue(t) {
      return h.send({ type: 'task_enqueued', task: t });
    },
  };
  return h;
}

type RouteOut = Extract<RouterDecision, { kind: 'route' }>;

export const routes = (ds: readonly RouterDecision[]): RouteOut[] =>
  ds.filter((d): d is RouteOut => d.kind === 'route');

/** "task->agent" pairs of every route decision, ring-all agents joined by '|'. */
export const pairs = (ds: readonly RouterDecision[]): string[] =>
  routes(ds).map((d) => `${d.decision.taskId}->${d.decision.agentIds.join('|')}`);
