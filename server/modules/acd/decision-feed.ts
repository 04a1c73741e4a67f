import type { RouterDecision } from '../../acd/decisions.js';
import type { Log } from '../../infra/logger.js';
import type { Redis } from '../../infra/redis.js';
import { partitionKeys } from './store.js';

export interface DecisionFeed {
  subscribe(handler: (d: RouterDecision, id: string) => void | Promise<void>): () => void;
  start(): void;
  stop(): Promise<void>;
}

/**
 * Follows a partition's published decisions (whoever the router is) so that
 * the process that holds a call's media can act on them: ring the offered
 * agents, connect on assignment, stop ringing on cancellation. Handlers run
 * one decision at a time, in order.
 */
export interface DecisionFeedOptions {
  /**
   * A Redis key where the feed keeps the id of the last decision it handled, so a restarted
   * process carries on after it instead of from the stream's end (and misses nothing).
   */
  cursorKey?: string;
}

export function createDecisionFeed(redis: Redis, partition: string, log: Log, options: DecisionFeedOptions = {}): DecisionFeed {
  const key = partitionKeys(partition).decisions;
  const handlers = new Set<(d: RouterDecision, id: string) => void | Promise<void>>();
  let running = false;
  let loop: Promise<void> | undefined;
  const reader = redis.duplicate();
  return {
    subscribe(h) {
      handlers.add(h);
      return () => handlers.delete(h);
    },
    start() {
      if (running) return;
      running = true;
      loop = (async () => {
        // Start from the current end as a concrete id: re-reading with '$' after each empty read
        // would skip whatever was published between two reads.
        let cursor: string | undefined;
        while (running && cursor === undefined) {
          try {
            const saved = options.cursorKey ? await reader.get(options.cursorKey) : null;
            cursor = saved ?? (await reader.xrevrange(key, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
            if (saved) log.info({ cursor }, 'decision feed resumes after the last decision it handled');
          } catch (err) {
            log.warn({ err: (err as Error).message }, 'decision feed could not start; retrying');
            await new Promise((r) => setTimeout(r, 500));
          }
        }
        while (running && cursor !== undefined) {
          try {
            const res = await reader.xread('BLOCK', 500, 'STREAMS', key, cursor as string);
            for (const [id, fields] of res?.[0]?.[1] ?? []) {
              cursor = id;
              const i = fields.indexOf('d');
              const d = JSON.parse(fields[i + 1] ?? 'null') as RouterDecision;
              for (const h of handlers) {
                try {
                  await h(d, id);
                } catch (err) {
                  log.error({ err, decision: d.kind }, 'decision handler failed');
                }
              }
              // Saved behind each decision without waiting for the reply: the writes go out in
              // order on this connection, so the saved place only moves forward, and a round trip
              // per decision would cap the feed at one decision per round trip under load.
              if (options.cursorKey) {
                reader.set(options.cursorKey, id, 'EX', 86400).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'decision feed could not save its place'));
              }
            }
          } catch (err) {
            if (!running) break;
            log.warn({ err: (err as Error).message }, 'decision feed read failed; retrying');
            await new Promise((r) => setTimeout(r, 500));
          }
        }
      })();
    },
    async stop() {
      running = false;
      reader.disconnect();
      await loop;
    },
  };
}
