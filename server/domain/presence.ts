import { AppError } from './errors.js';

/**
 * What an agent is doing, as the agent (or the telephony) says. Only `ready`
 * agents receive offers; how much they can still take is capacity's business.
 * `wrap_up` ends by itself at `until` (epoch ms) and the agent becomes ready.
 */
export type Presence =
  | { readonly kind: 'offline' }
  | { readonly kind: 'ready' }
  | { readonly kind: 'not_ready'; readonly reason: string }
  | { readonly kind: 'busy' }
  | { readonly kind: 'wrap_up'; readonly until: number };

export type PresenceKind = Presence['kind'];

/**
 * The allowed transitions. Same-kind moves are allowed only where they carry
 * news: a new not-ready reason, an extended wrap-up.
 */
export const PRESENCE_TRANSITIONS: Readonly<Record<PresenceKind, readonly PresenceKind[]>> = {
  offline: ['ready', 'not_ready'],
  ready: ['not_ready', 'busy', 'wrap_up', 'offline'],
  not_ready: ['ready', 'not_ready', 'busy', 'offline'],
  busy: ['ready', 'not_ready', 'wrap_up', 'offline'],
  wrap_up: ['ready', 'not_ready', 'busy', 'wrap_up', 'offline'],
};

export const canTransitionPresence = (from: Presence, to: Presence): boolean =>
  PRESENCE_TRANSITIONS[from.kind].includes(to.kind);

/** Checks the shape of a presence value; returns an error value or undefined. */
export function validatePresence(p: Presence): AppError | undefined {
  if (!Object.prototype.hasOwnProperty.call(PRESENCE_TRANSITIONS, p.kind)) {
    return new AppError('invalid', 'presence.invalid', 'presence.kind is not a known presence', {
      details: { field: 'presence.kind' },
    });
  }
  if (p.kind === 'not_ready' && !(typeof p.reason === 'string' && p.reason.length > 0)) {
    return new AppError('invalid', 'presence.invalid', 'not_ready needs a reason', { details: { field: 'presence.reason' } });
  }
  if (p.kind === 'wrap_up' && !Number.isFinite(p.until)) {
    return new AppError('invalid', 'presence.invalid', 'wrap_up needs until (epoch ms)', {
      details: { field: 'presence.until' },
    });
  }
  return undefined;
}

/**
 * Moves presence from `from` to `to`.
 * @throws AppError `invalid`/`presence.invalid` for a malformed target,
 *   `conflict`/`presence.invalid_transition` when the move is not allowed.
 */
export function transitionPresence(from: Presence, to: Presence): Presence {
  const shapeError = validatePresence(to);
  if (shapeError !== undefined) throw shapeError;
  if (!canTransitionPresence(from, to)) {
    throw new AppError('conflict', 'presence.invalid_transition', `cannot go from ${from.kind} to ${to.kind}`, {
      details: { from: from.kind, to: to.kind },
    });
  }
  return to;
}
