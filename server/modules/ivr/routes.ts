import type { FastifyInstance } from 'fastify';
import { ivrErrors } from './errors.js';
import type { IvrService } from './service.js';
import * as s from './schemas.js';

const err = { $ref: 'Error#' } as const;
const security = [{ bearer: [] }];
const readers = { roles: ['admin', 'supervisor'] } as const;

/** IVR on calls: the media the media servers fetch, journeys and where callers give up. */
export async function ivrRoutes(app: FastifyInstance, opts: { service: IvrService }): Promise<void> {
  const { service } = opts;
  app.get<{ Params: { name: string } }>(
    '/v1/ivr/media/:name',
    {
      // Fetched by Asterisk (res_http_media_cache), which carries no token: public, but it serves
      // nothing except rendered prompts named by their keyed hash.
      config: { public: true },
      schema: { tags: ['ivr'], summary: `A rendered TTS prompt (audio/wav, 8 kHz), by its name (${s.mediaNamePattern}); for media servers, no credential`, security: [], params: s.mediaParams, response: { 404: err } },
    },
    async (request, reply) => {
      const body = await service.media(request.params.name);
      if (!body) throw ivrErrors.mediaNotFound();
      request.log.info({ media: request.params.name, userAgent: request.headers['user-agent'] }, 'IVR media served');
      // Content-addressed: a name always means the same audio.
      void reply.header('content-type', 'audio/wav').header('cache-control', 'public, max-age=31536000, immutable');
      return reply.send(body);
    },
  );
  app.get<{ Params: { id: string } }>(
    '/v1/calls/:id/journey',
    { config: readers, schema: { tags: ['ivr'], summary: "A call's IVR journey: flow version, every node visit with input and outcome, how it ended", security, params: s.callParams, response: { 200: s.journeyReply, 401: err, 403: err, 404: err } } },
    async (request) => service.journey(request.params.id),
  );
  app.get<{ Params: { id: string }; Querystring: { from?: string; to?: string; version?: number } }>(
    '/v1/ivr/flows/:id/journeys/summary',
    {
      config: readers,
      schema: { tags: ['ivr'], summary: 'Visits and hang-ups per node of a flow over a period: where callers give up', security, params: s.flowIdParams, querystring: s.summaryQuery, response: { 200: s.summaryReply, 400: err, 401: err, 403: err } },
    },
    async (request) => service.summary(request.params.id, request.query),
  );
}
