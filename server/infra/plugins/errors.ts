import fp from 'fastify-plugin';
import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError, isAppError, type ErrorKind } from '../../domain/errors.js';

export const STATUS_BY_KIND: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unsupported: 415,
  bad_range: 416,
  throttled: 429,
  internal: 500,
  unavailable: 503,
  timeout: 504,
};

export interface ErrorBody {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

interface AjvError {
  instancePath?: string;
  keyword: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** Turns one Ajv error into `{field, problem}` naming the field the way a client wrote it. */
function fieldOf(e: AjvError, context: string | undefined): { field: string; problem: string } {
  let path = (e.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
  if (e.keyword === 'required' && typeof e.params?.missingProperty === 'string') {
    path = path ? `${path}.${e.params.missingProperty}` : e.params.missingProperty;
  }
  if (e.keyword === 'additionalProperties' && typeof e.params?.additionalProperty === 'string') {
    path = path ? `${path}.${e.params.additionalProperty}` : e.params.additionalProperty;
    return { field: `${context ?? 'body'}${path ? '.' + path : ''}`, problem: 'is not a known field' };
  }
  return { field: `${context ?? 'body'}${path ? '.' + path : ''}`, problem: e.message ?? e.keyword };
}

/** Maps a Fastify framework error to our stable codes. */
function fromFastify(err: FastifyError & { validationContext?: string }): AppError | undefined {
  if (err.validation) {
    const fields = (err.validation as AjvError[]).map((v) => fieldOf(v, err.validationContext));
    return new AppError('invalid', 'validation_failed', `Invalid request: ${fields.map((f) => `${f.field} ${f.problem}`).join('; ')}`, { details: { fields } });
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('too_large', 'payload_too_large', 'The request body is larger than this server accepts (IPCC_HTTP_BODY_LIMIT).');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('unsupported', 'unsupported_media_type', 'Send the body as application/json.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('invalid', 'empty_json_body', 'The content type is application/json but the body is empty.');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AppError('invalid', 'malformed_json', 'The body is not valid JSON.');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('invalid', 'bad_content_length', 'The Content-Length header does not match the body.');
  }
  if (err instanceof SyntaxError || err.name === 'SyntaxError') {
    return new AppError('invalid', 'malformed_json', 'The body is not valid JSON.');
  }
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return new AppError('invalid', 'bad_request', err.message);
  }
  return undefined;
}

export function toErrorBody(e: AppError): ErrorBody {
  return e.details ? { code: e.code, message: e.message, details: e.details } : { code: e.code, message: e.message };
}

/**
 * One error handler for the whole API: every error leaves as
 * `{code, message, details}` with a status chosen by its kind. Unknown errors
 * are logged with their stack and answered as a generic 500 that leaks nothing.
 */
export const errorsPlugin = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler((err: FastifyError, request, reply) => {
      const appErr = isAppError(err) ? err : fromFastify(err);
      if (!appErr) {
        request.log.error({ err }, 'unhandled error');
        return reply.status(500).send({ code: 'internal_error', message: 'An internal error occurred; it has been logged with the request id.', details: { requestId: request.id } });
      }
      const status = STATUS_BY_KIND[appErr.kind];
      if (status >= 500) request.log.error({ err: appErr, cause: appErr.cause }, appErr.code);
      else request.log.info({ code: appErr.code }, 'request rejected');
      if (appErr.kind === 'throttled' && typeof appErr.details?.retryAfterSeconds === 'number') {
        void reply.header('retry-after', String(appErr.details.retryAfterSeconds));
      }
      return reply.status(status).send(toErrorBody(appErr));
    });
    app.setNotFoundHandler((request, reply) =>
      reply.status(404).send({ code: 'route_not_found', message: `No route ${request.method} ${request.url.split('?')[0]}; see /docs for the API.` }),
    );
  },
  { name: 'ipcc-errors' },
);
