import type { Agent } from '../domain/agent.js';
import type { Presence } from '../domain/presence.js';
import type { Task } from '../domain/task.js';

/**
 * Inputs to the router. The shell translates telephony, adapters and agent
 * desktops into these; `tick` only lets time pass (timers: offer expiry,
 * wrap-up end, relaxation, preference expiry, max wait).
 */
export type RouterEvent =
  | { readonly type: 'task_enqueued'; readonly task: Task }
  | { readonly type: 'task_cancelled'; readonly taskId: string }
  | { readonly type: 'task_abandoned'; readonly taskId: string }
  | { readonly type: 'agent_upserted'; readonly agent: Agent }
  | { readonly type: 'agent_presence_changed'; readonly agentId: string; readonly presence: Presence }
  | { readonly type: 'offer_accepted'; readonly offerId: string }
  | { readonly type: 'offer_declined'; readonly offerId: string }
  | { readonly type: 'offer_timed_out'; readonly offerId: string }
  | { readonly type: 'capacity_released'; readonly agentId: string; readonly taskId: string }
  | { readonly type: 'tick' };

export type RouterEventType = RouterEvent['type'];

/** An event with the time the shell saw it: the unit of recording and replay. */
export interface TimedEvent {
  readonly at: number;
  readonly event: RouterEvent;
}
