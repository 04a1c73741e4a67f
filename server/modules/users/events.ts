/** Events the users module publishes on the domain event bus. */
export interface UserEvents {
  'user.created': { tenantId: number; userId: string; roles: string[] };
  'user.updated': { tenantId: number; userId: string; changed: string[] };
}

declare module '../../infra/events.js' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface DomainEvents extends UserEvents {}
}
