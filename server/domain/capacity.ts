import type { Channel } from './channel.js';
import { CHANNELS } from './channel.js';

/** Every agent has 100 units unless configured otherwise. */
export const DEFAULT_CAPACITY = 100;

/** Units one work item of each channel uses (ARCHITECTURE.md §6). */
export const DEFAULT_CHANNEL_COSTS: Readonly<Record<Channel, number>> = {
  voice: 100,
  video: 100,
  chat: 25,
  wechat: 25,
  sms: 20,
  email: 10,
};

/**
 * "While the agent has work of a `whileActive` channel (offered or in hand),
 * offer nothing of a `block` channel." Matters when costs leave room, e.g. a
 * voice cost lowered to 60.
 */
export interface ChannelBlockRule {
  readonly id: string;
  readonly whileActive: readonly Channel[];
  readonly block: readonly Channel[];
}

export const DEFAULT_BLOCK_RULES: readonly ChannelBlockRule[] = [
  { id: 'no-chat-during-call', whileActive: ['voice', 'video'], block: ['chat', 'wechat'] },
];

/** What an agent can carry: total units, per-channel costs and blocking rules. */
export interface CapacityPolicy {
  readonly capacity: number;
  readonly costs: Readonly<Record<Channel, number>>;
  readonly rules: readonly ChannelBlockRule[];
}

/** What an agent carries now: reserved plus accepted units, and item counts per channel. */
export interface Workload {
  readonly loadUnits: number;
  readonly items: Readonly<Record<Channel, number>>;
}

export const emptyWorkload = (): { loadUnits: number; items: Record<Channel, number> } => ({
  loadUnits: 0,
  items: { voice: 0, video: 0, chat: 0, wechat: 0, sms: 0, email: 0 },
});

export type CapacityVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: 'capacity.full' }
  | { readonly ok: false; readonly code: 'capacity.blocked_by_rule'; readonly ruleId: string };

/** Whether one more item of `channel` fits, and if not, why. */
export function checkCapacity(policy: CapacityPolicy, work: Workload, channel: Channel): CapacityVerdict {
  if (work.loadUnits + policy.costs[channel] > policy.capacity) return { ok: false, code: 'capacity.full' };
  for (const rule of policy.rules) {
    if (!rule.block.includes(channel)) continue;
    for (const active of rule.whileActive) {
      if (work.items[active] > 0) return { ok: false, code: 'capacity.blocked_by_rule', ruleId: rule.id };
    }
  }
  return { ok: true };
}

/** Per-channel costs with overrides applied. */
export function resolveCosts(
  defaults: Readonly<Record<Channel, number>>,
  overrides: Readonly<Partial<Record<Channel, number>>> | undefined,
): Record<Channel, number> {
  const costs = { ...defaults };
  if (overrides !== undefined) for (const c of CHANNELS) if (overrides[c] !== undefined) costs[c] = overrides[c];
  return costs;
}
