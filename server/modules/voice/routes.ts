import type { FastifyInstance, FastifyRequest } from 'fastify';
import { principalOf } from '../auth/routes.js';
import type { TransferTarget, VoiceService } from './service.js';
import * as s from './schemas.js';

const err = { $ref: 'Error#' } as const;
const security = [{ bearer: [] }];

type TargetBody = { agentId?: string; queueId?: string; number?: string };
const targetOf = (b: TargetBody): TransferTarget =>
  b.agentId !== undefined ? { kind: 'agent', agentId: b.agentId } : b.queueId !== undefined ? { kind: 'queue', queueId: b.queueId } : { kind: 'number', number: b.number as string };

export interface VoiceRouteOptions {
  service: VoiceService;
  /** Refuses (403) unless the caller is this agent's user, a supervisor or an admin. */
  actsFor(request: FastifyRequest, agentId: string): Promise<void>;
}

export async function voiceRoutes(app: FastifyInstance, opts: VoiceRouteOptions): Promise<void> {
  const { service } = opts;
  const actor = (request: FastifyRequest) => ({ name: principalOf(request).name, requestId: request.id });
  const callRoles = ['agent', 'supervisor', 'admin'] as const;

  app.get<{ Params: { id: string } }>(
    '/v1/agents/:id/call',
    { config: { roles: [...callRoles] }, schema: { tags: ['call control'], summary: "The agent's current call: state, hold, mute, consultation, parties", security, params: s.agentParams, response: { 200: s.callView, 401: err, 403: err, 409: err } } },
    async (request) => {
      await opts.actsFor(request, request.params.id);
      return service.currentCall(request.params.id);
    },
  );
  const simple: [string, string, (agentId: string, request: FastifyRequest) => Promise<unknown>][] = [
    ['hold', 'Put the customer on hold (the customer hears music, the agent nothing)', (a, r) => service.hold(a, true, actor(r))],
    ['unhold', 'Take the customer off hold', (a, r) => service.hold(a, false, actor(r))],
    ['mute', 'Mute the agent (the customer no longer hears the agent)', (a, r) => service.mute(a, true, actor(r))],
    ['unmute', 'Unmute the agent', (a, r) => service.mute(a, false, actor(r))],
    ['hangup', 'Hang up the call', (a, r) => service.hangup(a, actor(r))],
    ['consult/complete', 'Complete an attended transfer: the consulted party stays with the customer, the agent leaves', (a, r) => service.completeTransfer(a, actor(r))],
    ['consult/cancel', 'Cancel a consultation: the consulted party is hung up, the customer comes back', (a, r) => service.cancelConsult(a, actor(r))],
    ['conference', 'Join the customer to the consultation: a three-way call', (a, r) => service.conference(a, actor(r))],
  ];
  for (const [path, summary, run] of simple) {
    app.post<{ Params: { id: string } }>(
      `/v1/agents/:id/call/${path}`,
      { config: { roles: [...callRoles] }, schema: { tags: ['call control'], summary, security, params: s.agentParams, response: { 200: s.anyObject, 401: err, 403: err, 409: err, 503: err } } },
      async (request) => {
        await opts.actsFor(request, request.params.id);
        return run(request.params.id, request);
      },
    );
  }
  app.post<{ Params: { id: string }; Body: TargetBody }>(
    '/v1/agents/:id/call/transfer',
    { config: { roles: [...callRoles] }, schema: { tags: ['call control'], summary: 'Blind transfer to an agent, a queue or an outside number: the agent leaves at once', security, params: s.agentParams, body: s.targetBody, response: { 200: s.anyObject, 400: err, 401: err, 403: err, 409: err, 503: err } } },
    async (request) => {
      await opts.actsFor(request, request.params.id);
      return service.transfer(request.params.id, targetOf(request.body), actor(request));
    },
  );
  app.post<{ Params: { id: string }; Body: TargetBody }>(
    '/v1/agents/:id/call/consult',
    { config: { roles: [...callRoles] }, schema: { tags: ['call control'], summary: 'Consult an agent, a queue or an outside number while the customer waits on hold (then complete, cancel or conference)', security, params: s.agentParams, body: s.targetBody, response: { 200: s.anyObject, 400: err, 401: err, 403: err, 409: err, 503: err } } },
    async (request) => {
      await opts.actsFor(request, request.params.id);
      return service.consult(request.params.id, targetOf(request.body), actor(request));
    },
  );
  app.post<{ Body: { queueId: string; number: string; interactionId?: string; priority?: number } }>(
    '/v1/callbacks',
    { config: { roles: ['admin', 'supervisor', 'integration'] }, schema: { tags: ['callbacks'], summary: 'Ask for a callback: it waits in the queue like a caller; at its turn an agent is reserved, then the number dialled', security, body: s.callbackBody, response: { 201: s.anyObject, 400: err, 401: err, 403: err, 409: err, 503: err } } },
    async (request, reply) => reply.status(201).send(await service.scheduleCallbackFor(request.body, actor(request))),
  );
  app.get<{ Querystring: { state?: string; limit: number } }>(
    '/v1/callbacks',
    { config: { roles: ['admin', 'supervisor', 'integration'] }, schema: { tags: ['callbacks'], summary: 'Callbacks, newest first', security, querystring: s.listQuery, response: { 200: s.anyObject, 400: err, 401: err, 403: err } } },
    async (request) => service.listCallbacks(request.query.state, request.query.limit),
  );
  app.get<{ Params: { id: string } }>(
    '/v1/callbacks/:id',
    { config: { roles: ['admin', 'supervisor', 'integration'] }, schema: { tags: ['callbacks'], summary: 'One callback: its state, its attempts and how each ended', security, params: s.callbackParams, response: { 200: s.anyObject, 401: err, 403: err, 404: err } } },
    async (request) => service.getCallback(request.params.id),
  );
  app.delete<{ Params: { id: string } }>(
    '/v1/callbacks/:id',
    { config: { roles: ['admin', 'supervisor', 'integration'] }, schema: { tags: ['callbacks'], summary: 'Cancel a waiting callback', security, params: s.callbackParams, response: { 204: { type: 'null' }, 401: err, 403: err, 404: err, 409: err } } },
    async (request, reply) => {
      await service.cancelCallback(request.params.id, actor(request));
      return reply.status(204).send();
    },
  );
  app.get<{ Querystring: { mailbox?: string; limit: number } }>(
    '/v1/voicemails',
    { config: { roles: ['admin', 'supervisor', 'agent', 'qa'] }, schema: { tags: ['voicemail'], summary: 'Voicemails, newest first, with what the IVR collected', security, querystring: s.listQuery, response: { 200: s.anyObject, 400: err, 401: err, 403: err } } },
    async (request) => service.listVoicemails(request.query.mailbox, request.query.limit),
  );
  app.get<{ Params: { id: string } }>(
    '/v1/voicemails/:id/audio',
    { config: { roles: ['admin', 'supervisor', 'agent', 'qa'] }, schema: { tags: ['voicemail'], summary: "A voicemail's audio (audio/wav); every access is audited", security, params: s.callbackParams, response: { 401: err, 403: err, 404: err } } },
    async (request, reply) => {
      const file = await service.voicemailAudio(request.params.id, actor(request));
      return reply.header('content-type', file.contentType).header('cache-control', 'private, no-store').send(file.body);
    },
  );
  app.get<{ Params: { id: string } }>(
    '/v1/interactions/:id',
    { config: { roles: ['admin', 'supervisor', 'qa'] }, schema: { tags: ['voice'], summary: 'One interaction: its calls, time in queues, talk, hold, transfers and outcome', security, params: s.interactionParams, response: { 200: s.anyObject, 401: err, 403: err, 404: err } } },
    async (request) => service.getInteraction(request.params.id),
  );
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
