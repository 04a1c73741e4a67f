/**
 * Supervision of a live call as data: what each mode means for the media, and the ordered steps
 * that take a supervisor's phone from one mode to another. Pure: the supervision service carries
 * the steps out through the CallControl port.
 *
 * A snoop is a tap on the agent's leg: it hears the directions in `listen` and its own audio is
 * mixed into the directions in `speak`. Seen from the agent's party, `in` is what the agent says
 * and `out` what the agent hears (the customer), so `speak: 'out'` reaches the agent only.
 */

export const SUPERVISION_MODES = ['listen', 'whisper', 'barge'] as const;
export type SupervisionMode = (typeof SUPERVISION_MODES)[number];

export const isSupervisionMode = (s: unknown): s is SupervisionMode => typeof s === 'string' && (SUPERVISION_MODES as readonly string[]).includes(s);

/** Directions of a channel's audio, as its party sees them (the CallControl port's type, restated: the domain imports nothing). */
export type TapDirection = 'none' | 'in' | 'out' | 'both';

export interface SupervisionMedia {
  /** The snoop on the agent's leg the supervisor is bridged with, or none (barge). */
  snoop: { listen: TapDirection; speak: TapDirection } | undefined;
  /** Whether the supervisor is in the call's own bridge (everyone hears everyone). */
  inCallBridge: boolean;
}

/**
 * - listen: the supervisor hears both sides; what the supervisor says goes nowhere;
 * - whisper: the supervisor hears both sides and only the agent hears the supervisor;
 * - barge: the supervisor is a third party of the call.
 */
export function mediaOf(mode: SupervisionMode): SupervisionMedia {
  switch (mode) {
    case 'listen':
      return { snoop: { listen: 'both', speak: 'none' }, inCallBridge: false };
    case 'whisper':
      return { snoop: { listen: 'both', speak: 'out' }, inCallBridge: false };
    case 'barge':
      return { snoop: undefined, inCallBridge: true };
  }
}

/**
 * One step of a change of mode:
 * - `create_snoop`: a new snoop with the target mode's directions (a snoop's directions are fixed
 *   once made, so a change of direction is a new snoop);
 * - `add_snoop`: the new snoop into the supervisor's own bridge;
 * - `drop_old_snoop`: the snoop of the previous mode hung up;
 * - `join_own_bridge` / `leave_own_bridge`: the supervisor's leg into or out of its own bridge
 *   (created on first use);
 * - `join_call_bridge` / `leave_call_bridge`: the supervisor's leg into or out of the call's bridge.
 */
export type SupervisionStep = 'create_snoop' | 'add_snoop' | 'drop_old_snoop' | 'join_own_bridge' | 'leave_own_bridge' | 'join_call_bridge' | 'leave_call_bridge';

/**
 * The steps from `from` (undefined: the supervisor's phone has just answered and is in no bridge)
 * to `to`. The new media is made before the old is broken where it can be, so a failure part-way
 * (a snoop that cannot be made) leaves the supervisor in the previous mode, and the supervisor
 * never hears a gap longer than a bridge move.
 */
export function stepsBetween(from: SupervisionMode | undefined, to: SupervisionMode): SupervisionStep[] {
  if (from === to) return [];
  const target = mediaOf(to);
  const before = from === undefined ? undefined : mediaOf(from);
  if (target.inCallBridge) {
    if (before === undefined) return ['join_call_bridge'];
    return ['leave_own_bridge', 'join_call_bridge', 'drop_old_snoop'];
  }
  if (before === undefined) return ['create_snoop', 'join_own_bridge', 'add_snoop'];
  if (before.inCallBridge) return ['create_snoop', 'leave_call_bridge', 'join_own_bridge', 'add_snoop'];
  return ['create_snoop', 'add_snoop', 'drop_old_snoop'];
}

/** Why a session ended, as GET and the `supervision.ended` event show it. */
export type SupervisionEndReason =
  | 'stopped' // DELETE
  | 'no_answer' // the supervisor's phone rang out, was busy or rejected the call
  | 'ring_failed' // the phone could not be rung at all
  | 'supervisor_hung_up'
  | 'call_ended' // the supervised call ended
  | 'agent_left' // the supervised agent left a call that goes on (a transfer)
  | 'media_failed' // the snoop or a bridge could not be set up
  | 'lost' // the supervisor's leg vanished while we were away from the media server
  | 'shutdown'; // this server process stopped

/** What the end of the supervisor's leg means: a phone that never answered, or one that hung up. */
export const legEndReason = (answered: boolean): SupervisionEndReason => (answered ? 'supervisor_hung_up' : 'no_answer');
