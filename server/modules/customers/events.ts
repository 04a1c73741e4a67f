import type { IdentityChannel, SuggestionReason } from '../../domain/customer.js';

/** Events of the customers module. */
export interface CustomerEvents {
  /** A customer was made: by the first contact from an unknown identity. */
  'customer.created': { tenantId: number; customerId: string; channel: IdentityChannel };
  'customer.identity_added': { tenantId: number; customerId: string; identityId: string; channel: IdentityChannel; verified: boolean };
  /** `mergedId`'s identities and interactions now belong to `survivorId`. */
  'customer.merged': { tenantId: number; mergeId: string; survivorId: string; mergedId: string; by: string };
  /** A merge was undone: the merged customer has its own identities and interactions back. */
  'customer.unmerged': { tenantId: number; mergeId: string; survivorId: string; mergedId: string; by: string };
  /** Two customers may be one person; a person decides (a new suggestion only, not every repeat). */
  'customer.merge_suggested': { tenantId: number; suggestionId: string; customerId: string; otherId: string; reason: SuggestionReason };
}

declare module '../../infra/events.js' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface DomainEvents extends CustomerEvents {}
}
