import type { FastifyInstance } from 'fastify';
import { principalOf } from '../auth/routes.js';
import type { RecordingState } from './store.js';
import type { RecordingService } from './service.js';
import * as s from './schemas.js';

const err = { $ref: 'Error#' } as const;
const security = [{ bearer: [] }];

interface ListQuery {
  queueId?: string;
  agentId?: string;
  callId?: string;
  state?: RecordingState;
  from?: string;
  to?: string;
  limit?: number;
  after?: string;
}

/** Recordings: listing for QA, playback, PCI pause and resume, and the retention policy. */
export async function recordingRoutes(app: FastifyInstance, opts: { service: RecordingService }): Promise<void> {
  const { service } = opts;

  app.get<{ Querystring: ListQuery }>(
    '/v1/recordings',
    {
      config: { roles: ['admin', 'supervisor', 'qa'] },
      schema: { tags: ['recordings'], summary: 'Find recordings by queue, agent, call, state and period (newest first, a page at a time)', security, querystring: s.listQuery, response: { 200: s.listReply, 400: err, 401: err, 403: err } },
    },
    async (request) => service.list(request.query),
  );

  app.get(
    '/v1/recordings/retention',
    {
      config: { roles: ['admin'] },
      schema: { tags: ['recordings'], summary: 'The retention policy and its last run (progress while it runs)', security, response: { 200: s.retentionReply, 401: err, 403: err } },
    },
    async () => service.retentionStatus(),
  );

  app.post(
    '/v1/recordings/retention/runs',
    {
      config: { roles: ['admin'] },
      schema: { tags: ['recordings'], summary: 'Run the retention policy now (in the background); follow it with GET …/runs/{id}', security, response: { 202: s.queuedRunReply, 401: err, 403: err } },
    },
    async (request, reply) => reply.status(202).send(await service.requestRetentionRun({ principal: principalOf(request), requestId: request.id })),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/recordings/retention/runs/:id',
    {
      config: { roles: ['admin'] },
      schema: { tags: ['recordings'], summary: 'One retention run: state, deleted, failed, still to go', security, params: s.runParams, response: { 200: s.runReply, 401: err, 403: err, 404: err } },
    },
    async (request) => service.retentionRun(request.params.id),
  );

  app.get<{ Params: { name: string } }>(
    '/v1/recordings/:name',
    {
      config: { roles: ['admin', 'supervisor', 'qa'] },
      schema: { tags: ['recordings'], summary: "One recording's metadata: call, queue, agents, customer, times, PCI pauses, state", security, params: s.nameParams, response: { 200: s.recording, 401: err, 403: err, 404: err } },
    },
    async (request) => service.get(request.params.name),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/calls/:id/recording',
    {
      config: { roles: ['admin', 'supervisor', 'qa'] },
      schema: { tags: ['recordings'], summary: "The call's recording (audio/wav); supports Range requests; every access is audited", security, params: s.callParams, response: { 401: err, 403: err, 404: err, 416: err } },
    },
    async (request, reply) => {
      const r = await service.stream(request.params.id, request.headers.range, { name: principalOf(request).name, requestId: request.id });
      void reply.header('accept-ranges', 'bytes').header('content-type', r.contentType).header('cache-control', 'private, no-store');
      if (r.status === 206) void reply.header('content-range', `bytes ${r.start}-${r.end}/${r.size}`);
      return reply.status(r.status).send(r.body);
    },
  );

  for (const kind of ['pause', 'resume'] as const) {
    app.post<{ Params: { id: string } }>(
      `/v1/calls/:id/recording/${kind}`,
      {
        config: { roles: ['admin', 'supervisor', 'agent'] },
        schema: {
          tags: ['recordings'],
          summary: kind === 'pause'
            ? 'PCI: pause the call\'s recording (silence is written, the timeline is kept); the handling agent, a supervisor or an admin'
            : 'Resume the call\'s recording after a PCI pause',
          security, params: s.callParams, response: { 200: s.pciReply, 401: err, 403: err, 404: err, 409: err, 503: err },
        },
      },
      async (request) => service[kind](request.params.id, { principal: principalOf(request), requestId: request.id }),
    );
  }
}
