import { AppError } from '../../domain/errors.js';

export const voiceErrors = {
  entryNotFound: (entry: string) => new AppError('not_found', 'entry_point_not_found', `No entry point for "${entry}".`, { details: { entry } }),
  unknownQueue: (queueId: string) =>
    new AppError('invalid', 'unknown_reference', `queueId names queue "${queueId}", which does not exist.`, { details: { field: 'body.queueId', kind: 'queue', id: queueId } }),
  unknownFlow: (flowId: string) =>
    new AppError('invalid', 'unknown_reference', `flowId names IVR flow "${flowId}", which has no published version.`, { details: { field: 'body.flowId', kind: 'ivr_flow', id: flowId } }),
  noMediaServer: () => new AppError('unavailable', 'no_media_server', 'No media server is configured.'),
  noActiveCall: (agentId: string) => new AppError('conflict', 'no_active_call', `Agent "${agentId}" is not on a call.`, { details: { agentId } }),
  alreadyInState: (agentId: string, state: string) => new AppError('conflict', 'call_state_unchanged', `The call of agent "${agentId}" is already ${state}.`, { details: { agentId, state } }),
  consultationInProgress: (agentId: string) =>
    new AppError('conflict', 'consultation_in_progress', `Agent "${agentId}" is consulting; complete, cancel or conference it first.`, { details: { agentId } }),
  noConsultation: (agentId: string) => new AppError('conflict', 'no_consultation', `Agent "${agentId}" has no answered consultation to complete or join.`, { details: { agentId } }),
  noTrunk: () => new AppError('conflict', 'no_outbound_trunk', 'No outside line is configured (IPCC_OUTBOUND_DIAL), so outside numbers cannot be called.'),
  unknownTarget: (kind: string, id: string) => new AppError('invalid', 'unknown_reference', `The target ${kind} "${id}" does not exist.`, { details: { field: 'body.target', kind, id } }),
  transferToSelf: (agentId: string) => new AppError('invalid', 'transfer_to_self', `Agent "${agentId}" cannot transfer a call to itself.`, { details: { agentId } }),
  interactionNotFound: (id: string) => new AppError('not_found', 'interaction_not_found', `No interaction "${id}".`, { details: { id } }),
  callbackNotFound: (id: string) => new AppError('not_found', 'callback_not_found', `No callback "${id}".`, { details: { id } }),
  callbackNotPending: (id: string) => new AppError('conflict', 'callback_not_pending', `Callback "${id}" is not waiting (it is being dialled or is over).`, { details: { id } }),
  callbackPending: (number: string, id: string) => new AppError('conflict', 'callback_pending', 'This number already has a callback waiting; its place is kept.', { details: { callbackId: id } }),
  voicemailNotFound: (id: string) => new AppError('not_found', 'voicemail_not_found', `No voicemail "${id}".`, { details: { id } }),
  callNotFound: (id: string) => new AppError('not_found', 'call_not_found', `No call "${id}".`, { details: { id } }),
};
