import { Ajv } from 'ajv';
import { flowSchema, validateFlow, type Flow } from '../../../ivr/index.js';
import type { AuditLog } from '../../infra/audit.js';
import type { EventBus } from '../../infra/events.js';
import { flowErrors, type FlowProblem } from './errors.js';
import type { FlowStore } from './store.js';
import './events.js';

export interface FlowDeps {
  store: FlowStore;
  audit: AuditLog;
  events: EventBus;
  /** Ids of the tenant's business-hours calendars (a branch may name only these). */
  calendarIds(tenantId: number): Promise<string[]>;
}

/**
 * IVR flow administration: every upload is validated (the published JSON
 * Schema, then the flow rules, with errors that name the node) and stored as a
 * new immutable version; publishing picks the version new calls start on (a
 * call keeps the version it started with); rollback re-publishes the version
 * published before the current one.
 */
export function createFlowService(deps: FlowDeps) {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const schemaCheck = ajv.compile(flowSchema);

  async function problemsOf(tenantId: number, doc: unknown): Promise<FlowProblem[]> {
    if (!schemaCheck(doc)) {
      return (schemaCheck.errors ?? []).map((e) => {
        const path = e.instancePath.split('/').filter(Boolean);
        const node = path[0] === 'nodes' ? path[1] : undefined;
        return { code: 'ivr.schema', message: `${e.instancePath || '/'} ${e.message ?? e.keyword}`, field: e.instancePath || '/', ...(node ? { node } : {}) };
      });
    }
    return validateFlow(doc, { calendarIds: await deps.calendarIds(tenantId) }).map((e) => ({
      code: e.code,
      message: e.message,
      ...(typeof e.details?.node === 'string' ? { node: e.details.node } : {}),
      ...(typeof e.details?.field === 'string' ? { field: e.details.field } : {}),
    }));
  }

  async function versionOrThrow(tenantId: number, flowId: string, version: number) {
    const v = await deps.store.getVersion(tenantId, flowId, version);
    if (!v) throw flowErrors.versionNotFound(flowId, version);
    return v;
  }

  async function publish(tenantId: number, flowId: string, version: number, by: string, requestId: string, action: string) {
    const v = await versionOrThrow(tenantId, flowId, version);
    // Re-check: a calendar the flow names may have been deleted since the upload.
    const problems = await problemsOf(tenantId, v.body);
    if (problems.length > 0) throw flowErrors.invalid(problems);
    await deps.store.publish(tenantId, flowId, version, by);
    await deps.audit({ tenantId, actor: by, action, target: `${flowId}@${version}`, requestId });
    deps.events.publish('ivr.flow_published', { tenantId, flowId, version });
    return { id: flowId, publishedVersion: version };
  }

  return {
    async validate(tenantId: number, doc: unknown) {
      const problems = await problemsOf(tenantId, doc);
      return { valid: problems.length === 0, problems };
    },

    async upload(tenantId: number, flowId: string, doc: unknown, by: string, requestId: string) {
      const body = doc as { id?: unknown; name?: unknown };
      if (body && typeof body === 'object' && body.id !== flowId) throw flowErrors.idMismatch(flowId, body.id);
      const problems = await problemsOf(tenantId, doc);
      if (problems.length > 0) throw flowErrors.invalid(problems);
      const version = await deps.store.addVersion(tenantId, flowId, String(body.name), doc, by);
      await deps.audit({ tenantId, actor: by, action: 'ivr_flow.upload', target: `${flowId}@${version}`, requestId });
      return { id: flowId, version };
    },

    publish: (tenantId: number, flowId: string, version: number, by: string, requestId: string) => publish(tenantId, flowId, version, by, requestId, 'ivr_flow.publish'),

    async rollback(tenantId: number, flowId: string, by: string, requestId: string) {
      const flow = await deps.store.getFlow(tenantId, flowId);
      if (!flow) throw flowErrors.notFound(flowId);
      const current = flow.publishedVersion;
      const earlier = [...flow.publications].reverse().find((p) => p.version !== current);
      if (current === null || !earlier) throw flowErrors.nothingToRollBack(flowId);
      return publish(tenantId, flowId, earlier.version, by, requestId, 'ivr_flow.rollback');
    },

    async get(tenantId: number, flowId: string) {
      const flow = await deps.store.getFlow(tenantId, flowId);
      if (!flow) throw flowErrors.notFound(flowId);
      return flow;
    },

    async getVersion(tenantId: number, flowId: string, version: number) {
      return { id: flowId, version, ...(await versionOrThrow(tenantId, flowId, version)) };
    },

    list: async (tenantId: number) => ({ items: await deps.store.listFlows(tenantId) }),

    /** The version new calls start on, for the IVR executor. */
    async published(tenantId: number, flowId: string): Promise<Flow | undefined> {
      const flow = await deps.store.getFlow(tenantId, flowId);
      if (!flow || flow.publishedVersion === null) return undefined;
      return (await deps.store.getVersion(tenantId, flowId, flow.publishedVersion))?.body as Flow | undefined;
    },
  };
}

export type FlowService = ReturnType<typeof createFlowService>;
