import { AppError } from '../../domain/errors.js';

export const authErrors = {
  missingCredential: () =>
    new AppError('unauthenticated', 'credential_missing', 'This route needs a credential: send "Authorization: Bearer <token or API key>".'),
  badCredential: () => new AppError('unauthenticated', 'credential_invalid', 'The token or API key is not valid; log in again or use a current key.'),
  expired: () => new AppError('unauthenticated', 'token_expired', 'The token has expired; log in again or refresh it before it expires.'),
  revoked: () => new AppError('unauthenticated', 'token_revoked', 'The token was revoked (password changed or user disabled); log in again.'),
  badLogin: () => new AppError('unauthenticated', 'login_failed', 'User name or password is wrong.'),
  throttled: (retryAfterSeconds: number) =>
    new AppError('throttled', 'login_throttled', `Too many failed logins; try again in ${retryAfterSeconds} s.`, { details: { retryAfterSeconds } }),
  forbidden: (roles: readonly string[]) =>
    new AppError('forbidden', 'role_forbidden', `Your roles do not allow this; it needs one of: ${roles.join(', ')}.`, { details: { allowedRoles: roles } }),
  apiKeyNotFound: (id: string) => new AppError('not_found', 'api_key_not_found', `No API key ${id}.`),
  badRoles: (roles: string[]) => new AppError('invalid', 'invalid_roles', `Unknown or disallowed roles: ${roles.join(', ')}.`, { details: { roles } }),
};
