import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Redis } from '../../infra/redis.js';
import type { EventBus } from '../../infra/events.js';
import type { Clock } from '../../infra/clock.js';
import type { JobRuntime } from '../../infra/jobs/runtime.js';
import type { Log } from '../../infra/logger.js';
import { dummyPasswordHash, verifyPassword } from '../../infra/passwords.js';
import { issueToken, verifyToken } from '../../infra/tokens.js';
import { isRole, mayAccess, type Principal, type Role } from '../../domain/principal.js';
import { authErrors } from './errors.js';
import type { AuthStore } from './store.js';
import type { AuditLog } from '../../infra/audit.js';
import './events.js';

export interface AuthSettings {
  tokenSecret: string;
  tokenTtlSeconds: number;
  maxFailures: number;
  throttleWindowSeconds: number;
}

export interface AuthDeps {
  store: AuthStore;
  audit: AuditLog;
  redis: Redis;
  events: EventBus;
  jobs: JobRuntime;
  clock: Clock;
  log: Log;
  settings: AuthSettings;
}

export interface LoginResult {
  token: string;
  expiresAt: string;
  user: { id: string; username: string; roles: Role[] };
}

/** API keys look like `ipcc_<16 hex id>_<43 chars secret>`; only a SHA-256 of the secret is stored. */
const API_KEY_RE = /^ipcc_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

