import { AppError, type ErrorKind } from '../domain/errors.js';

/**
 * How an ARI request failed, mapped once into an {@link AppError} with a stable code. The
 * HTTP status (when Asterisk answered) and the request travel in `details`; nothing here or
 * downstream looks at message text.
 */
export interface AriRequestContext {
  server: string;
  method: string;
  path: string;
}

/** Stable codes of ARI failures. */
export const ARI_ERROR = {
  unreachable: 'ari.unreachable',
  timeout: 'ari.timeout',
  stopped: 'ari.client_stopped',
  badRequest: 'ari.bad_request',
  authFailed: 'ari.auth_failed',
  notFound: 'ari.not_found',
  conflict: 'ari.conflict',
  invalidState: 'ari.invalid_state',
  unprocessable: 'ari.unprocessable',
  serverError: 'ari.server_error',
  unavailable: 'ari.unavailable',
  badResponse: 'ari.bad_response',
} as const;

export type AriErrorCode = (typeof ARI_ERROR)[keyof typeof ARI_ERROR];

const STATUS_MAP: Record<number, { kind: ErrorKind; code: AriErrorCode }> = {
  400: { kind: 'invalid', code: ARI_ERROR.badRequest },
  // Our credentials or our user's rights are wrong: a configuration bug, not the caller's.
  401: { kind: 'internal', code: ARI_ERROR.authFailed },
  403: { kind: 'internal', code: ARI_ERROR.authFailed },
  404: { kind: 'not_found', code: ARI_ERROR.notFound },
  409: { kind: 'conflict', code: ARI_ERROR.conflict },
  // ARI answers 412 when a channel or bridge is not in a state that allows the operation.
  412: { kind: 'conflict', code: ARI_ERROR.invalidState },
  422: { kind: 'invalid', code: ARI_ERROR.unprocessable },
  500: { kind: 'internal', code: ARI_ERROR.serverError },
  501: { kind: 'internal', code: ARI_ERROR.serverError },
  502: { kind: 'unavailable', code: ARI_ERROR.unavailable },
  503: { kind: 'unavailable', code: ARI_ERROR.unavailable },
  504: { kind: 'timeout', code: ARI_ERROR.timeout },
};

/** An error for a non-2xx answer of Asterisk. */
export function ariStatusError(ctx: AriRequestContext, status: number, body: unknown): AppError {
  const mapped =
    STATUS_MAP[status] ??
    (status >= 500
      ? { kind: 'unavailable' as const, code: ARI_ERROR.unavailable }
      : { kind: 'invalid' as const, code: ARI_ERROR.badRequest });
  const ariMessage =
    body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string'
      ? (body as { message: string }).message
      : typeof body === 'string' && body.length > 0
        ? body.slice(0, 200)
        : undefined;
  return new AppError(
    mapped.kind,
    mapped.code,
    `Asterisk ${ctx.server} answered ${status} to ${ctx.method} ${ctx.path}${ariMessage ? `: ${ariMessage}` : ''}`,
    { details: { ...ctx, status, ariMessage } },
  );
}

/** The request did not get an answer within its time limit. */
export function ariTimeoutError(ctx: AriRequestContext, timeoutMs: number, cause?: unknown): AppError {
  return new AppError(
    'timeout',
    ARI_ERROR.timeout,
    `Asterisk ${ctx.server} did not answer ${ctx.method} ${ctx.path} within ${timeoutMs} ms`,
    { details: { ...ctx, timeoutMs }, cause },
  );
}

/** The client was stopped while the request was pending. */
export function ariStoppedError(ctx: AriRequestContext): AppError {
  return new AppError('unavailable', ARI_ERROR.stopped, `the ARI client for ${ctx.server} is stopped`, {
    details: { ...ctx },
  });
}

/** Asterisk answered 2xx with a body we cannot read. */
export function ariBadResponseError(ctx: AriRequestContext, status: number, cause: unknown): AppError {
  return new AppError('internal', ARI_ERROR.badResponse, `Asterisk ${ctx.server} sent an unreadable answer to ${ctx.method} ${ctx.path}`, {
    details: { ...ctx, status },
    cause,
  });
}

/** Transport error codes that mean "no answer came in time". */
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** A transport failure: Asterisk could not be reached or the connection broke. */
export function ariTransportError(ctx: AriRequestContext, error: unknown): AppError {
  const code = transportCode(error);
  if (code !== undefined && TIMEOUT_CODES.has(code)) {
    return new AppError('timeout', ARI_ERROR.timeout, `Asterisk ${ctx.server} did not answer ${ctx.method} ${ctx.path} in time`, {
      details: { ...ctx, transport: code },
      cause: error,
    });
  }
  return new AppError('unavailable', ARI_ERROR.unreachable, `Asterisk ${ctx.server} is unreachable (${ctx.method} ${ctx.path})`, {
    details: { ...ctx, transport: code ?? 'unknown' },
    cause: error,
  });
}

/** The `code` of a Node error, looking through `cause` chains and aggregates. */
export function transportCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== null && typeof current === 'object'; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const errors = (current as { errors?: unknown }).errors;
    current = Array.isArray(errors) && errors.length > 0 ? errors[0] : (current as { cause?: unknown }).cause;
  }
  return undefined;
}
