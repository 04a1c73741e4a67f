import { AppError } from '../domain/errors.js';
import {
  agentEndpointId,
  agentSipObjects,
  DEFAULT_SIP_ENDPOINT_SETTINGS,
  isAgentEndpointId,
  parseAgentEndpointId,
  reconcileEndpoints,
  SIP_OBJECT_TYPES,
  type AgentSipLogin,
  type ObservedSipEndpoint,
  type SipConfigAction,
  type SipEndpointSettings,
  type SipObjectType,
} from '../domain/sip-endpoint.js';
import type { Logger } from '../infra/logger.js';
import type { AriClient } from './ari-client.js';
import { ARI_ERROR } from './ari-errors.js';
import type { ConfigTuple } from './ari-types.js';

/**
 * Agents' SIP endpoints in Asterisk, through ARI push configuration
 * (`/asterisk/config/dynamic/res_pjsip/{auth|aor|endpoint}/{id}`; sorcery maps these types to
 * astdb, see docker/asterisk/conf/sorcery.conf). Every operation applies to every Asterisk
 * server the process drives, so a phone may register to any of them.
 *
 * Only ids of our scheme (`agent-<tenantId>-<agentId>`) are ever written or deleted.
 */
export interface AgentEndpoints {
  /** Create or update an agent's auth, aor and endpoint (idempotent). */
  provision(login: AgentSipLogin): Promise<void>;
  /** Delete an agent's endpoint, aor and auth; absent objects are fine. */
  remove(tenantId: number, agentId: string): Promise<void>;
  /** Agent endpoints of a tenant that exist on any server, with their registration state. */
  list(tenantId: number): Promise<AgentEndpointState[]>;
  /** Whether the agent's phone is registered and reachable on some server. */
  isRegistered(tenantId: number, agentId: string): Promise<boolean>;
  /**
   * Make every server hold exactly `logins` (the tenant's SIP logins): create missing objects,
   * fix changed ones, delete agent objects of the tenant nobody wants. Run at start-up and
   * after a reconnect. A failure on one object is reported and the rest goes on.
   */
  reconcile(tenantId: number, logins: readonly AgentSipLogin[]): Promise<ReconcileReport>;
  /**
   * Registration changes of agent phones (any tenant), from Asterisk's endpoint states read
   * every `registrationPollMs`; after a (re)connect, every agent endpoint found offline.
   */
  onRegistrationChange(listener: (change: RegistrationChange) => void): () => void;
}

export interface AgentEndpointState {
  id: string;
  agentId: string;
  /** Servers where the endpoint exists. */
  servers: string[];
  /** Registered and reachable on at least one server. */
  registered: boolean;
}

export interface RegistrationChange {
  server: string;
  tenantId: number;
  agentId: string;
  endpointId: string;
  registered: boolean;
}

export interface ReconcileReport {
  servers: Array<{
    server: string;
    created: string[];
    updated: string[];
    deleted: string[];
    unchanged: number;
    failed: Array<{ id: string; type: SipObjectType; op: 'put' | 'delete' | 'observe'; code: string }>;
  }>;
}

export interface AgentEndpointsOptions {
  /** The ARI clients of the servers to provision (e.g. `() => telephony.servers()`). */
  servers: () => readonly AriClient[];
  logger: Logger;
  settings?: Partial<SipEndpointSettings>;
  /** Concurrent ARI requests while observing and reconciling. Default 8. */
  concurrency?: number;
  /** How often agent phones' registration states are read. Default 2000 ms. */
  registrationPollMs?: number;
}

const CLASS = 'res_pjsip';

interface EndpointResource {
  technology: string;
  resource: string;
  state?: string;
}