export function createAuthService(deps: AuthDeps) {
  const { store, redis, settings, clock } = deps;
  const nowSeconds = (): number => Math.floor(clock.now() / 1000);
  const failKeyUser = (tenantId: number, username: string): string => `auth:fail:u:${tenantId}:${username.toLowerCase()}`;
  const failKeyAddr = (addr: string): string => `auth:fail:a:${addr}`;
  const revokedKey = (tenantId: number, userId: string): string => `auth:tv:${tenantId}:${userId}`;

  /** Throttle check before any password work, so a throttled attacker costs us no hashing. */
  async function checkThrottle(tenantId: number, username: string, addr: string): Promise<void> {
    const [userFails, addrFails, userTtl, addrTtl] = await redis
      .multi()
      .get(failKeyUser(tenantId, username))
      .get(failKeyAddr(addr))
      .ttl(failKeyUser(tenantId, username))
      .ttl(failKeyAddr(addr))
      .exec()
      .then((r) => (r ?? []).map(([, v]) => v));
    if (Number(userFails ?? 0) >= settings.maxFailures) throw authErrors.throttled(Math.max(1, Number(userTtl)));
    if (Number(addrFails ?? 0) >= settings.maxFailures * 4) throw authErrors.throttled(Math.max(1, Number(addrTtl)));
  }

  async function recordFailure(tenantId: number, username: string, addr: string): Promise<void> {
    await redis
      .multi()
      .incr(failKeyUser(tenantId, username))
      .expire(failKeyUser(tenantId, username), settings.throttleWindowSeconds, 'NX')
      .incr(failKeyAddr(addr))
      .expire(failKeyAddr(addr), settings.throttleWindowSeconds, 'NX')
      .exec();
  }

  async function login(input: { tenantId: number; username: string; password: string; addr: string; requestId: string }): Promise<LoginResult> {
    const { tenantId, username, addr } = input;
    await checkThrottle(tenantId, username, addr);
    const user = await store.findUserByName(tenantId, username);
    // Always run one hash so response time does not reveal whether the user exists.
    const ok = await verifyPassword(input.password, user ? user.passwordHash : await dummyPasswordHash());
    if (!user || !ok || user.disabled) {
      const reason = !user ? 'unknown_user' : !ok ? 'bad_password' : 'disabled';
      await recordFailure(tenantId, username, addr);
      await deps.audit({ tenantId, actor: `login:${username}`, action: 'auth.login', outcome: 'denied', requestId: input.requestId, details: { reason } });
      deps.events.publish('auth.login_failed', { tenantId, username, reason });
      throw authErrors.badLogin();
    }
    await redis.del(failKeyUser(tenantId, username));
    await deps.audit({ tenantId, actor: `user:${user.id}`, action: 'auth.login', target: user.username, requestId: input.requestId });
    deps.events.publish('auth.login_succeeded', { tenantId, userId: user.id });
    return tokenFor(user);
  }

  function tokenFor(user: { id: string; tenantId: number; username: string; roles: Role[]; tokenVersion: number }): LoginResult {
    const { token, claims } = issueToken(
      settings.tokenSecret,
      { sub: user.id, ten: user.tenantId, roles: user.roles, ver: user.tokenVersion },
      nowSeconds(),
      settings.tokenTtlSeconds,
    );
    return { token, expiresAt: new Date(claims.exp * 1000).toISOString(), user: { id: user.id, username: user.username, roles: user.roles } };
  }

  /** Resolves a bearer credential (login token or API key) to a principal, or throws 401. */
  async function authenticate(credential: string | undefined): Promise<Principal> {
    if (!credential) throw authErrors.missingCredential();
    const keyMatch = API_KEY_RE.exec(credential);
    if (keyMatch) return authenticateApiKey(keyMatch[1] as string, keyMatch[2] as string);
    if (credential.startsWith('ipcc_')) throw authErrors.badCredential();
    const check = verifyToken(settings.tokenSecret, credential, nowSeconds());
    if (!check.ok) throw check.reason === 'expired' ? authErrors.expired() : authErrors.badCredential();
    const c = check.claims;
    const current = await redis.get(revokedKey(c.ten, c.sub));
    if (current !== null && Number(current) > c.ver) throw authErrors.revoked();
    return { kind: 'user', id: c.sub, tenantId: c.ten, name: `user:${c.sub}`, roles: c.roles.filter(isRole) };
  }

  async function authenticateApiKey(id: string, secret: string): Promise<Principal> {
    const key = await store.findApiKey(id);
    const expected = Buffer.from(key?.keyHash ?? '0'.repeat(64), 'hex');
    const given = Buffer.from(sha256(secret), 'hex');
    if (!key || key.revokedAt || !timingSafeEqual(expected, given)) throw authErrors.badCredential();
    const minute = Math.floor(clock.now() / 60000);
    // Recording use is bookkeeping: a job, deduplicated per key per minute, off the request path.
    deps.jobs
      .enqueue('api-key.touch', { tenantId: key.tenantId, keyId: key.id, at: new Date(clock.now()).toISOString() }, { dedupeKey: `${key.id}-${minute}` })
      .catch((err: unknown) => deps.log.warn({ err }, 'could not enqueue api-key.touch'));
    return { kind: 'api_key', id: key.id, tenantId: key.tenantId, name: `api_key:${key.name}`, roles: key.roles };
  }

  return {
    login,
    authenticate,

    authorize(principal: Principal, roles: readonly Role[]): void {
      if (!mayAccess(principal, roles)) throw authErrors.forbidden(roles);
    },

    /** A fresh token for a still-active user; refused once the user is disabled or their tokens were revoked. */
    async refresh(principal: Principal): Promise<LoginResult> {
      if (principal.kind !== 'user') throw authErrors.forbidden(['admin', 'supervisor', 'agent', 'qa']);
      const user = await store.findUserById(principal.tenantId, principal.id);
      if (!user || user.disabled) throw authErrors.revoked();
      return tokenFor(user);
    },

    /** Invalidates every token issued before `tokenVersion` for this user (password change, disable). */
    async revokeTokens(tenantId: number, userId: string, tokenVersion: number): Promise<void> {
      await redis.set(revokedKey(tenantId, userId), String(tokenVersion), 'EX', settings.tokenTtlSeconds + 60);
    },

    async createApiKey(input: { tenantId: number; name: string; roles: string[]; createdBy: Principal; requestId: string }) {
      const bad = input.roles.filter((r) => !isRole(r) || (r === 'admin' && !input.createdBy.roles.includes('admin')));
      if (bad.length > 0 || input.roles.length === 0) throw authErrors.badRoles(bad.length ? bad : ['(none)']);
      const id = randomBytes(8).toString('hex');
      const secret = randomBytes(32).toString('base64url');
      await store.insertApiKey({
        id, tenantId: input.tenantId, name: input.name, keyHash: sha256(secret), roles: input.roles as Role[],
        createdBy: input.createdBy.kind === 'user' ? input.createdBy.id : null,
      });
      await deps.audit({ tenantId: input.tenantId, actor: input.createdBy.name, action: 'api_key.create', target: id, requestId: input.requestId, details: { name: input.name, roles: input.roles } });
      deps.events.publish('auth.api_key_created', { tenantId: input.tenantId, keyId: id });
      return { id, name: input.name, roles: input.roles as Role[], key: `ipcc_${id}_${secret}` };
    },

    async listApiKeys(tenantId: number) {
      return (await store.listApiKeys(tenantId)).map(({ keyHash: _hash, tenantId: _t, ...rest }) => rest);
    },

    async revokeApiKey(input: { tenantId: number; id: string; by: Principal; requestId: string }): Promise<void> {
      const found = await store.revokeApiKey(input.tenantId, input.id);
      if (!found) throw authErrors.apiKeyNotFound(input.id);
      await deps.audit({ tenantId: input.tenantId, actor: input.by.name, action: 'api_key.revoke', target: input.id, requestId: input.requestId });
      deps.events.publish('auth.api_key_revoked', { tenantId: input.tenantId, keyId: input.id });
    },

    /** Job handler: `api-key.touch`. Idempotent: last_used_at only moves forward. */
    async touchApiKey(payload: { tenantId: number; keyId: string; at: string }): Promise<void> {
      await store.touchApiKey(payload.tenantId, payload.keyId, new Date(payload.at));
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
