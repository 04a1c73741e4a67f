import type { FastifyInstance } from 'fastify';
import type { HealthService } from './service.js';
import { livenessReply, readinessReply } from './schemas.js';

export async function healthRoutes(app: FastifyInstance, opts: { service: HealthService }): Promise<void> {
  app.get(
    '/healthz',
    { config: { public: true }, logLevel: 'warn', schema: { tags: ['health'], summary: 'The process is alive', response: { 200: livenessReply } } },
    async () => ({ status: 'ok', uptimeSeconds: Math.round(process.uptime()) }),
  );
  app.get(
    '/readyz',
    {
      config: { public: true },
      logLevel: 'warn',
      schema: { tags: ['health'], summary: 'MariaDB, Redis and each Asterisk, reported separately; 503 while any is down', response: { 200: readinessReply, 503: readinessReply } },
    },
    async (_request, reply) => {
      const r = await opts.service.readiness();
      return reply.status(r.ready ? 200 : 503).send(r);
    },
  );
}
