import type { FastifyInstance, FastifyRequest } from 'fastify';
import { principalOf } from '../auth/routes.js';
import type { SupervisionMode } from '../../domain/supervision.js';
import type { SupervisionService } from './service.js';
import type { SupervisorPhone } from './store.js';
import * as s from './schemas.js';

const err = { $ref: 'Error#' } as const;
const security = [{ bearer: [] }];
/** Supervisors and admins only: agents and QA staff never listen in. */
const roles = ['admin', 'supervisor'] as const;

interface StartBody {
  mode: SupervisionMode;
  phone: { agentId: string } | { endpoint: string };
  ringSeconds?: number;
}

/** Listening to, whispering to and barging into live calls. */
export async function supervisionRoutes(app: FastifyInstance, opts: { service: SupervisionService }): Promise<void> {
  const { service } = opts;
  const actor = (request: FastifyRequest) => ({ name: principalOf(request).name, requestId: request.id });

  app.post<{ Params: { id: string }; Body: StartBody }>(
    '/v1/calls/:id/supervision',
    {
      config: { roles },
      schema: {
        tags: ['supervision'], summary: "Ring a supervisor's phone to listen to, whisper to or barge into a connected call", security,
        params: s.callParams, body: s.startBody, response: { 201: s.session, 400: err, 401: err, 403: err, 404: err, 409: err, 503: err },
      },
    },
    async (request, reply) => {
      const { mode, phone, ringSeconds } = request.body;
      const p: SupervisorPhone = 'agentId' in phone ? { kind: 'agent', agentId: phone.agentId } : { kind: 'endpoint', endpoint: phone.endpoint };
      const started = await service.start(request.params.id, { mode, phone: p, ...(ringSeconds !== undefined ? { ringSeconds } : {}) }, actor(request));
      return reply.status(201).send(started);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/calls/:id/supervision',
    {
      config: { roles },
      schema: { tags: ['supervision'], summary: "A call's supervision sessions (ended ones for a while, with why they ended)", security, params: s.callParams, response: { 200: s.sessionList, 401: err, 403: err, 404: err } },
    },
    async (request) => service.list(request.params.id),
  );

  app.patch<{ Params: { id: string; sessionId: string }; Body: { mode: SupervisionMode } }>(
    '/v1/calls/:id/supervision/:sessionId',
    {
      config: { roles },
      schema: {
        tags: ['supervision'], summary: 'Switch a supervision session to another mode without ringing again', security,
        params: s.sessionParams, body: s.switchBody, response: { 200: s.session, 400: err, 401: err, 403: err, 404: err, 409: err, 503: err },
      },
    },
    async (request) => service.switchMode(request.params.id, request.params.sessionId, request.body.mode, actor(request)),
  );

  app.delete<{ Params: { id: string; sessionId: string } }>(
    '/v1/calls/:id/supervision/:sessionId',
    {
      config: { roles },
      schema: { tags: ['supervision'], summary: "End a supervision session (hangs up the supervisor's phone)", security, params: s.sessionParams, response: { 204: { type: 'null' }, 401: err, 403: err, 404: err } },
    },
    async (request, reply) => {
      await service.stop(request.params.id, request.params.sessionId, actor(request));
      return reply.status(204).send();
    },
  );
}
