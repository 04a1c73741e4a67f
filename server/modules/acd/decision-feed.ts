import type { RouterDecision } from '../../acd/decisions.js';
import type { Log } from '../../infra/logger.js';
import type { Redis } from '../../infra/redis.js';
import type { PublishedDecisions } from './router-runner.js';
import { compareIds, partitionKeys } from './store.js';

export interface DecisionFeed {
  subscribe(handler: (d: RouterDecision, id: string) => void | Promise<void>): () => void;
  start(): void;
  stop(): Promise<void>;
  /**
   * Decisions the router of this process has just published: taken at once, without waiting to
   * read them back from the stream, when the feed has handled exactly the decision before them
   * (`previous`); otherwise left to the stream (a gap may hold another router's decisions).
   */
  takeLocal(published: PublishedDecisions): void;
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
  // The id of the last decision taken (from the stream or from the local router); undefined
  // until the feed knows where it starts. Decisions at or before it are not taken again.
  let taken: string | undefined;
  // Handlers run in the order decisions were taken, one at a time.
  let chain: Promise<void> = Promise.resolve();

  async function run(d: RouterDecision, id: string): Promise<void> {
    for (const h of handlers) {
      try {
        await h(d, id);
      } catch (err) {
        log.error({ err, decision: d.kind }, 'decision handler failed');
      }
    }
  }

  /** Takes decisions in order; answers whether any was new. */
  function take(decisions: readonly { id: string; decision: RouterDecision }[]): boolean {
    let any = false;
    for (const { id, decision } of decisions) {
      if (taken === undefined || compareIds(id, taken) <= 0) continue;
      taken = id;
      any = true;
      chain = chain.then(() => run(decision, id));
    }
    // The place is saved once per batch, behind its handlers, without waiting for the reply:
    // the writes go out in order on this connection, so the saved place only moves forward.
    if (any && options.cursorKey) {
      const place = taken as string;
      const key = options.cursorKey;
      chain = chain.then(() => {
        reader.set(key, place, 'EX', 86400).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'decision feed could not save its place'));
      });
    }
    return any;
  }

  return {
    subscribe(h) {
      handlers.add(h);
      return () => handlers.delete(h);
    },
    takeLocal(published) {
      if (!running || taken === undefined || published.previous !== taken) return;
      take(published.decisions);
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
            taken = cursor;
            if (saved) log.info({ cursor }, 'decision feed resumes after the last decision it handled');
          } catch (err) {
            log.warn({ err: (err as Error).message }, 'decision feed could not start; retrying');
            await new Promise((r) => setTimeout(r, 500));
          }
        }
        while (running && cursor !== undefined) {
          try {
            const res = await reader.xread('BLOCK', 500, 'STREAMS', key, cursor as string);
            const batch: { id: string; decision: RouterDecision }[] = [];
            for (const [id, fields] of res?.[0]?.[1] ?? []) {
              cursor = id;
              const i = fields.indexOf('d');
              batch.push({ id, decision: JSON.parse(fields[i + 1] ?? 'null') as RouterDecision });
            }
            take(batch);
            // The handlers of this batch run before the next read: a backlog is handled in
            // order without reading ahead of it.
            await chain;
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
      await chain;
    },
  };
}
