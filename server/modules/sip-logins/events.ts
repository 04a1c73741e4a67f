/** Events the SIP logins module publishes on the domain event bus (never with the password). */
export interface SipLoginEvents {
  'sip_login.changed': { tenantId: number; agentId: string; username: string; change: 'created' | 'rotated' | 'removed' };
}

declare module '../../infra/events.js' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface DomainEvents extends SipLoginEvents {}
}
