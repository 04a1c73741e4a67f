import { AppError } from '../../domain/errors.js';

export const customerErrors = {
  notFound: (id: string, field?: string) =>
    field
      ? new AppError('invalid', 'unknown_reference', `${field} names customer ${id}, which does not exist.`, { details: { field, kind: 'customer', id } })
      : new AppError('not_found', 'customer_not_found', `No customer ${id}.`, { details: { id } }),
  mergeNotFound: (id: string) => new AppError('not_found', 'customer_merge_not_found', `No customer merge ${id}.`, { details: { id } }),
  suggestionNotFound: (id: string) => new AppError('not_found', 'customer_merge_suggestion_not_found', `No open merge suggestion ${id}.`, { details: { id } }),
  /** The address is another customer's; `suggestionId` when the two were suggested for a merge. */
  identityTaken: (channel: string, otherCustomerId: string, suggestionId: string | undefined) =>
    new AppError(
      'conflict',
      'identity_taken',
      `This ${channel} address belongs to customer ${otherCustomerId}.${suggestionId ? ` The two customers have been suggested for a merge (suggestion ${suggestionId}); merge them with POST /v1/customers/{id}/merge.` : ' Merge the two customers if they are one person.'}`,
      { details: { field: 'body.address', customerId: otherCustomerId, ...(suggestionId ? { suggestionId } : {}) } },
    ),
  interactionLinkedElsewhere: (interactionId: string, customerId: string) =>
    new AppError('conflict', 'interaction_linked_elsewhere', `Interaction ${interactionId} already belongs to customer ${customerId}.`, { details: { interactionId, customerId } }),
  badChannel: (channel: string) => new AppError('invalid', 'customer.channel_invalid', `"${channel}" is not a channel.`, { details: { field: 'channel', channel } }),
  badBefore: () =>
    new AppError('invalid', 'validation_failed', 'Invalid request: query.before must be the `next` of a previous page or an ISO 8601 instant (2026-06-01T12:00:00Z).', {
      details: { fields: [{ field: 'query.before', problem: 'must be a cursor from `next` or an ISO 8601 instant' }] },
    }),
  lookupNeedsOne: () =>
    new AppError('invalid', 'validation_failed', 'Invalid request: give exactly one of query.phone and query.email.', {
      details: { fields: [{ field: 'query.phone', problem: 'give exactly one of phone and email' }, { field: 'query.email', problem: 'give exactly one of phone and email' }] },
    }),
  /** Concurrent first contacts kept colliding; a retry will find the customer. */
  contended: () => new AppError('unavailable', 'customer.resolve_contended', 'The customer could not be resolved because of concurrent changes; retry.'),
};
