import { AppError } from '../../domain/errors.js';

export const ivrErrors = {
  /** Also the answer for any name that is not a cache file's: the media route is no directory. */
  mediaNotFound: () => new AppError('not_found', 'media_not_found', 'No such IVR media file.'),
  journeyNotFound: (callId: string) => new AppError('not_found', 'journey_not_found', `Call "${callId}" has no IVR journey.`, { details: { id: callId } }),
  badRange: (from: string, to: string) =>
    new AppError('invalid', 'invalid_range', `"from" (${from}) must be before "to" (${to}), at most 366 days apart.`, { details: { fields: { 'query.from': 'must be before to', 'query.to': 'must be after from' } } }),
};
