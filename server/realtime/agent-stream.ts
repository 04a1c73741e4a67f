import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { Redis } from '../infra/redis.js';
import { isAppError } from '../domain/errors.js';

export interface AgentStreamDeps {
  /** Resolves whether the caller may watch `agentId` (throws an AppError otherwise). */
  authorize(request: FastifyRequest, agentId: string): Promise<void>;
  /** Key of the agent's event stream in Redis. */
  streamKey(agentId: string): string;
  /** Presence and load now, sent first. */
  state(agentId: string): Promise<unknown>;
  redis: Redis;
  /** How long one blocking read waits before checking the socket again. */
  blockMs?: number;
  heartbeatMs?: number;
}

interface Frame {
  type: 'hello' | 'event' | 'error';
  [k: string]: unknown;
}

const ID_RE = /^\d{1,16}-\d{1,10}$/;

/**
 * `GET /v1/agents/:id/stream` (WebSocket): an agent desktop's live feed of
 * offers, cancellations, assignments and presence changes. Every event frame
 * carries the stream id; a desktop that lost its connection reconnects with
 * `?after=<last id>` and first receives everything it missed, in order.
 * Browsers cannot set headers on a WebSocket, so the token may come as
 * `?access_token=`.
 */
export async function agentStreamRoutes(app: FastifyInstance, deps: AgentStreamDeps): Promise<void> {
  app.get<{ Params: { id: string }; Querystring: { after?: string } }>(
    '/v1/agents/:id/stream',
    {
      websocket: true,
      config: { roles: ['admin', 'supervisor', 'agent'] },
      schema: {
        tags: ['acd'],
        summary: "WebSocket: an agent's offers and presence changes, resumable with ?after=<event id>",
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' } } },
        querystring: { type: 'object', properties: { after: { type: 'string', pattern: ID_RE.source }, access_token: { type: 'string' } } },
      },
    },
    (socket: WebSocket, request) => {
      const agentId = request.params.id;
      let open = true;
      const reader = deps.redis.duplicate();
      const send = (f: Frame): void => {
        if (open && socket.readyState === socket.OPEN) socket.send(JSON.stringify(f));
      };
      const heartbeat = setInterval(() => {
        if (socket.readyState === socket.OPEN) socket.ping();
      }, deps.heartbeatMs ?? 20000);
      const close = (): void => {
        if (!open) return;
        open = false;
        clearInterval(heartbeat);
        reader.disconnect();
      };
      socket.on('close', close);
      socket.on('error', close);
      // Desktops answer offers over HTTP; anything they send here is ignored.
      socket.on('message', () => undefined);

      void (async () => {
        try {
          await deps.authorize(request, agentId);
          send({ type: 'hello', agentId, state: await deps.state(agentId) });
          let cursor = request.query.after ?? '$';
          if (cursor !== '$') {
            // Catch up first, then follow live from the last id sent.
            const backlog = await reader.xrange(deps.streamKey(agentId), `(${cursor}`, '+');
            for (const [id, fields] of backlog) {
              send({ type: 'event', id, event: JSON.parse(fields[1] ?? 'null') });
              cursor = id;
            }
          } else {
            const head = await reader.xrevrange(deps.streamKey(agentId), '+', '-', 'COUNT', 1);
            cursor = head[0]?.[0] ?? '0-0';
          }
          while (open) {
            const res = await reader.xread('BLOCK', deps.blockMs ?? 1000, 'STREAMS', deps.streamKey(agentId), cursor);
            for (const [id, fields] of res?.[0]?.[1] ?? []) {
              send({ type: 'event', id, event: JSON.parse(fields[1] ?? 'null') });
              cursor = id;
            }
          }
        } catch (err) {
          if (!open) return;
          if (isAppError(err)) {
            send({ type: 'error', code: err.code, message: err.message });
            socket.close(4403, err.code);
          } else {
            request.log.error({ err }, 'agent stream failed');
            send({ type: 'error', code: 'stream_failed', message: 'The stream failed; reconnect with ?after=<last id>.' });
            socket.close(1011, 'stream_failed');
          }
          close();
        }
      })();
    },
  );
}
