import type { FastifyInstance } from 'fastify';
import { parse as parseYaml } from 'yaml';
import { principalOf } from '../auth/routes.js';
import { flowErrors } from './errors.js';
import type { FlowService } from './service.js';
import * as s from './schemas.js';

const err = { $ref: 'Error#' } as const;
const security = [{ bearer: [] }];
const admin = { roles: ['admin'] } as const;
const readers = { roles: ['admin', 'supervisor'] } as const;

/** Upload, validate, publish and roll back IVR flows. */
export async function flowRoutes(app: FastifyInstance, opts: { service: FlowService }): Promise<void> {
  const { service } = opts;
  // Flows may be written in YAML as well as JSON: the same document, checked by the same schema.
  // Aliases are capped so that a small document cannot expand into a huge one.
  app.addContentTypeParser(['application/yaml', 'application/x-yaml', 'text/yaml'], { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseYaml(body as string, { maxAliasCount: 50, prettyErrors: false }));
    } catch (e) {
      done(flowErrors.malformedYaml((e as Error).message.split('\n')[0] ?? 'unreadable'), undefined);
    }
  });
  app.post<{ Params: { id: string } }>(
    '/v1/ivr/flows/:id/validate',
    { config: admin, schema: { tags: ['ivr'], summary: 'Check a flow without storing it; problems name the node', security, params: s.flowIdParams, body: s.flowDocument, response: { 200: s.anyObject, 400: err, 401: err, 403: err } } },
    async (request) => service.validate(app.tenantId, request.body),
  );
  app.post<{ Params: { id: string } }>(
    '/v1/ivr/flows/:id/versions',
    { config: admin, schema: { tags: ['ivr'], summary: 'Upload a flow as its next version (validated; not yet published)', security, params: s.flowIdParams, body: s.flowDocument, response: { 201: s.anyObject, 400: err, 401: err, 403: err } } },
    async (request, reply) => reply.status(201).send(await service.upload(app.tenantId, request.params.id, request.body, principalOf(request).name, request.id)),
  );
  app.post<{ Params: { id: string }; Body: { version: number } }>(
    '/v1/ivr/flows/:id/publish',
    { config: admin, schema: { tags: ['ivr'], summary: 'Publish a version: new calls start on it, calls in progress keep theirs', security, params: s.flowIdParams, body: s.publishBody, response: { 200: s.anyObject, 400: err, 401: err, 403: err, 404: err } } },
    async (request) => service.publish(app.tenantId, request.params.id, request.body.version, principalOf(request).name, request.id),
  );
  app.post<{ Params: { id: string } }>(
    '/v1/ivr/flows/:id/rollback',
    { config: admin, schema: { tags: ['ivr'], summary: 'Publish again the version published before the current one', security, params: s.flowIdParams, response: { 200: s.anyObject, 401: err, 403: err, 404: err, 409: err } } },
    async (request) => service.rollback(app.tenantId, request.params.id, principalOf(request).name, request.id),
  );
  app.get(
    '/v1/ivr/flows',
    { config: readers, schema: { tags: ['ivr'], summary: 'List flows with their published and latest versions', security, response: { 200: s.anyObject, 401: err, 403: err } } },
    async () => service.list(app.tenantId),
  );
  app.get<{ Params: { id: string } }>(
    '/v1/ivr/flows/:id',
    { config: readers, schema: { tags: ['ivr'], summary: 'A flow: versions and publication history', security, params: s.flowIdParams, response: { 200: s.anyObject, 401: err, 403: err, 404: err } } },
    async (request) => service.get(app.tenantId, request.params.id),
  );
  app.get<{ Params: { id: string; version: number } }>(
    '/v1/ivr/flows/:id/versions/:version',
    { config: readers, schema: { tags: ['ivr'], summary: 'One stored version of a flow', security, params: s.versionParams, response: { 200: s.anyObject, 401: err, 403: err, 404: err } } },
    async (request) => service.getVersion(app.tenantId, request.params.id, request.params.version),
  );
}
