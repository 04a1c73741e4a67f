import type { Offer, OfferCancelReason } from '../domain/offer.js';
import type { Presence } from '../domain/presence.js';
import type { RouteDecision } from '../domain/route-decision.js';
import type { RouterEventType } from './events.js';

/** Why a task left the queue without being answered. */
export type TaskRemovedReason = 'cancelled' | 'abandoned' | 'max_wait' | 'queue_closed';

/**
 * What the router tells the shell to do (or record). The shell performs them
 * in order: ring the offered agents, stop ringing cancelled offers, move
 * callers, announce presence changes.
 */
export type RouterDecision =
  | { readonly kind: 'route'; readonly decision: RouteDecision; readonly offers: readonly Offer[] }
  | {
      readonly kind: 'offer_cancelled';
      readonly offerId: string;
      readonly taskId: string;
      readonly agentId: string;
      readonly reason: OfferCancelReason | 'timed_out';
    }
  | { readonly kind: 'task_assigned'; readonly taskId: string; readonly agentId: string; readonly offerId: string; readonly waitedMs: number }
  | { readonly kind: 'task_requeued'; readonly taskId: string; readonly reason: 'declined' | 'timed_out' | 'agent_unavailable' }
  | { readonly kind: 'task_overflowed'; readonly taskId: string; readonly fromQueueId: string; readonly toQueueId: string }
  | { readonly kind: 'task_removed'; readonly taskId: string; readonly queueId: string; readonly reason: TaskRemovedReason; readonly waitedMs: number }
  | { readonly kind: 'presence_changed'; readonly agentId: string; readonly presence: Presence; readonly cause: 'rona' | 'wrap_up_ended' }
  | { readonly kind: 'event_rejected'; readonly eventType: RouterEventType; readonly code: string; readonly message: string };
