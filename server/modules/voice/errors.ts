import { AppError } from '../../domain/errors.js';

export const voiceErrors = {
  entryNotFound: (entry: string) => new AppError('not_found', 'entry_point_not_found', `No entry point for "${entry}".`, { details: { entry } }),
  unknownQueue: (queueId: string) =>
    new AppError('invalid', 'unknown_reference', `queueId names queue "${queueId}", which does not exist.`, { details: { field: 'body.queueId', kind: 'queue', id: queueId } }),
  unknownFlow: (flowId: string) =>
    new AppError('invalid', 'unknown_reference', `flowId names IVR flow "${flowId}", which has no published version.`, { details: { field: 'body.flowId', kind: 'ivr_flow', id: flowId } }),
  callNotFound: (id: string) => new AppError('not_found', 'call_not_found', `No call "${id}".`, { details: { id } }),
};
