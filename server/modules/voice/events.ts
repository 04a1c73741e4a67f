/** Events of the voice module (for real-time statistics). */
export interface VoiceEvents {
  'voice.call_arrived': { tenantId: number; callId: string; queueId: string | null };
  'voice.call_connected': { tenantId: number; callId: string; agentId: string; waitedMs: number };
  'voice.call_ended': { tenantId: number; callId: string; outcome: string };
  'voice.announced': { tenantId: number; callId: string; queueId: string; position: number };
  'voice.callback_requested': { tenantId: number; callbackId: string; interactionId: string; queueId: string; via: 'queue_key' | 'ivr' | 'api' };
  'voice.callback_attempted': { tenantId: number; callbackId: string; attempt: number; result: string };
  'voice.callback_merged': { tenantId: number; callbackId: string; callId: string };
  'voice.voicemail_saved': { tenantId: number; voicemailId: string; interactionId: string; mailbox: string; durationMs: number | null };
  'voice.call_overflowed': { tenantId: number; callId: string; fromQueueId: string; toQueueId: string };
  /** An agent's answer could not be joined to the caller; the caller went back to the queue (or, after the last attempt, the call ended). */
  'voice.connect_failed': { tenantId: number; callId: string; agentId: string; reason: 'agent_left' | 'media_error'; attempt: number };
  'voice.call_held': { tenantId: number; callId: string; agentId: string | null; held: boolean };
  'voice.call_transferred': { tenantId: number; callId: string; fromAgentId: string | null; target: unknown; mode: 'blind' | 'attended'; by: string };
  'voice.consult_connected': { tenantId: number; callId: string; agentId: string | null; consultedAgentId: string };
  'voice.conference_started': { tenantId: number; callId: string; agentId: string | null; parties: number };
  /** A call of an interaction ended, with its figures (for real-time statistics). */
  'interaction.call_ended': {
    tenantId: number; interactionId: string; callId: string; outcome: string; queueId: string | null; agentId: string | null;
    queueMs: number; talkMs: number; holdMs: number; transfers: number;
  };
}

declare module '../../infra/events.js' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface DomainEvents extends VoiceEvents {}
}
