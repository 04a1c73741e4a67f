/** Events of the IVR on calls (for real-time statistics: callers in the IVR, how they left it). */
export interface IvrEvents {
  'ivr.session_started': { tenantId: number; callId: string; flowId: string; flowVersion: number };
  /**
   * `by`: flow (a terminal action), caller (hung up), guard (visit limit), error (the executor
   * failed and the call was ended); `action` is the terminal action's type, if any.
   */
  'ivr.session_ended': { tenantId: number; callId: string; flowId: string; flowVersion: number; by: 'flow' | 'caller' | 'guard' | 'error'; nodeId: string | null; action: string | null; durationMs: number };
}

declare module '../../infra/events.js' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface DomainEvents extends IvrEvents {}
}
