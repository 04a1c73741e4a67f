/** Events of the recordings module (for real-time views and integrations; never with audio or numbers). */
export interface RecordingEvents {
  'recording.started': { tenantId: number; name: string; callId: string; queueId: string | null; agentId: string | null };
  'recording.ended': { tenantId: number; name: string; callId: string; state: 'done' | 'failed' };
  'recording.paused': { tenantId: number; name: string; callId: string; offsetMs: number; by: string };
  'recording.resumed': { tenantId: number; name: string; callId: string; offsetMs: number; by: string };
  'recording.deleted': { tenantId: number; name: string; callId: string; reason: string };
}

declare module '../../infra/events.js' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface DomainEvents extends RecordingEvents {}
}
