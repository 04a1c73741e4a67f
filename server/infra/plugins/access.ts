import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type {} from '@fastify/swagger';
import type { Principal, Role } from '../../domain/principal.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route needs no credential (health, login, docs). */
    public?: boolean;
    /** Roles allowed to call the route. Every non-public route must declare them. */
    roles?: readonly Role[];
  }
}

export interface AccessPluginOptions {
  authenticate(credential: string | undefined): Promise<Principal>;
  authorize(principal: Principal, roles: readonly Role[]): void;
}

/** Routes that plugins we do not own register (the docs UI); they are public by nature. */
const PUBLIC_PREFIXES = ['/docs'];

function credentialOf(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  if (typeof h === 'string') {
    const m = /^(?:Bearer|ApiKey)\s+(\S+)\s*$/i.exec(h);
    return m ? m[1] : h.length > 0 ? '\u0000malformed' : undefined;
  }
  const k = request.headers['x-api-key'];
  if (typeof k === 'string' && k.length > 0) return k;
  // Browsers cannot set headers on a WebSocket handshake: only there, a query token is accepted.
  if (request.headers.upgrade?.toLowerCase() === 'websocket') {
    const q = (request.query as Record<string, unknown> | undefined)?.access_token;
    if (typeof q === 'string' && q.length > 0) return q;
  }
  return undefined;
}

/**
 * Access control for every route. At registration a route that is neither
 * public nor declares its roles stops the server from starting; at request
 * time the credential is authenticated (401) and the role checked (403)
 * before any validation or handler runs.
 */
export const accessPlugin = fp<AccessPluginOptions>(
  async (app: FastifyInstance, opts) => {
    app.decorateRequest('principal', undefined);
    app.addHook('onRoute', (route) => {
      if (PUBLIC_PREFIXES.some((p) => route.url.startsWith(p))) {
        route.config = { ...(route.config ?? {}), public: true };
        return;
      }
      const cfg = route.config;
      if (!cfg?.public && !(cfg?.roles && cfg.roles.length > 0)) {
        throw new Error(`route ${String(route.method)} ${route.url} declares neither public access nor the roles allowed`);
      }
    });
    app.addHook('onRequest', async (request) => {
      if (request.is404) return;
      const cfg = request.routeOptions.config;
      if (cfg.public) return;
      const principal = await opts.authenticate(credentialOf(request));
      request.principal = principal;
      request.log = request.log.child({ principal: principal.name });
      opts.authorize(principal, cfg.roles ?? []);
    });
  },
  { name: 'ipcc-access' },
);
