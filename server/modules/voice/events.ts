/** Events of the voice module (for real-time statistics). */
export interface VoiceEvents {
  'voice.call_arrived': { tenantId: number; callId: string; queueId: string | null };
  'voice.call_connected': { tenantId: number; callId: string; agentId: string; waitedMs: number };
  'voice.call_ended': { tenantId: number; callId: string; outcome: string };
}

declare module '../../infra/events.js' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface DomainEvents extends VoiceEvents {}
}
