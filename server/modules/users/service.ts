import { hashPassword, passwordProblems } from '../../infra/passwords.js';
import type { EventBus } from '../../infra/events.js';
import type { Principal, UserRole } from '../../domain/principal.js';
import type { AuditLog } from '../../infra/audit.js';
import { userErrors } from './errors.js';
import type { UserStore } from './store.js';
import './events.js';

export interface UserDeps {
  store: UserStore;
  audit: AuditLog;
  events: EventBus;
  /** Revokes a user's older tokens (auth service). */
  revokeTokens(tenantId: number, userId: string, tokenVersion: number): Promise<void>;
}

export interface NewUser {
  username: string;
  password: string;
  roles: UserRole[];
  displayName?: string;
}

export function createUserService(deps: UserDeps) {
  const { store } = deps;
  return {
    async create(tenantId: number, input: NewUser, by: { name: string; requestId?: string }) {
      const problems = passwordProblems(input.password, input.username);
      if (problems.length > 0) throw userErrors.weakPassword(problems);
      const id = await store.insert({
        tenantId, username: input.username, displayName: input.displayName ?? input.username,
        passwordHash: await hashPassword(input.password), roles: [...new Set(input.roles)],
      });
      if (!id) throw userErrors.duplicate(input.username);
      await deps.audit({ tenantId, actor: by.name, action: 'user.create', target: input.username, ...(by.requestId ? { requestId: by.requestId } : {}), details: { roles: input.roles } });
      deps.events.publish('user.created', { tenantId, userId: id, roles: input.roles });
      const user = await store.get(tenantId, id);
      if (!user) throw userErrors.notFound(id);
      return user;
    },

    async get(tenantId: number, id: string) {
      const user = await store.get(tenantId, id);
      if (!user) throw userErrors.notFound(id);
      return user;
    },

    /** The user, or undefined (for other modules checking a reference). */
    find: (tenantId: number, id: string) => store.get(tenantId, id),

    async list(tenantId: number, opts: { limit: number; after?: string }) {
      const items = await store.list(tenantId, { limit: opts.limit, afterId: opts.after });
      return { items, next: items.length === opts.limit ? items[items.length - 1]?.id : undefined };
    },

    async update(tenantId: number, id: string, patch: { displayName?: string; roles?: UserRole[]; disabled?: boolean; password?: string }, by: Principal, requestId: string) {
      const user = await store.get(tenantId, id);
      if (!user) throw userErrors.notFound(id);
      const losesAdmin = user.roles.includes('admin') && !user.disabled && (patch.disabled === true || (patch.roles !== undefined && !patch.roles.includes('admin')));
      if (losesAdmin && (await store.countEnabledAdmins(tenantId, id)) === 0) throw userErrors.lastAdmin();
      let passwordHash: string | undefined;
      if (patch.password !== undefined) {
        const problems = passwordProblems(patch.password, user.username);
        if (problems.length > 0) throw userErrors.weakPassword(problems);
        passwordHash = await hashPassword(patch.password);
      }
      // Credentials or rights changed: tokens issued before now stop working.
      const bump = passwordHash !== undefined || patch.disabled === true || patch.roles !== undefined;
      await store.update(tenantId, id, {
        ...(patch.displayName !== undefined ? { displayName: patch.displayName } : {}),
        ...(patch.roles !== undefined ? { roles: [...new Set(patch.roles)] } : {}),
        ...(patch.disabled !== undefined ? { disabled: patch.disabled } : {}),
        ...(passwordHash !== undefined ? { passwordHash } : {}),
        bumpTokenVersion: bump,
      });
      if (bump) await deps.revokeTokens(tenantId, id, user.tokenVersion + 1);
      const changed = Object.keys(patch).filter((k) => k !== 'password').concat(passwordHash ? ['password'] : []);
      await deps.audit({ tenantId, actor: by.name, action: 'user.update', target: user.username, requestId, details: { changed } });
      deps.events.publish('user.updated', { tenantId, userId: id, changed });
      return this.get(tenantId, id);
    },
  };
}

export type UserService = ReturnType<typeof createUserService>;
