import type { SupervisionEndReason, SupervisionMode } from '../../domain/supervision.js';

/** The phone a supervisor listens on: an agent's SIP login, or a named SIP endpoint. */
export type SupervisorPhone = { kind: 'agent'; agentId: string } | { kind: 'endpoint'; endpoint: string };

/** One supervisor on one call, and the media pieces it owns on the media server. */
export interface SupervisionSession {
  id: string;
  callId: string;
  server: string;
  /** The supervised agent and their leg (as the call had them when the session started). */
  agentId: string | null;
  agentLeg: string;
  callBridgeId: string;
  phone: SupervisorPhone;
  /** The dial string rung. */
  dial: string;
  /** Who asked for it (principal name), for the audit trail. */
  by: string;
  /** The mode asked for; while ringing, the one applied on answer. */
  mode: SupervisionMode;
  /** The mode whose media is in place (undefined until answered). */
  appliedMode: SupervisionMode | undefined;
  state: 'ringing' | 'active' | 'ended';
  /** The supervisor's leg, its own bridge (with the snoop), and the current snoop. */
  legId: string;
  bridgeId: string;
  bridgeCreated: boolean;
  snoopId: string | undefined;
  /** Snoops are numbered: a change of direction is a new snoop with a new id. */
  snoopSeq: number;
  startedAt: number;
  answeredAt: number | undefined;
  endedAt: number | undefined;
  endReason: SupervisionEndReason | undefined;
}

export interface SupervisionStore {
  put(s: SupervisionSession): void;
  get(sessionId: string): SupervisionSession | undefined;
  /** Sessions of one call, oldest first (ended ones too, until they are pruned). */
  ofCall(callId: string): SupervisionSession[];
  /** The session that owns a leg or snoop id, while it is not ended. */
  byMedia(channelId: string): SupervisionSession | undefined;
  /** Sessions not ended. */
  open(): SupervisionSession[];
  /** Forgets ended sessions that ended before `before` (epoch ms). */
  prune(before: number): void;
}

/**
 * Sessions in this process's memory. Supervision is a live view of a live call: a session holds
 * media that only this process drives, so it survives nothing more than the process (after a
 * restart the server removes the leftovers it finds on the media server, see the service's
 * `reconcile`). Ended sessions are kept a while so that GET can show why they ended.
 */
export function createSupervisionStore(): SupervisionStore {
  const sessions = new Map<string, SupervisionSession>();
  const open = (s: SupervisionSession): boolean => s.state !== 'ended';
  return {
    put(s) {
      sessions.set(s.id, s);
    },
    get: (id) => sessions.get(id),
    ofCall: (callId) => [...sessions.values()].filter((s) => s.callId === callId).sort((a, b) => a.startedAt - b.startedAt || a.id.localeCompare(b.id)),
    byMedia: (channelId) => [...sessions.values()].find((s) => open(s) && (s.legId === channelId || s.snoopId === channelId)),
    open: () => [...sessions.values()].filter(open),
    prune(before) {
      for (const [id, s] of sessions) if (s.state === 'ended' && (s.endedAt ?? 0) < before) sessions.delete(id);
    },
  };
}
