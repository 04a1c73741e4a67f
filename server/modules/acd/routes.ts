import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Channel } from '../../domain/channel.js';
import type { Presence } from '../../domain/presence.js';
import { principalOf } from '../auth/routes.js';
import type { RoutingService } from '../routing/service.js';
import { acdErrors } from './errors.js';
import type { AcdService, NewTask } from './service.js';
import * as s from './schemas.js';

const err = { $ref: 'Error#' } as const;
const security = [{ bearer: [] }];

/**
 * Resolves whether the caller may act for `agentId`: supervisors and admins
 * for anyone, an agent only for the agent record linked to its login.
 */
export async function assertActsFor(routing: RoutingService, tenantId: number, request: FastifyRequest, agentId: string): Promise<void> {
  const p = principalOf(request);
  if (p.roles.includes('admin') || p.roles.includes('supervisor')) return;
  if (p.kind !== 'user') throw acdErrors.notYourAgent();
  const own = await routing.agentIdForUser(tenantId, p.id);
  if (own === undefined) throw acdErrors.noAgentForUser();
  if (own !== agentId) throw acdErrors.notYourAgent();
}

export async function acdRoutes(app: FastifyInstance, opts: { service: AcdService; routing: RoutingService }): Promise<void> {
  const { service, routing } = opts;

  app.post<{ Body: NewTask }>(
    '/v1/tasks',
    {
      config: { roles: ['admin', 'supervisor', 'integration'] },
      schema: { tags: ['acd'], summary: 'Queue a task for routing (idempotent by id)', security, body: s.newTaskBody, response: { 200: s.anyObject, 201: s.anyObject, 400: err, 401: err, 403: err, 409: err } },
    },
    async (request, reply) => {
      const { task, created } = await service.enqueueTask(request.body);
      return reply.status(created ? 201 : 200).send(task);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/tasks/:id',
    { config: { roles: ['admin', 'supervisor', 'integration'] }, schema: { tags: ['acd'], summary: 'A task and where it is', security, params: s.taskIdParams, response: { 200: s.anyObject, 401: err, 403: err, 404: err } } },
    async (request) => service.getTask(request.params.id),
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/tasks/:id',
    { config: { roles: ['admin', 'supervisor', 'integration'] }, schema: { tags: ['acd'], summary: 'Cancel a waiting task', security, params: s.taskIdParams, response: { 202: s.accepted, 401: err, 403: err, 404: err } } },
    async (request, reply) => {
      await service.cancelTask(request.params.id);
      return reply.status(202).send({ accepted: true });
    },
  );

  app.put<{ Params: { id: string }; Body: { code: string; notes?: string } }>(
    '/v1/tasks/:id/disposition',
    {
      config: { roles: ['admin', 'supervisor', 'agent'] },
      schema: { tags: ['acd'], summary: "Record the task's disposition code and notes (the handling agent, or a supervisor)", security, params: s.taskIdParams, body: s.dispositionBody, response: { 200: s.anyObject, 400: err, 401: err, 403: err, 404: err } },
    },
    async (request) => {
      const p = principalOf(request);
      const supervising = p.roles.includes('admin') || p.roles.includes('supervisor');
      const own = supervising ? undefined : p.kind === 'user' ? await routing.agentIdForUser(app.tenantId, p.id) : undefined;
      if (!supervising && own === undefined) throw acdErrors.noAgentForUser();
      return service.setDisposition(own, request.params.id, request.body.code, request.body.notes);
    },
  );

  app.put<{ Params: { id: string }; Body: { kind: 'offline' | 'ready' | 'not_ready'; reason?: string } }>(
    '/v1/agents/:id/presence',
    {
      config: { roles: ['admin', 'supervisor', 'agent'] },
      schema: { tags: ['acd'], summary: 'Log in (ready / not ready with a reason) or log out (offline)', security, params: s.agentIdParams, body: s.presenceBody, response: { 202: s.accepted, 400: err, 401: err, 403: err, 404: err, 409: err } },
    },
    async (request, reply) => {
      await assertActsFor(routing, app.tenantId, request, request.params.id);
      const b = request.body;
      const presence: Presence = b.kind === 'not_ready' ? { kind: 'not_ready', reason: b.reason as string } : { kind: b.kind };
      await service.setPresence(request.params.id, presence);
      return reply.status(202).send({ accepted: true });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/agents/:id/state',
    { config: { roles: ['admin', 'supervisor', 'agent'] }, schema: { tags: ['acd'], summary: "An agent's live presence and load", security, params: s.agentIdParams, response: { 200: s.anyObject, 401: err, 403: err, 404: err } } },
    async (request) => {
      await assertActsFor(routing, app.tenantId, request, request.params.id);
      return service.agentState(request.params.id);
    },
  );

  app.post<{ Params: { id: string; offerId: string; answer: 'accept' | 'decline' } }>(
    '/v1/agents/:id/offers/:offerId/:answer',
    { config: { roles: ['admin', 'supervisor', 'agent'] }, schema: { tags: ['acd'], summary: 'Accept or decline an offer', security, params: s.offerParams, response: { 202: s.accepted, 400: err, 401: err, 403: err, 404: err } } },
    async (request, reply) => {
      await assertActsFor(routing, app.tenantId, request, request.params.id);
      await service.answerOffer(request.params.id, request.params.offerId, request.params.answer);
      return reply.status(202).send({ accepted: true });
    },
  );

  app.post<{ Params: { id: string; taskId: string } }>(
    '/v1/agents/:id/tasks/:taskId/release',
    { config: { roles: ['admin', 'supervisor', 'agent'] }, schema: { tags: ['acd'], summary: 'Finish work on a task and free its capacity', security, params: s.releaseParams, response: { 202: s.accepted, 401: err, 403: err, 404: err } } },
    async (request, reply) => {
      await assertActsFor(routing, app.tenantId, request, request.params.id);
      await service.releaseTask(request.params.id, request.params.taskId);
      return reply.status(202).send({ accepted: true });
    },
  );

  app.get<{ Params: { id: string }; Querystring: { after?: string; limit: number } }>(
    '/v1/agents/:id/events',
    {
      config: { roles: ['admin', 'supervisor', 'agent'] },
      schema: {
        tags: ['acd'],
        summary: "An agent's offers and presence changes after an event id (the WebSocket stream's history, for resuming)",
        security, params: s.agentIdParams, querystring: s.eventsQuery, response: { 200: s.anyObject, 400: err, 401: err, 403: err, 404: err },
      },
    },
    async (request) => {
      await assertActsFor(routing, app.tenantId, request, request.params.id);
      const items = await service.agentEvents(request.params.id, request.query.after ?? '0-0', request.query.limit);
      return { items, last: items.length > 0 ? items[items.length - 1]?.id : request.query.after ?? null };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { channel: Channel; priority: number } }>(
    '/v1/queues/:id/estimated-wait',
    {
      config: { roles: ['admin', 'supervisor', 'agent', 'integration'] },
      schema: { tags: ['acd'], summary: 'Estimated wait (p50 with a low–high range) for a new arrival, from recent history', security, params: s.agentIdParams, querystring: s.ewtQuery, response: { 200: s.anyObject, 400: err, 401: err, 403: err } },
    },
    async (request) => service.estimateWait(request.params.id, request.query.channel, request.query.priority),
  );
}
