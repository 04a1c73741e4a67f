import type { FastifyInstance } from 'fastify';
import { principalOf } from '../auth/routes.js';
import type { SipLoginService } from './service.js';
import * as s from './schemas.js';

const err = { $ref: 'Error#' } as const;
const security = [{ bearer: [] }];
const tags = ['sip-logins'];

/** SIP logins of agents' phones: admins give them out and take them back; supervisors may look. */
export async function sipLoginRoutes(app: FastifyInstance, opts: { service: SipLoginService }): Promise<void> {
  const { service } = opts;

  app.put<{ Params: { id: string }; Body: { contact?: string } | null | undefined }>(
    '/v1/agents/:id/sip-login',
    {
      config: { roles: ['admin'] },
      schema: {
        tags, security, params: s.agentParams, body: s.putBody,
        summary: "Create the agent's SIP login or rotate its password, and provision the endpoint in Asterisk; the reply carries the password, once",
        response: { 200: s.credentialsReply, 201: s.credentialsReply, 400: err, 401: err, 403: err, 404: err, 503: err },
      },
    },
    async (request, reply) => {
      const { change, login } = await service.put(app.tenantId, request.params.id, { name: principalOf(request).name, requestId: request.id }, request.body?.contact);
      // Credentials must not be kept by caches on the way.
      void reply.header('cache-control', 'no-store');
      return reply.status(change === 'created' ? 201 : 200).send(login);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/agents/:id/sip-login',
    {
      config: { roles: ['admin', 'supervisor'] },
      schema: {
        tags, security, params: s.agentParams,
        summary: "The agent's SIP login (without the password) and whether the phone is registered",
        response: { 200: s.loginReply, 400: err, 401: err, 403: err, 404: err },
      },
    },
    async (request) => service.get(app.tenantId, request.params.id),
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/agents/:id/sip-login',
    {
      config: { roles: ['admin'] },
      schema: {
        tags, security, params: s.agentParams,
        summary: "Remove the agent's SIP login and its endpoint in Asterisk; the phone can no longer register",
        response: { 204: { type: 'null' }, 400: err, 401: err, 403: err, 404: err, 503: err },
      },
    },
    async (request, reply) => {
      await service.remove(app.tenantId, request.params.id, { name: principalOf(request).name, requestId: request.id });
      return reply.status(204).send();
    },
  );
}
