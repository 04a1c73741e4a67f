import { AppError } from '../../domain/errors.js';

type Kind = 'skill' | 'calendar' | 'queue' | 'agent';

export const routingErrors = {
  notFound: (kind: Kind, id: string) => new AppError('not_found', `${kind}_not_found`, `No ${kind} "${id}".`, { details: { id } }),
  unknownReference: (field: string, kind: Kind, id: string) =>
    new AppError('invalid', 'unknown_reference', `${field} names ${kind} "${id}", which does not exist; create it first.`, { details: { field, kind, id } }),
  inUse: (kind: Kind, id: string, usedBy: string[]) =>
    new AppError('conflict', `${kind}_in_use`, `${kind} "${id}" is still used by ${usedBy.slice(0, 5).join(', ')}${usedBy.length > 5 ? ' …' : ''}; change those first.`, { details: { id, usedBy } }),
  badTimeZone: (zone: string) =>
    new AppError('invalid', 'unknown_time_zone', `timeZone "${zone}" is not a known IANA zone (e.g. Europe/Berlin) or a fixed offset (e.g. +02:00).`, { details: { field: 'body.timeZone' } }),
  userTaken: (userId: string, agentId: string) =>
    new AppError('conflict', 'user_already_agent', `User ${userId} is already agent "${agentId}".`, { details: { field: 'body.userId', agentId } }),
  /** A domain validation error, reshaped so `details.field` reads like the request. */
  fromDomain: (e: AppError) =>
    new AppError('invalid', e.code, e.message, { details: { ...e.details, field: typeof e.details?.field === 'string' ? `body.${e.details.field}` : undefined } }),
};
