/** Roles a user or API key can hold. Every route declares which of these may call it. */
export const ROLES = ['admin', 'supervisor', 'agent', 'qa', 'integration'] as const;
export type Role = (typeof ROLES)[number];

/** Roles a person logging in can hold; `integration` belongs to API keys. */
export const USER_ROLES = ['admin', 'supervisor', 'agent', 'qa'] as const satisfies readonly Role[];
export type UserRole = (typeof USER_ROLES)[number];

export const isRole = (s: string): s is Role => (ROLES as readonly string[]).includes(s);

/** Who is calling: a logged-in user or an integration's API key. */
export interface Principal {
  kind: 'user' | 'api_key';
  /** user id or API key id */
  id: string;
  tenantId: number;
  /** user name or API key name, for logs and the audit trail */
  name: string;
  roles: Role[];
}

/** Route access rule: `public` routes need no credential; others list the roles allowed. */
export type Access = { public: true } | { roles: readonly Role[] };

export const mayAccess = (principal: Principal, roles: readonly Role[]): boolean =>
  principal.roles.some((r) => roles.includes(r));
