import { AppError } from '../../domain/errors.js';

export const supervisionErrors = {
  /** No live call of that id (never was, or already ended). */
  callNotLive: (callId: string) => new AppError('not_found', 'call_not_live', `Call "${callId}" is not live.`, { details: { callId } }),
  /** The call is live but not (or no longer) connected to an agent: in the IVR or waiting in a queue. */
  callNotConnected: (callId: string, state: string) =>
    new AppError('conflict', 'call_not_live', `Call "${callId}" is not connected to an agent (it is ${state}); only connected calls can be supervised.`, { details: { callId, state } }),
  sessionNotFound: (callId: string, sessionId: string) =>
    new AppError('not_found', 'supervision_not_found', `No supervision "${sessionId}" on call "${callId}".`, { details: { callId, sessionId } }),
  sessionEnded: (sessionId: string, reason: string | undefined) =>
    new AppError('conflict', 'supervision_ended', `Supervision "${sessionId}" has ended (${reason ?? 'unknown reason'}).`, { details: { sessionId, reason: reason ?? null } }),
  phoneNotProvisioned: (agentId: string) =>
    new AppError('conflict', 'phone_not_provisioned', `Agent "${agentId}" has no SIP login, so there is no phone to ring; give one with PUT /v1/agents/${agentId}/sip-login.`, {
      details: { field: 'body.phone.agentId', agentId },
    }),
  phoneBusy: (phone: string, why: 'on_a_call' | 'supervising') =>
    new AppError('conflict', 'phone_busy', why === 'on_a_call' ? `The phone ${phone} is on a call.` : `The phone ${phone} is already supervising a call.`, { details: { phone, why } }),
  ringFailed: (phone: string, cause: unknown) =>
    new AppError('unavailable', 'phone_ring_failed', `The media server could not ring ${phone}; check the phone's name, or retry.`, { details: { phone }, cause }),
  mediaFailed: (sessionId: string, cause: unknown) =>
    new AppError('unavailable', 'supervision_media_failed', `The media server could not set up the supervision's audio; the previous mode is kept.`, { details: { sessionId }, cause }),
  noTelephony: () => new AppError('unavailable', 'telephony_not_configured', 'No media server is configured: calls cannot be supervised.'),
};
