import type { FastifyInstance } from 'fastify';
import { principalOf } from '../auth/routes.js';
import type { DocKind } from './store.js';
import type { AgentDoc, CalendarDoc, QueueDoc, RoutingService, SkillDoc } from './service.js';
import * as s from './schemas.js';

const err = { $ref: 'Error#' } as const;
const security = [{ bearer: [] }];

interface Resource {
  kind: DocKind;
  path: string;
  tag: string;
  body: object;
}

type Put = (tenantId: number, id: string, doc: never, actor: string, requestId: string) => Promise<{ created: boolean; item: object }>;

const RESOURCES: Resource[] = [
  { kind: 'skill', path: 'skills', tag: 'skills', body: s.skillBody },
  { kind: 'calendar', path: 'calendars', tag: 'calendars', body: s.calendarBody },
  { kind: 'queue', path: 'queues', tag: 'queues', body: s.queueBody },
  { kind: 'agent', path: 'agents', tag: 'agents', body: s.agentBody },
];

/**
 * Routing configuration, one resource per kind with the same four routes:
 * PUT creates or replaces (201 or 200), GET reads one or all, DELETE removes
 * (409 while something still uses it). Admins write; supervisors read.
 */
export async function routingRoutes(app: FastifyInstance, opts: { service: RoutingService }): Promise<void> {
  const { service } = opts;
  const puts: Record<DocKind, Put> = { skill: service.putSkill, calendar: service.putCalendar, queue: service.putQueue, agent: service.putAgent };
  for (const r of RESOURCES) {
    const put = puts[r.kind];
    app.put<{ Params: { id: string }; Body: SkillDoc | CalendarDoc | QueueDoc | AgentDoc }>(
      `/v1/${r.path}/:id`,
      {
        config: { roles: ['admin'] },
        schema: { tags: [r.tag], summary: `Create or replace a ${r.kind}`, security, params: s.idParams, body: r.body, response: { 200: s.docReply, 201: s.docReply, 400: err, 401: err, 403: err, 409: err } },
      },
      async (request, reply) => {
        const { created, item } = await put(app.tenantId, request.params.id, request.body as never, principalOf(request).name, request.id);
        return reply.status(created ? 201 : 200).send(item);
      },
    );
    app.get<{ Params: { id: string } }>(
      `/v1/${r.path}/:id`,
      {
        config: { roles: ['admin', 'supervisor'] },
        schema: { tags: [r.tag], summary: `Get a ${r.kind}`, security, params: s.idParams, response: { 200: s.docReply, 401: err, 403: err, 404: err } },
      },
      async (request) => service.get(r.kind, app.tenantId, request.params.id),
    );
    app.get(
      `/v1/${r.path}`,
      {
        config: { roles: ['admin', 'supervisor'] },
        schema: { tags: [r.tag], summary: `List ${r.path}`, security, response: { 200: s.listReply, 401: err, 403: err } },
      },
      async () => service.list(r.kind, app.tenantId),
    );
    app.delete<{ Params: { id: string } }>(
      `/v1/${r.path}/:id`,
      {
        config: { roles: ['admin'] },
        schema: { tags: [r.tag], summary: `Delete a ${r.kind}`, security, params: s.idParams, response: { 204: { type: 'null' }, 401: err, 403: err, 404: err, 409: err } },
      },
      async (request, reply) => {
        await service.remove(r.kind, app.tenantId, request.params.id, principalOf(request).name, request.id);
        return reply.status(204).send();
      },
    );
  }
}
