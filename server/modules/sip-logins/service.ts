import { randomBytes } from 'node:crypto';
import { agentEndpointId, type AgentSipLogin } from '../../domain/sip-endpoint.js';
import type { AuditLog } from '../../infra/audit.js';
import type { EventBus } from '../../infra/events.js';
import type { Log } from '../../infra/logger.js';
import { sipLoginErrors } from './errors.js';
import type { SipLoginStore } from './store.js';
import './events.js';

/**
 * What the service needs from telephony: the agent endpoints in Asterisk. The telephony
 * layer's `createAgentEndpoints` provides it.
 */
export interface SipProvisioning {
  provision(login: AgentSipLogin): Promise<void>;
  remove(tenantId: number, agentId: string): Promise<void>;
  isRegistered(tenantId: number, agentId: string): Promise<boolean>;
  reconcile(tenantId: number, logins: readonly AgentSipLogin[]): Promise<unknown>;
}

export interface SipLoginDeps {
  store: SipLoginStore;
  /** Absent when no Asterisk is configured: logins cannot be given out then. */
  provisioning: SipProvisioning | undefined;
  /** Whether the agent exists (routing service). */
  agentExists(tenantId: number, agentId: string): Promise<boolean>;
  audit: AuditLog;
  events: EventBus;
  log: Log;
  /** The generator of SIP passwords; default 144 random bits, base64url. */
  generatePassword?: () => string;
}

export interface SipCredentials {
  agentId: string;
  username: string;
  password: string;
  contact?: string;
  createdAt: string;
  updatedAt: string;
}

type Actor = { name: string; requestId?: string };

const defaultPassword = (): string => randomBytes(18).toString('base64url');

/**
 * SIP logins of agents' phones: stored in MySQL (with the password, which Asterisk needs) and
 * provisioned in Asterisk as PJSIP auth, aor and endpoint. The password is returned once, when
 * it is created or rotated.
 */
export function createSipLoginService(deps: SipLoginDeps) {
  const { store } = deps;
  const generate = deps.generatePassword ?? defaultPassword;

  const provisioning = (): SipProvisioning => {
    if (!deps.provisioning) throw sipLoginErrors.noTelephony();
    return deps.provisioning;
  };

  return {
    /** Creates the agent's SIP login or rotates its password; the reply is the only time the password is shown. */
    async put(tenantId: number, agentId: string, by: Actor, contact?: string): Promise<{ change: 'created' | 'rotated'; login: SipCredentials }> {
      const telephony = provisioning();
      if (!(await deps.agentExists(tenantId, agentId))) throw sipLoginErrors.agentNotFound(agentId);
      const username = agentEndpointId(tenantId, agentId);
      const password = generate();
      // Saved first: if Asterisk fails now, the reconciler can still push the login later.
      const change = await store.upsert({ tenantId, agentId, username, password, contact: contact ?? null });
      try {
        await telephony.provision({ tenantId, agentId, password, ...(contact ? { contact } : {}) });
      } catch (error) {
        deps.log.warn({ tenantId, agentId, err: error }, 'SIP login saved but not provisioned');
        throw sipLoginErrors.provisioningFailed(agentId, error);
      }
      await deps.audit({ tenantId, actor: by.name, action: `sip_login.${change === 'created' ? 'create' : 'rotate'}`, target: agentId, ...(by.requestId ? { requestId: by.requestId } : {}), details: { username, ...(contact ? { contact } : {}) } });
      deps.events.publish('sip_login.changed', { tenantId, agentId, username, change });
      const saved = await store.get(tenantId, agentId);
      if (!saved) throw sipLoginErrors.notFound(agentId);
      return { change, login: { agentId, username, password, ...(saved.contact ? { contact: saved.contact } : {}), createdAt: saved.createdAt, updatedAt: saved.updatedAt } };
    },

    /** The login without its password, and whether the phone is registered now (when Asterisk answers). */
    async get(tenantId: number, agentId: string) {
      const saved = await store.get(tenantId, agentId);
      if (!saved) throw sipLoginErrors.notFound(agentId);
      let registered: boolean | undefined;
      try {
        registered = deps.provisioning ? await deps.provisioning.isRegistered(tenantId, agentId) : undefined;
      } catch (error) {
        deps.log.warn({ tenantId, agentId, err: error }, 'registration state unavailable');
      }
      return { agentId: saved.agentId, username: saved.username, ...(saved.contact ? { contact: saved.contact } : {}), createdAt: saved.createdAt, updatedAt: saved.updatedAt, ...(registered !== undefined ? { registered } : {}) };
    },

    /** Removes the endpoint from Asterisk, then the login; a phone can no longer register. */
    async remove(tenantId: number, agentId: string, by: Actor): Promise<void> {
      const telephony = provisioning();
      const saved = await store.get(tenantId, agentId);
      if (!saved) throw sipLoginErrors.notFound(agentId);
      try {
        await telephony.remove(tenantId, agentId);
      } catch (error) {
        throw sipLoginErrors.provisioningFailed(agentId, error);
      }
      await store.remove(tenantId, agentId);
      await deps.audit({ tenantId, actor: by.name, action: 'sip_login.delete', target: agentId, ...(by.requestId ? { requestId: by.requestId } : {}), details: { username: saved.username } });
      deps.events.publish('sip_login.changed', { tenantId, agentId, username: saved.username, change: 'removed' });
    },

    /** Make Asterisk hold exactly the tenant's stored logins (start-up, reconnect, after agent deletions). */
    async reconcile(tenantId: number) {
      const logins = (await store.listWithSecrets(tenantId)).map((l) => ({ tenantId, agentId: l.agentId, password: l.password, ...(l.contact ? { contact: l.contact } : {}) }));
      return provisioning().reconcile(tenantId, logins);
    },
  };
}

export type SipLoginService = ReturnType<typeof createSipLoginService>;
