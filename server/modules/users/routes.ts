import type { FastifyInstance } from 'fastify';
import type { UserRole } from '../../domain/principal.js';
import { principalOf } from '../auth/routes.js';
import type { UserService } from './service.js';
import * as s from './schemas.js';

const err = { $ref: 'Error#' } as const;
const security = [{ bearer: [] }];

/** User administration: admins create and change users; supervisors may read the list. */
export async function userRoutes(app: FastifyInstance, opts: { service: UserService }): Promise<void> {
  const { service } = opts;

  app.post<{ Body: { username: string; password: string; roles: UserRole[]; displayName?: string } }>(
    '/v1/users',
    {
      config: { roles: ['admin'] },
      schema: { tags: ['users'], summary: 'Create a user', security, body: s.createUserBody, response: { 201: s.userReply, 400: err, 401: err, 403: err, 409: err } },
    },
    async (request, reply) => {
      const user = await service.create(app.tenantId, request.body, { name: principalOf(request).name, requestId: request.id });
      return reply.status(201).send(user);
    },
  );

  app.get<{ Querystring: { limit: number; after?: string } }>(
    '/v1/users',
    {
      config: { roles: ['admin', 'supervisor'] },
      schema: { tags: ['users'], summary: 'List users, in id order, a page at a time', security, querystring: s.listQuery, response: { 200: s.userListReply, 400: err, 401: err, 403: err } },
    },
    async (request) => service.list(app.tenantId, request.query),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/users/:id',
    {
      config: { roles: ['admin', 'supervisor'] },
      schema: { tags: ['users'], summary: 'Get a user', security, params: s.userIdParams, response: { 200: s.userReply, 401: err, 403: err, 404: err } },
    },
    async (request) => service.get(app.tenantId, request.params.id),
  );

  app.patch<{ Params: { id: string }; Body: { displayName?: string; roles?: UserRole[]; disabled?: boolean; password?: string } }>(
    '/v1/users/:id',
    {
      config: { roles: ['admin'] },
      schema: { tags: ['users'], summary: 'Change a user (roles, password, display name, disabled); revokes their older tokens when credentials or rights change', security, params: s.userIdParams, body: s.updateUserBody, response: { 200: s.userReply, 400: err, 401: err, 403: err, 404: err, 409: err } },
    },
    async (request) => service.update(app.tenantId, request.params.id, request.body, principalOf(request), request.id),
  );
}
