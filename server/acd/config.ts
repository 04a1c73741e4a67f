import type { Channel } from '../domain/channel.js';
import { CHANNELS } from '../domain/channel.js';
import type { ChannelBlockRule } from '../domain/capacity.js';
import { DEFAULT_BLOCK_RULES, DEFAULT_CAPACITY, DEFAULT_CHANNEL_COSTS } from '../domain/capacity.js';
import { AppError } from '../domain/errors.js';
import type { Queue } from '../domain/queue.js';
import { validateQueue } from '../domain/queue.js';

/**
 * Aging: every `intervalMs` of waiting is worth one priority level. A task's
 * rank is `enqueuedAt - priority x intervalMs` (lower is served first), which
 * orders tasks exactly as "effective priority = priority + wait / intervalMs"
 * would, at every instant, without ever re-sorting. Consequence, checked by
 * the property tests: a task is never overtaken, for an agent eligible for
 * both, by a same-channel task enqueued more than
 * {@link agingBoundMs} = maxPriority x intervalMs after it.
 */
export interface AgingConfig {
  readonly intervalMs: number;
  readonly maxPriority: number;
}

/** What the router needs besides live state. Everything has a default except queues. */
export interface RouterConfigInput {
  readonly version?: string;
  readonly queues: readonly Queue[];
  readonly defaultCapacity?: number;
  readonly channelCosts?: Partial<Record<Channel, number>>;
  readonly blockRules?: readonly ChannelBlockRule[];
  readonly aging?: Partial<AgingConfig>;
  readonly offerTimeoutMs?: Partial<Record<Channel, number>>;
  /** After a decline or a missed offer, the agent is not offered that task again for this long. */
  readonly declineCooldownMs?: number;
  /** Consecutive missed offers that put an agent in not_ready('rona'); 0 disables. */
  readonly ronaAfterMisses?: number;
  /** At most this many agents ring at once under ring-all. */
  readonly ringAllMax?: number;
  /** Candidates kept in each RouteDecision (the counts are always complete). */
  readonly auditTopK?: number;
}

export interface RouterConfig {
  readonly version: string;
  readonly queues: ReadonlyMap<string, Queue>;
  readonly defaultCapacity: number;
  readonly channelCosts: Readonly<Record<Channel, number>>;
  readonly blockRules: readonly ChannelBlockRule[];
  readonly aging: AgingConfig;
  readonly offerTimeoutMs: Readonly<Record<Channel, number>>;
  readonly declineCooldownMs: number;
  readonly ronaAfterMisses: number;
  readonly ringAllMax: number;
  readonly auditTopK: number;
}

export const DEFAULT_OFFER_TIMEOUT_MS: Readonly<Record<Channel, number>> = {
  voice: 20_000,
  video: 20_000,
  chat: 30_000,
  wechat: 30_000,
  sms: 60_000,
  email: 120_000,
};

/** The longest a task can be overtaken by later arrivals (see {@link AgingConfig}). */
export const agingBoundMs = (config: RouterConfig): number => config.aging.maxPriority * config.aging.intervalMs;

function invalid(code: string, field: string, message: string): AppError {
  return new AppError('invalid', code, message, { details: { field } });
}

/**
 * Applies defaults and validates.
 * @throws AppError `invalid` with a code naming the problem and `details.field`.
 */
export function createRouterConfig(input: RouterConfigInput): RouterConfig {
  const queues = new Map<string, Queue>();
  for (const q of input.queues) {
    const err = validateQueue(q);
    if (err !== undefined) throw err;
    if (queues.has(q.id)) throw invalid('config.duplicate_queue', 'queues', `queue ${q.id} is defined twice`);
    queues.set(q.id, q);
  }
  for (const q of queues.values()) {
    if (q.overflowQueueId === undefined) continue;
    const target = queues.get(q.overflowQueueId);
    if (target === undefined || target.tenantId !== q.tenantId || target.id === q.id) {
      throw invalid('config.invalid_overflow', `queues.${q.id}.overflowQueueId`, `queue ${q.id} overflows to an unknown queue`);
    }
  }
  const channelCosts = { ...DEFAULT_CHANNEL_COSTS, ...input.channelCosts };
  const offerTimeoutMs = { ...DEFAULT_OFFER_TIMEOUT_MS, ...input.offerTimeoutMs };
  for (const c of CHANNELS) {
    if (!(Number.isInteger(channelCosts[c]) && channelCosts[c] > 0)) {
      throw invalid('config.invalid_cost', `channelCosts.${c}`, 'channel costs must be positive integers');
    }
    if (!(offerTimeoutMs[c] > 0)) throw invalid('config.invalid_timeout', `offerTimeoutMs.${c}`, 'offer timeouts must be > 0');
  }
  const aging: AgingConfig = { intervalMs: 30_000, maxPriority: 10, ...input.aging };
  if (!(aging.intervalMs > 0 && Number.isFinite(aging.intervalMs))) {
    throw invalid('config.invalid_aging', 'aging.intervalMs', 'aging.intervalMs must be a finite number > 0');
  }
  if (!(Number.isInteger(aging.maxPriority) && aging.maxPriority >= 0)) {
    throw invalid('config.invalid_aging', 'aging.maxPriority', 'aging.maxPriority must be an integer >= 0');
  }
  const config: RouterConfig = {
    version: input.version ?? 'v0',
    queues,
    defaultCapacity: input.defaultCapacity ?? DEFAULT_CAPACITY,
    channelCosts,
    blockRules: input.blockRules ?? DEFAULT_BLOCK_RULES,
    aging,
    offerTimeoutMs,
    declineCooldownMs: input.declineCooldownMs ?? 30_000,
    ronaAfterMisses: input.ronaAfterMisses ?? 2,
    ringAllMax: input.ringAllMax ?? 20,
    auditTopK: input.auditTopK ?? 5,
  };
  if (!(Number.isInteger(config.defaultCapacity) && config.defaultCapacity > 0)) {
    throw invalid('config.invalid_capacity', 'defaultCapacity', 'defaultCapacity must be a positive integer');
  }
  if (!(config.declineCooldownMs >= 0)) throw invalid('config.invalid_cooldown', 'declineCooldownMs', 'must be >= 0');
  if (!(Number.isInteger(config.ronaAfterMisses) && config.ronaAfterMisses >= 0)) {
    throw invalid('config.invalid_rona', 'ronaAfterMisses', 'must be an integer >= 0');
  }
  if (!(Number.isInteger(config.ringAllMax) && config.ringAllMax >= 1)) {
    throw invalid('config.invalid_ring_all', 'ringAllMax', 'must be an integer >= 1');
  }
  if (!(Number.isInteger(config.auditTopK) && config.auditTopK >= 0)) {
    throw invalid('config.invalid_audit', 'auditTopK', 'must be an integer >= 0');
  }
  return config;
}