export function createAgentEndpoints(options: AgentEndpointsOptions): AgentEndpoints {
  const settings: SipEndpointSettings = { ...DEFAULT_SIP_ENDPOINT_SETTINGS, ...options.settings };
  const log = options.logger.child({ component: 'agent-endpoints' });
  const concurrency = options.concurrency ?? 8;
  const registrationPollMs = options.registrationPollMs ?? 2000;
  const servers = (): readonly AriClient[] => {
    const list = options.servers();
    if (list.length === 0) throw new AppError('unavailable', 'telephony.no_servers', 'no Asterisk server is configured');
    return list;
  };

  const put = (client: AriClient, type: SipObjectType, id: string, fields: readonly ConfigTuple[]) =>
    client.asterisk.putObject(CLASS, type, id, fields);

  async function del(client: AriClient, type: SipObjectType, id: string): Promise<void> {
    try {
      await client.asterisk.deleteObject(CLASS, type, id);
    } catch (error) {
      if (error instanceof AppError && error.code === ARI_ERROR.notFound) return;
      throw error;
    }
  }

  async function getObject(client: AriClient, type: SipObjectType, id: string): Promise<Record<string, string> | undefined> {
    try {
      const tuples = await client.request<ConfigTuple[]>('GET', `/asterisk/config/dynamic/${CLASS}/${type}/${encodeURIComponent(id)}`);
      return Object.fromEntries(tuples.map((t) => [t.attribute, t.value]));
    } catch (error) {
      if (error instanceof AppError && error.code === ARI_ERROR.notFound) return undefined;
      throw error;
    }
  }

  async function endpointsOf(client: AriClient): Promise<EndpointResource[]> {
    return client.request<EndpointResource[]>('GET', '/endpoints/PJSIP');
  }

  async function provisionOn(client: AriClient, login: AgentSipLogin): Promise<void> {
    const id = agentEndpointId(login.tenantId, login.agentId);
    const objects = agentSipObjects(login, settings);
    // auth and aor first: the endpoint names them.
    for (const type of SIP_OBJECT_TYPES) await put(client, type, id, objects[type]);
  }

  async function removeOn(client: AriClient, id: string): Promise<void> {
    for (const type of [...SIP_OBJECT_TYPES].reverse()) await del(client, type, id);
  }

  async function observe(client: AriClient, tenantId: number, ids: Iterable<string>): Promise<{ observed: ObservedSipEndpoint[]; failed: ReconcileReport['servers'][number]['failed'] }> {
    const all = new Set(ids);
    // Strays are found through the endpoint list; an auth or aor left without its endpoint
    // under an id nobody wants is not visible to ARI and stays (it does nothing on its own).
    for (const e of await endpointsOf(client)) if (isAgentEndpointId(e.resource, tenantId)) all.add(e.resource);
    const observed: ObservedSipEndpoint[] = [];
    const failed: ReconcileReport['servers'][number]['failed'] = [];
    await mapLimit([...all], concurrency, async (id) => {
      const objects: ObservedSipEndpoint['objects'] = {};
      for (const type of SIP_OBJECT_TYPES) {
        try {
          const fields = await getObject(client, type, id);
          if (fields) objects[type] = fields;
        } catch (error) {
          failed.push({ id, type, op: 'observe', code: codeOf(error) });
          return;
        }
      }
      observed.push({ id, objects });
    });
    return { observed, failed };
  }

  async function perform(client: AriClient, action: SipConfigAction): Promise<void> {
    if (action.op === 'put') await put(client, action.type, action.id, action.fields);
    else await del(client, action.type, action.id);
  }

  async function reconcileOn(client: AriClient, tenantId: number, logins: readonly AgentSipLogin[]) {
    const desired = logins.map((l) => ({ id: agentEndpointId(l.tenantId, l.agentId), objects: agentSipObjects(l, settings) }));
    const { observed, failed } = await observe(client, tenantId, desired.map((d) => d.id));
    // An id we could not read is left alone this round rather than guessed at.
    const unreadable = new Set(failed.map((f) => f.id));
    const plan = reconcileEndpoints(
      desired.filter((d) => !unreadable.has(d.id)),
      observed,
      { tenantId },
    );
    const byId = new Map<string, SipConfigAction[]>();
    for (const a of plan.actions) byId.set(a.id, [...(byId.get(a.id) ?? []), a]);
    const created = new Set<string>();
    const updated = new Set<string>();
    const deleted = new Set<string>();
    await mapLimit([...byId.entries()], concurrency, async ([id, actions]) => {
      // One id's actions in order (auth, aor, endpoint; deletes in reverse); ids in parallel.
      for (const action of actions) {
        try {
          await perform(client, action);
        } catch (error) {
          failed.push({ id, type: action.type, op: action.op, code: codeOf(error) });
          log.warn({ server: client.name, id, type: action.type, op: action.op, err: error }, 'agent endpoint reconcile step failed');
          return;
        }
        if (action.op === 'delete') deleted.add(id);
        else if (action.reason === 'missing' && action.type === 'endpoint') created.add(id);
        else updated.add(id);
      }
    });
    for (const id of created) updated.delete(id);
    const report = {
      server: client.name,
      created: [...created].sort(),
      updated: [...updated].sort(),
      deleted: [...deleted].sort(),
      unchanged: plan.unchanged.length,
      failed,
    };
    log.info({ server: client.name, tenantId, created: report.created.length, updated: report.updated.length, deleted: report.deleted.length, unchanged: report.unchanged, failed: failed.length }, 'agent endpoints reconciled');
    return report;
  }

  const listeners = new Set<(change: RegistrationChange) => void>();
  const detach: Array<() => void> = [];
  let watching = false;

  const notify = (change: RegistrationChange): void => {
    for (const l of [...listeners]) {
      try {
        l(change);
      } catch (err) {
        log.error({ err }, 'registration listener failed');
      }
    }
  };

  /**
   * Registration states are polled (`GET /endpoints/PJSIP`), not subscribed to: an application
   * subscribed to `endpoint:PJSIP` receives every event of every PJSIP channel a second time,
   * which doubles the event stream Asterisk serialises for the calls themselves. The first
   * poll after a (re)connect reports every agent endpoint that is offline, so a ready agent
   * whose phone went away while we were not looking leaves routing too.
   */
  function pollServer(client: AriClient): () => void {
    let known: Map<string, boolean> | undefined;
    let inFlight = false;
    const poll = async () => {
      if (inFlight || !client.state().up) return;
      inFlight = true;
      try {
        const now = new Map<string, boolean>();
        for (const e of await endpointsOf(client)) {
          if (parseAgentEndpointId(e.resource)) now.set(e.resource, e.state === 'online');
        }
        for (const [id, registered] of now) {
          const before = known?.get(id);
          if (before === registered || (before === undefined && registered)) continue;
          const parsed = parseAgentEndpointId(id);
          if (parsed) notify({ server: client.name, tenantId: parsed.tenantId, agentId: parsed.agentId, endpointId: id, registered });
        }
        known = now;
      } catch (err) {
        log.warn({ server: client.name, err }, 'could not read agent endpoint states');
      } finally {
        inFlight = false;
      }
    };
    const timer = setInterval(() => void poll(), registrationPollMs);
    timer.unref();
    void poll();
    const off = client.onConnectionChange((c) => {
      // A reconnect starts from a fresh picture: whatever changed meanwhile is reported.
      if (!c.up) known = undefined;
      else void poll();
    });
    return () => {
      clearInterval(timer);
      off();
    };
  }

  function watch(): void {
    if (watching) return;
    watching = true;
    for (const client of servers()) detach.push(pollServer(client));
  }

  return {
    async provision(login) {
      await Promise.all(servers().map((c) => provisionOn(c, login)));
      log.info({ tenantId: login.tenantId, agentId: login.agentId }, 'agent endpoint provisioned');
    },

    async remove(tenantId, agentId) {
      const id = agentEndpointId(tenantId, agentId);
      await Promise.all(servers().map((c) => removeOn(c, id)));
      log.info({ tenantId, agentId }, 'agent endpoint removed');
    },

    async list(tenantId) {
      const found = new Map<string, AgentEndpointState>();
      for (const client of servers()) {
        for (const e of await endpointsOf(client)) {
          const parsed = parseAgentEndpointId(e.resource);
          if (!parsed || parsed.tenantId !== tenantId) continue;
          const entry = found.get(e.resource) ?? { id: e.resource, agentId: parsed.agentId, servers: [], registered: false };
          entry.servers.push(client.name);
          entry.registered ||= e.state === 'online';
          found.set(e.resource, entry);
        }
      }
      return [...found.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
    },

    async isRegistered(tenantId, agentId) {
      const id = agentEndpointId(tenantId, agentId);
      const states = await Promise.all(
        servers().map(async (c) => {
          try {
            return (await c.request<EndpointResource>('GET', `/endpoints/PJSIP/${encodeURIComponent(id)}`)).state;
          } catch (error) {
            if (error instanceof AppError && error.code === ARI_ERROR.notFound) return undefined;
            throw error;
          }
        }),
      );
      return states.includes('online');
    },

    async reconcile(tenantId, logins) {
      for (const l of logins) {
        if (l.tenantId !== tenantId) throw new AppError('internal', 'sip_endpoint.wrong_tenant', `a login of tenant ${l.tenantId} was given to reconcile tenant ${tenantId}`);
      }
      const results = await Promise.all(
        servers().map(async (c) => {
          try {
            return await reconcileOn(c, tenantId, logins);
          } catch (error) {
            log.warn({ server: c.name, err: error }, 'agent endpoints could not be reconciled');
            return { server: c.name, created: [], updated: [], deleted: [], unchanged: 0, failed: [{ id: '*', type: 'endpoint' as const, op: 'observe' as const, code: codeOf(error) }] };
          }
        }),
      );
      return { servers: results };
    },

    onRegistrationChange(listener) {
      watch();
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) {
          for (const off of detach.splice(0)) off();
          watching = false;
        }
      };
    },
  };
}

function codeOf(error: unknown): string {
  return error instanceof AppError ? error.code : 'unknown';
}

async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
