/** Events the auth module publishes on the domain event bus. */
export interface AuthEvents {
  'auth.login_succeeded': { tenantId: number; userId: string };
  'auth.login_failed': { tenantId: number; username: string; reason: 'bad_password' | 'unknown_user' | 'disabled' };
  'auth.api_key_created': { tenantId: number; keyId: string };
  'auth.api_key_revoked': { tenantId: number; keyId: string };
}

declare module '../../infra/events.js' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface DomainEvents extends AuthEvents {}
}
