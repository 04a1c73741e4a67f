import type { FastifyInstance } from 'fastify';
import type { VoiceService } from './service.js';
import * as s from './schemas.js';

const err = { $ref: 'Error#' } as const;
const security = [{ bearer: [] }];

export async function voiceRoutes(app: FastifyInstance, opts: { service: VoiceService }): Promise<void> {
  const { service } = opts;
  app.put<{ Params: { entry: string }; Body: { queueId?: string; flowId?: string } }>(
    '/v1/entry-points/:entry',
    { config: { roles: ['admin'] }, schema: { tags: ['voice'], summary: 'Send calls to this number to a queue or an IVR flow', security, params: s.entryParams, body: s.entryBody, response: { 200: s.anyObject, 400: err, 401: err, 403: err } } },
    async (request) => {
      const { queueId, flowId } = request.body;
      return service.putEntryPoint(flowId !== undefined ? { entry: request.params.entry, targetKind: 'ivr', targetId: flowId } : { entry: request.params.entry, targetKind: 'queue', targetId: queueId as string });
    },
  );
  app.get(
    '/v1/entry-points',
    { config: { roles: ['admin', 'supervisor'] }, schema: { tags: ['voice'], summary: 'List entry points', security, response: { 200: s.anyObject, 401: err, 403: err } } },
    async () => service.listEntryPoints(),
  );
  app.delete<{ Params: { entry: string } }>(
    '/v1/entry-points/:entry',
    { config: { roles: ['admin'] }, schema: { tags: ['voice'], summary: 'Remove an entry point', security, params: s.entryParams, response: { 204: { type: 'null' }, 401: err, 403: err, 404: err } } },
    async (request, reply) => {
      await service.deleteEntryPoint(request.params.entry);
      return reply.status(204).send();
    },
  );
  app.get<{ Params: { id: string } }>(
    '/v1/calls/:id',
    { config: { roles: ['admin', 'supervisor'] }, schema: { tags: ['voice'], summary: 'One inbound call: queue, agent, times, outcome, recording', security, params: s.callParams, response: { 200: s.anyObject, 401: err, 403: err, 404: err } } },
    async (request) => service.getCall(request.params.id),
  );
}
