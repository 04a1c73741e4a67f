import type { Channel } from './channel.js';
import { AppError } from './errors.js';

export type OfferStatus = 'pending' | 'accepted' | 'declined' | 'timed_out' | 'cancelled';

/**
 * Why the router withdrew an offer: another agent answered (ring-all), the
 * task left (abandoned, cancelled), or the agent stopped being ready.
 */
export type OfferCancelReason = 'answered_elsewhere' | 'task_left' | 'agent_unavailable';

/**
 * A reservation of an agent for a task, with a timeout. While `pending`, its
 * `units` count against the agent's capacity; once accepted they stay until
 * the work is released; otherwise they are freed.
 */
export interface Offer {
  /** `${decisionId}@${agentId}`: deterministic, derived from the decision. */
  readonly id: string;
  readonly decisionId: string;
  readonly taskId: string;
  readonly agentId: string;
  readonly tenantId: string;
  readonly channel: Channel;
  readonly units: number;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly status: OfferStatus;
  readonly closedAt?: number;
  readonly cancelReason?: OfferCancelReason;
}

/** Allowed moves: only a pending offer can close, and a closed one never changes. */
export const OFFER_TRANSITIONS: Readonly<Record<OfferStatus, readonly OfferStatus[]>> = {
  pending: ['accepted', 'declined', 'timed_out', 'cancelled'],
  accepted: [],
  declined: [],
  timed_out: [],
  cancelled: [],
};

export const canTransitionOffer = (from: OfferStatus, to: OfferStatus): boolean =>
  OFFER_TRANSITIONS[from].includes(to);

/**
 * Closes an offer.
 * @throws AppError `conflict`/`offer.invalid_transition` when not allowed
 *   (e.g. accepting an offer that already timed out).
 */
export function transitionOffer(offer: Offer, to: OfferStatus, at: number, reason?: OfferCancelReason): Offer {
  if (!canTransitionOffer(offer.status, to)) {
    throw new AppError('conflict', 'offer.invalid_transition', `offer ${offer.id} is ${offer.status}, cannot become ${to}`, {
      details: { offerId: offer.id, from: offer.status, to },
    });
  }
  if (to === 'cancelled') {
    return { ...offer, status: to, closedAt: at, cancelReason: reason ?? 'task_left' };
  }
  return { ...offer, status: to, closedAt: at };
}
