import type { FastifyInstance } from 'fastify';
import type { Principal } from '../../domain/principal.js';
import type { AuthService } from './service.js';
import * as s from './schemas.js';
import { authErrors } from './errors.js';

const err = { $ref: 'Error#' } as const;

/** Login, token refresh, "who am I" and API key administration. */
export async function authRoutes(app: FastifyInstance, opts: { service: AuthService }): Promise<void> {
  const { service } = opts;

  app.post<{ Body: { username: string; password: string } }>(
    '/v1/auth/login',
    {
      config: { public: true },
      schema: {
        tags: ['auth'],
        summary: 'Log in with user name and password; returns a short-lived bearer token',
        body: s.loginBody,
        response: { 200: s.loginReply, 400: err, 401: err, 429: err },
      },
    },
    async (request) =>
      service.login({ tenantId: app.tenantId, username: request.body.username, password: request.body.password, addr: request.ip, requestId: request.id }),
  );

  app.post(
    '/v1/auth/refresh',
    {
      config: { roles: ['admin', 'supervisor', 'agent', 'qa'] },
      schema: { tags: ['auth'], summary: 'Exchange a valid token for a fresh one', security: [{ bearer: [] }], response: { 200: s.loginReply, 401: err, 403: err } },
    },
    async (request) => service.refresh(principalOf(request)),
  );

  app.get(
    '/v1/auth/me',
    {
      config: { roles: ['admin', 'supervisor', 'agent', 'qa', 'integration'] },
      schema: { tags: ['auth'], summary: 'The caller as the server sees it', security: [{ bearer: [] }], response: { 200: s.principalReply, 401: err } },
    },
    async (request) => principalOf(request),
  );

  app.post<{ Body: { name: string; roles: string[] } }>(
    '/v1/api-keys',
    {
      config: { roles: ['admin'] },
      schema: { tags: ['auth'], summary: 'Create an API key for an integration (the key is shown once)', security: [{ bearer: [] }], body: s.createApiKeyBody, response: { 201: s.apiKeyCreatedReply, 400: err, 401: err, 403: err } },
    },
    async (request, reply) => {
      const created = await service.createApiKey({ tenantId: app.tenantId, name: request.body.name, roles: request.body.roles, createdBy: principalOf(request), requestId: request.id });
      return reply.status(201).send(created);
    },
  );

  app.get(
    '/v1/api-keys',
    {
      config: { roles: ['admin'] },
      schema: { tags: ['auth'], summary: 'List API keys (never their secrets)', security: [{ bearer: [] }], response: { 200: s.apiKeyListReply, 401: err, 403: err } },
    },
    async () => ({ items: await service.listApiKeys(app.tenantId) }),
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/api-keys/:id',
    {
      config: { roles: ['admin'] },
      schema: { tags: ['auth'], summary: 'Revoke an API key', security: [{ bearer: [] }], params: s.keyIdParams, response: { 204: { type: 'null' }, 401: err, 403: err, 404: err } },
    },
    async (request, reply) => {
      await service.revokeApiKey({ tenantId: app.tenantId, id: request.params.id, by: principalOf(request), requestId: request.id });
      return reply.status(204).send();
    },
  );
}

export function principalOf(request: { principal: Principal | undefined }): Principal {
  if (!request.principal) throw authErrors.missingCredential();
  return request.principal;
}
