import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

/**
 * Short-lived login tokens: HMAC-SHA256 signed, JWT-compatible (HS256) so any
 * integration tooling can decode them. Claims are kept small.
 */
export interface TokenClaims {
  /** user id */
  sub: string;
  /** tenant id */
  ten: number;
  roles: string[];
  /** the user's token version; bumping it revokes older tokens */
  ver: number;
  iat: number;
  exp: number;
  jti: string;
}

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

const sign = (secret: string, data: string): Buffer => createHmac('sha256', secret).update(data).digest();

export function issueToken(secret: string, claims: Omit<TokenClaims, 'iat' | 'exp' | 'jti'>, nowSeconds: number, ttlSeconds: number): { token: string; claims: TokenClaims } {
  const full: TokenClaims = { ...claims, iat: nowSeconds, exp: nowSeconds + ttlSeconds, jti: randomUUID() };
  const body = `${HEADER}.${Buffer.from(JSON.stringify(full)).toString('base64url')}`;
  return { token: `${body}.${sign(secret, body).toString('base64url')}`, claims: full };
}

export type TokenCheck = { ok: true; claims: TokenClaims } | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' };

export function verifyToken(secret: string, token: string, nowSeconds: number): TokenCheck {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== HEADER) return { ok: false, reason: 'malformed' };
  const expected = sign(secret, `${parts[0]}.${parts[1]}`);
  const given = Buffer.from(parts[2] as string, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad_signature' };
  let claims: TokenClaims;
  try {
    claims = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8')) as TokenClaims;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof claims.exp !== 'number' || typeof claims.sub !== 'string' || !Array.isArray(claims.roles)) return { ok: false, reason: 'malformed' };
  if (claims.exp <= nowSeconds) return { ok: false, reason: 'expired' };
  return { ok: true, claims };
}
