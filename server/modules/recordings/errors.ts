import { AppError } from '../../domain/errors.js';

/** Stable codes of the recordings API. */
export const recordingErrors = {
  callNotFound: (callId: string) => new AppError('not_found', 'call_not_found', `No call "${callId}".`, { details: { callId } }),
  recordingNotFound: (what: string) => new AppError('not_found', 'recording_not_found', `"${what}" has no finished recording.`, { details: { id: what } }),
  recordingDeleted: (callId: string, deletedAt: string, reason: string) =>
    new AppError('not_found', 'recording_deleted', `The recording of "${callId}" was deleted (${reason}).`, { details: { id: callId, deletedAt, reason } }),
  notRecording: (callId: string) =>
    new AppError('conflict', 'recording_not_active', `Call "${callId}" is not being recorded now (not recorded by its queue's policy, or the recording has ended).`, { details: { callId } }),
  alreadyPaused: (callId: string) => new AppError('conflict', 'recording_already_paused', `The recording of call "${callId}" is already paused.`, { details: { callId } }),
  notPaused: (callId: string) => new AppError('conflict', 'recording_not_paused', `The recording of call "${callId}" is not paused.`, { details: { callId } }),
  busy: (callId: string) =>
    new AppError('conflict', 'recording_changed', `The recording of call "${callId}" changed while this request was handled; retry.`, { details: { callId } }),
  notYourCall: (callId: string) => new AppError('forbidden', 'not_your_call', `Only the agent handling call "${callId}", a supervisor or an admin may do this.`, { details: { callId } }),
  noMediaServer: () => new AppError('unavailable', 'recording_no_media_server', 'No media server is configured, so recordings cannot be paused, resumed or played.'),
  badRange: (size: number) => new AppError('bad_range', 'range_not_satisfiable', `The requested range is outside the recording (${size} bytes).`, { details: { size } }),
  badPeriod: () => new AppError('invalid', 'validation_failed', 'Invalid request: querystring.from must not be after querystring.to', { details: { fields: [{ field: 'querystring.from', problem: 'must not be after querystring.to' }] } }),
  badCursor: () =>
    new AppError('invalid', 'validation_failed', 'Invalid request: querystring.after is not a cursor this server gave out', { details: { fields: [{ field: 'querystring.after', problem: 'is not a cursor this server gave out' }] } }),
  runNotFound: (id: string) => new AppError('not_found', 'retention_run_not_found', `No retention run "${id}".`, { details: { id } }),
};
