import { AppError } from '../../domain/errors.js';

export const voiceErrors = {
  entryNotFound: (entry: string) => new AppError('not_found', 'entry_point_not_found', `No entry point for "${entry}".`, { details: { entry } }),
  unknownQueue: (queueId: string) =>
    new AppError('invalid', 'unknown_reference', `queueId names queue "${queueId}", which does not exist.`, { details: { field: 'body.queueId', kind: 'queue', id: queueId } }),
  callNotFound: (id: string) => new AppError('not_found', 'call_not_found', `No call "${id}".`, { details: { id } }),
};
