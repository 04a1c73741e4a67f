import type { SupervisionEndReason, SupervisionMode } from '../../domain/supervision.js';

/** Events of supervision sessions, for supervisors' real-time views. */
export interface SupervisionEvents {
  /** The supervisor's phone is ringing. */
  'supervision.started': { tenantId: number; sessionId: string; callId: string; agentId: string | null; mode: SupervisionMode; by: string };
  /** The supervisor answered and the media of the mode is in place. */
  'supervision.connected': { tenantId: number; sessionId: string; callId: string; mode: SupervisionMode };
  'supervision.mode_changed': { tenantId: number; sessionId: string; callId: string; from: SupervisionMode; to: SupervisionMode; by: string };
  'supervision.ended': { tenantId: number; sessionId: string; callId: string; reason: SupervisionEndReason };
}

declare module '../../infra/events.js' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface DomainEvents extends SupervisionEvents {}
}
