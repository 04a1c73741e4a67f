/**
 * Errors are values with stable codes. Every error the API can return is an
 * {@link AppError}: a machine-readable `code` (never branch on the message), a
 * human `message` that says what to do, optional `details`, and a `kind` that
 * the HTTP layer maps to a status exactly once (see server/app.ts).
 */
export type ErrorKind =
  | 'invalid' // 400: the request is malformed or a field is wrong
  | 'unauthenticated' // 401: no or bad credential
  | 'forbidden' // 403: authenticated, but the role may not do this
  | 'not_found' // 404
  | 'conflict' // 409: duplicate or state does not allow it
  | 'too_large' // 413
  | 'unsupported' // 415
  | 'bad_range' // 416: the requested byte range is outside the resource
  | 'throttled' // 429
  | 'unavailable' // 503: a dependency is down; retry later
  | 'timeout' // 504: a dependency did not answer in time; retry later
  | 'internal'; // 500: a bug

export interface AppErrorOptions {
  details?: Record<string, unknown> | undefined;
  cause?: unknown;
}

export class AppError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly details: Record<string, unknown> | undefined;

  constructor(kind: ErrorKind, code: string, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.kind = kind;
    this.code = code;
    this.details = options.details;
  }

  /** Retryable errors are a property of the kind, never of the message text. */
  get retryable(): boolean {
    return this.kind === 'unavailable' || this.kind === 'timeout' || this.kind === 'throttled';
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;
