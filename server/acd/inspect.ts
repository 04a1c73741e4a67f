import type { Channel } from '../domain/channel.js';
import { CHANNELS, channelIndex } from '../domain/channel.js';
import type { Offer } from '../domain/offer.js';
import type { Presence } from '../domain/presence.js';
import { effectiveRequirements } from '../domain/queue.js';
import type { RouterConfig } from './config.js';
import type { RouterState, TaskRt, TaskStatus } from './state.js';
import { impl, isLoggedIn, taskCmp } from './state.js';

/** Read-only views for the API, supervisors and the wait estimator. */

export interface AgentView {
  readonly agentId: string;
  readonly presence: Presence;
  readonly loadUnits: number;
  readonly capacity: number;
  readonly idleSince: number;
  readonly pendingOffers: readonly Offer[];
  readonly activeTaskIds: readonly string[];
  /** Channels the agent can take one more item of now. */
  readonly availableFor: readonly Channel[];
}

export function agentView(state: RouterState, agentId: string): AgentView | undefined {
  const s = impl(state);
  const a = s.agents.get(agentId);
  if (a === undefined) return undefined;
  return {
    agentId,
    presence: a.presence,
    loadUnits: a.load,
    capacity: a.capacity,
    idleSince: a.idleSince,
    pendingOffers: [...a.pending.values()].map((o) => o.offer).sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0)),
    activeTaskIds: [...a.active.keys()].sort(),
    availableFor: CHANNELS.filter((_, i) => (a.availMask & (1 << i)) !== 0),
  };
}

export interface TaskView {
  readonly taskId: string;
  readonly queueId: string;
  readonly status: TaskStatus;
  readonly rank: number;
  readonly relaxationStep: number;
  /** Waiting tasks of the same queue served before this one (rank order; preference lists excluded). */
  readonly position: number | undefined;
  readonly offerIds: readonly string[];
  readonly assignedAgentId: string | undefined;
}

export function taskView(state: RouterState, taskId: string): TaskView | undefined {
  const s = impl(state);
  const t = s.tasks.get(taskId);
  if (t === undefined) return undefined;
  let position: number | undefined;
  if (t.status === 'queued') {
    position = 0;
    for (const b of t.queue.buckets) position += b.tasks.countBefore(t);
  }
  return {
    taskId,
    queueId: t.queue.queue.id,
    status: t.status,
    rank: t.rank,
    relaxationStep: t.step,
    position,
    offerIds: t.offers.map((o) => o.offer.id).sort(),
    assignedAgentId: t.assignedAgentId,
  };
}

/** Inputs to the wait estimator for a queue, a channel and a priority, as of the router's last `now`. */
export interface QueueLoad {
  readonly queueId: string;
  /** All waiting tasks of the queue on this channel. */
  readonly waiting: number;
  /** Waiting tasks a new arrival at `priority` would be served after (its queue position). */
  readonly ahead: number;
  /** Logged-in agents who meet the queue's base requirements on this channel. */
  readonly agentsServing: number;
  /** Of those, how many could take one more item of this channel now. */
  readonly agentsAvailable: number;
  readonly oldestWaitMs: number | undefined;
}

export function queueLoad(state: RouterState, queueId: string, channel: Channel, priority: number): QueueLoad | undefined {
  const s = impl(state);
  const q = s.queues.get(queueId);
  if (q === undefined) return undefined;
  const config: RouterConfig = s.config;
  // A hypothetical arrival now with this priority: its rank, and an id sorting after every real one.
  const probe = { rank: s.now - priority * config.aging.intervalMs, id: '\uffff' };
  let waiting = 0;
  let ahead = 0;
  let oldest: number | undefined;
  for (const b of q.buckets) {
    if (b.channel !== channel || b.tasks.size === 0) continue;
    waiting += b.tasks.size;
    ahead += b.tasks.countBefore(probe as unknown as TaskRt);
    for (const t of b.tasks) {
      if (oldest === undefined || t.task.enqueuedAt < oldest) oldest = t.task.enqueuedAt;
    }
  }
  const base = effectiveRequirements(q.queue, [], 0);
  let serving = 0;
  let available = 0;
  const chBit = 1 << channelIndex(channel);
  for (const a of s.byOrd) {
    if (!isLoggedIn(s, a) || a.tenantId !== q.queue.tenantId || (a.channelsMask & chBit) === 0) continue;
    if (base.agentGroups.length > 0 && !base.agentGroups.some((g) => a.groups.has(g))) continue;
    if (!base.skills.every((r) => (a.levels.get(r.skillId) ?? 0) >= r.minLevel)) continue;
    serving++;
    if ((a.availMask & chBit) !== 0) available++;
  }
  return {
    queueId,
    waiting,
    ahead,
    agentsServing: serving,
    agentsAvailable: available,
    oldestWaitMs: oldest === undefined ? undefined : s.now - oldest,
  };
}

/** Ids of waiting tasks in serving order (rank, id). For tests and small tools: O(n log n). */
export function waitingTaskIds(state: RouterState): string[] {
  const s = impl(state);
  return [...s.tasks.values()]
    .filter((t) => t.status === 'queued')
    .sort(taskCmp)
    .map((t) => t.id);
}

/** The router's `now` (the latest time it has seen). */
export const routerNow = (state: RouterState): number => impl(state).now;
