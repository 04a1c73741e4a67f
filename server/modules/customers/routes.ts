import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IdentityChannel } from '../../domain/customer.js';
import { principalOf } from '../auth/routes.js';
import type { Actor, CustomerService } from './service.js';
import * as s from './schemas.js';

const err = { $ref: 'Error#' } as const;
const security = [{ bearer: [] }];
const tags = ['customers'];

/** People who work with customers read them; supervisors and admins change them. */
const READ = ['agent', 'supervisor', 'admin'] as const;
const WRITE = ['supervisor', 'admin'] as const;

/**
 * Customers, their identities and their thread; merges and their undo. Integrations (API keys
 * with the integration role) may read customers and add identities, not rename or merge.
 */
export async function customerRoutes(app: FastifyInstance, opts: { service: CustomerService }): Promise<void> {
  const { service } = opts;
  const actor = (request: FastifyRequest): Actor => ({ name: principalOf(request).name, requestId: request.id });

  app.get<{ Querystring: { phone?: string; email?: string } }>(
    '/v1/customers',
    { config: { roles: [...READ, 'integration'] }, schema: { tags, summary: 'Find customers by an exact phone number or email (normalised)', security, querystring: s.lookupQuery, response: { 200: s.lookupReply, 400: err, 401: err, 403: err } } },
    async (request) => service.lookup(request.query),
  );
  app.get<{ Params: { id: string } }>(
    '/v1/customers/:id',
    { config: { roles: [...READ, 'integration'] }, schema: { tags, summary: 'A customer with its identities and the size of its thread', security, params: s.idParams, response: { 200: s.customerReply, 400: err, 401: err, 403: err, 404: err } } },
    async (request) => service.get(request.params.id),
  );
  app.patch<{ Params: { id: string }; Body: { displayName: string | null } }>(
    '/v1/customers/:id',
    { config: { roles: [...WRITE] }, schema: { tags, summary: "Change a customer's display name", security, params: s.idParams, body: s.patchBody, response: { 200: s.customerReply, 400: err, 401: err, 403: err, 404: err, 409: err } } },
    async (request) => service.rename(request.params.id, request.body.displayName, actor(request)),
  );
  app.post<{ Params: { id: string }; Body: { channel: IdentityChannel; address: string; verified?: boolean } }>(
    '/v1/customers/:id/identities',
    {
      config: { roles: [...WRITE, 'integration'] },
      schema: {
        tags, summary: 'Add an identity (e.g. a verified email); 409 identity_taken names the customer holding it', security, params: s.idParams, body: s.identityBody,
        response: { 200: s.identityReply, 201: s.identityReply, 400: err, 401: err, 403: err, 404: err, 409: err },
      },
    },
    async (request, reply) => {
      const res = await service.addIdentity(request.params.id, request.body, actor(request));
      return reply.status(res.created ? 201 : 200).send(res);
    },
  );
  app.get<{ Params: { id: string }; Querystring: { before?: string; limit?: number } }>(
    '/v1/customers/:id/thread',
    { config: { roles: [...READ] }, schema: { tags, summary: "The customer's timeline: interactions on every channel, newest first", security, params: s.idParams, querystring: s.threadQuery, response: { 200: s.threadReply, 400: err, 401: err, 403: err, 404: err } } },
    async (request) => service.thread(request.params.id, request.query),
  );
  app.get<{ Params: { id: string } }>(
    '/v1/customers/:id/merge-suggestions',
    { config: { roles: [...WRITE] }, schema: { tags, summary: 'Open suggestions that this customer and another are one person', security, params: s.idParams, response: { 200: s.suggestionsReply, 400: err, 401: err, 403: err, 404: err } } },
    async (request) => service.suggestions(request.params.id),
  );
  app.post<{ Params: { suggestionId: string } }>(
    '/v1/customer-merge-suggestions/:suggestionId/dismiss',
    { config: { roles: [...WRITE] }, schema: { tags, summary: 'Dismiss a merge suggestion: the two are different people', security, params: s.suggestionParams, response: { 204: { type: 'null' }, 400: err, 401: err, 403: err, 404: err } } },
    async (request, reply) => {
      await service.dismissSuggestion(request.params.suggestionId, actor(request));
      return reply.status(204).send();
    },
  );
  app.post<{ Params: { id: string }; Body: { otherId: string; reason: string } }>(
    '/v1/customers/:id/merge',
    {
      config: { roles: [...WRITE] },
      schema: { tags, summary: 'Merge another customer into this one: its identities and thread move here (logged, audited, undoable)', security, params: s.idParams, body: s.mergeBody, response: { 200: s.mergeReply, 400: err, 401: err, 403: err, 404: err, 409: err } },
    },
    async (request) => service.merge(request.params.id, request.body.otherId, request.body.reason, actor(request)),
  );
  app.get<{ Params: { mergeId: string } }>(
    '/v1/customer-merges/:mergeId',
    { config: { roles: [...WRITE] }, schema: { tags, summary: 'One merge: who, when, why, what moved, whether undone', security, params: s.mergeParams, response: { 200: s.mergeReply, 400: err, 401: err, 403: err, 404: err } } },
    async (request) => service.getMerge(request.params.mergeId),
  );
  app.post<{ Params: { mergeId: string }; Body: { reason?: string } | null }>(
    '/v1/customer-merges/:mergeId/undo',
    {
      config: { roles: [...WRITE] },
      schema: { tags, summary: 'Undo a merge: the rows it moved go back to the merged customer', security, params: s.mergeParams, body: s.undoBody, response: { 200: s.mergeReply, 400: err, 401: err, 403: err, 404: err, 409: err } },
    },
    async (request) => service.undoMerge(request.params.mergeId, request.body?.reason, actor(request)),
  );
}
