import type { Agent } from '../domain/agent.js';
import type { Channel } from '../domain/channel.js';
import { CHANNELS, channelIndex } from '../domain/channel.js';
import { resolveCosts } from '../domain/capacity.js';
import type { Offer } from '../domain/offer.js';
import type { Presence } from '../domain/presence.js';
import type { Queue, RelaxationStep } from '../domain/queue.js';
import { effectiveRequirements } from '../domain/queue.js';
import type { RouteTrigger } from '../domain/route-decision.js';
import type { SkillRequirement } from '../domain/skill.js';
import { MAX_SKILL_LEVEL, requirementSignature } from '../domain/skill.js';
import type { Task } from '../domain/task.js';
import type { Bits, BitsetPool } from './bitset.js';
import { clearBit, createBitsetPool, hasBit, setBit } from './bitset.js';
import type { RouterConfig } from './config.js';
import type { RouterDecision } from './decisions.js';
import type { MinHeap } from './min-heap.js';
import { createMinHeap } from './min-heap.js';
import type { SortedList } from './sorted-list.js';
import { createSortedList } from './sorted-list.js';

/*
 * Internal mutable state behind the pure `route` interface.
 *
 * Trade-off: copying 10k tasks and 5k agents per event would cost far more
 * than the 1 ms budget, so the reducer owns one mutable state object, updates
 * its indexes in place and returns the same object. The API stays
 * deterministic (same config, snapshot and events give the same decisions:
 * every choice is a minimum under a total order ending in ids, never an
 * iteration order), but a state value is linear: after `route(s, ...)` the
 * caller must use the returned state and never the old reference, and two
 * callers must not share one. `exportSnapshot`/`restoreRouterState` make an
 * independent copy (what-if branches, standby rebuild).
 *
 * Indexes:
 * - tasks waiting are bucketed by (queue, channel, relaxation step, task skill
 *   signature); a bucket is a sorted list by rank then id, so its head is its
 *   best task; all tasks of a bucket need exactly the same of an agent;
 * - each bucket holds the bitset of agents statically eligible for it (tenant,
 *   channel enabled, groups, skills), each agent the list of its buckets;
 * - per channel, the bitset of agents available now (ready, room, no
 *   blocking rule);
 * - a task picks agents by AND-ing its bucket's bitset with the channel's
 *   availability bitset (N/32 words); an agent picks a task by looking at the
 *   heads of its buckets; neither scans all tasks or all agents.
 */

declare const routerStateBrand: unique symbol;

/** Opaque router state: create with `createRouterState` or `restoreRouterState`, advance with `route`. */
export interface RouterState {
  readonly [routerStateBrand]: true;
}

export type TimerKind = 0 | 1 | 2 | 3 | 4 | 5;
export const TIMER_OFFER: TimerKind = 0;
export const TIMER_WRAP_UP: TimerKind = 1;
export const TIMER_PREFERENCE: TimerKind = 2;
export const TIMER_EXCLUSION: TimerKind = 3;
export const TIMER_RELAX: TimerKind = 4;
export const TIMER_MAX_WAIT: TimerKind = 5;

/**
 * Timers are never removed; each handler checks that its subject is still the
 * same record (`ref`: ids can be reused after a task leaves) in the same
 * generation (`gen`: bumped when a task changes queue). Ordering uses only
 * (at, kind, id, gen), so it does not depend on object identity.
 */
export interface Timer {
  readonly at: number;
  readonly kind: TimerKind;
  readonly id: string;
  readonly gen: number;
  readonly ref: TaskRt | OfferRt | AgentRt;
}

export interface QueueRt {
  readonly queue: Queue;
  readonly steps: readonly RelaxationStep[];
  readonly buckets: Bucket[];
}

export interface Bucket {
  readonly key: string;
  readonly queue: QueueRt;
  readonly tenantId: string;
  readonly channel: Channel;
  readonly chIdx: number;
  readonly chBit: number;
  readonly step: number;
  readonly reqs: readonly SkillRequirement[];
  readonly groups: readonly string[];
  readonly groupSet: ReadonlySet<string>;
  /** Agents statically eligible (tenant, channel enabled, groups, skills). */
  readonly eligible: Bits;
  readonly tasks: SortedList<TaskRt>;
  /** Tasks in this bucket with at least one exclusion: the head may not suit every agent. */
  excludedCount: number;
}

export interface ActiveWork {
  readonly taskId: string;
  readonly channel: Channel;
  readonly units: number;
  readonly offerId: string;
}

export interface OfferRt {
  readonly offer: Offer;
  readonly agent: AgentRt;
  readonly task: TaskRt;
}

export interface AgentRt {
  readonly ord: number;
  readonly id: string;
  profile: Agent;
  tenantId: string;
  levels: Map<string, number>;
  groups: Set<string>;
  channelsMask: number;
  costs: Record<Channel, number>;
  capacity: number;
  presence: Presence;
  /** Reserved plus accepted units. */
  load: number;
  /** Reserved plus accepted items per channel (for blocking rules). */
  items: Record<Channel, number>;
  idleSince: number;
  misses: number;
  pending: Map<string, OfferRt>;
  active: Map<string, ActiveWork>;
  buckets: Bucket[];
  /** Bit per channel index: available for one more item of that channel now. */
  availMask: number;
}

export type TaskStatus = 'queued' | 'offered' | 'assigned';

export interface TaskRt {
  readonly task: Task;
  readonly id: string;
  readonly rank: number;
  readonly chIdx: number;
  readonly sig: string;
  queue: QueueRt;
  queueEnteredAt: number;
  step: number;
  status: TaskStatus;
  bucket: Bucket | undefined;
  inPreferredList: boolean;
  preferenceDropped: boolean;
  /** agentId -> excluded until (epoch ms), after a decline or a miss. */
  excluded: Map<string, number> | undefined;
  attempt: number;
  offers: OfferRt[];
  assignedAgentId: string | undefined;
  /** Bumped when the task changes queue, so stale queue timers are ignored. */
  gen: number;
}

export interface StateImpl {
  readonly config: RouterConfig;
  now: number;
  readonly queues: Map<string, QueueRt>;
  readonly agents: Map<string, AgentRt>;
  readonly byOrd: AgentRt[];
  readonly tasks: Map<string, TaskRt>;
  readonly offers: Map<string, OfferRt>;
  readonly buckets: Map<string, Bucket>;
  readonly bucketList: Bucket[];
  readonly pool: BitsetPool;
  readonly tenantBits: Map<string, Bits>;
  readonly groupBits: Map<string, Bits>;
  readonly skillBits: Map<string, Bits[]>;
  readonly enabledBits: readonly Bits[];
  readonly availBits: readonly Bits[];
  readonly loggedIn: Bits;
  readonly preferred: Map<string, SortedList<TaskRt>>;
  readonly timers: MinHeap<Timer>;
  readonly rrCursor: Map<string, string>;
  /** Blocked-channel mask per channel index of work in hand (from blockRules). */
  readonly blockMaskWhile: readonly number[];
  dirty: boolean;
  out: RouterDecision[];
  readonly touchedAgents: Set<AgentRt>;
  readonly touchedTasks: Map<TaskRt, RouteTrigger>;
}

export const impl = (s: RouterState): StateImpl => s as unknown as StateImpl;
export const opaque = (s: StateImpl): RouterState => s as unknown as RouterState;

export const idCmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Serving order of waiting tasks: rank, then id. */
export const taskCmp = (a: TaskRt, b: TaskRt): number => a.rank - b.rank || idCmp(a.id, b.id);

const timerCmp = (a: Timer, b: Timer): number => a.at - b.at || a.kind - b.kind || idCmp(a.id, b.id) || a.gen - b.gen;

/** Rank: lower goes first. See AgingConfig. */
export const rankOf = (config: RouterConfig, task: Task): number =>
  task.enqueuedAt - task.priority * config.aging.intervalMs;

export function createStateImpl(config: RouterConfig, now: number): StateImpl {
  const pool = createBitsetPool();
  const blockMaskWhile = CHANNELS.map((c) => {
    let mask = 0;
    for (const rule of config.blockRules) {
      if (rule.whileActive.includes(c)) for (const b of rule.block) mask |= 1 << channelIndex(b);
    }
    return mask;
  });
  const s: StateImpl = {
    config,
    now,
    queues: new Map(),
    agents: new Map(),
    byOrd: [],
    tasks: new Map(),
    offers: new Map(),
    buckets: new Map(),
    bucketList: [],
    pool,
    tenantBits: new Map(),
    groupBits: new Map(),
    skillBits: new Map(),
    enabledBits: CHANNELS.map(() => pool.create()),
    availBits: CHANNELS.map(() => pool.create()),
    loggedIn: pool.create(),
    preferred: new Map(),
    timers: createMinHeap(timerCmp),
    rrCursor: new Map(),
    blockMaskWhile,
    dirty: false,
    out: [],
    touchedAgents: new Set(),
    touchedTasks: new Map(),
  };
  for (const q of config.queues.values()) {
    s.queues.set(q.id, { queue: q, steps: q.relaxation ?? [], buckets: [] });
  }
  return s;
}

export function pushTimer(s: StateImpl, at: number, kind: TimerKind, ref: TaskRt | OfferRt | AgentRt, gen = 0): void {
  const id = 'offer' in ref ? ref.offer.id : ref.id;
  s.timers.push({ at, kind, id, gen, ref });
}

// ---------------------------------------------------------------- agents

const tenantKey = (tenantId: string, key: string): string => `${tenantId}\u0001${key}`;

function bitsFor(s: StateImpl, map: Map<string, Bits>, key: string): Bits {
  let b = map.get(key);
  if (b === undefined) {
    b = s.pool.create();
    map.set(key, b);
  }
  return b;
}

function skillLevelsBits(s: StateImpl, tenantId: string, skillId: string): Bits[] {
  const key = tenantKey(tenantId, skillId);
  let arr = s.skillBits.get(key);
  if (arr === undefined) {
    arr = [];
    for (let l = 0; l <= MAX_SKILL_LEVEL; l++) arr.push(s.pool.create());
    s.skillBits.set(key, arr);
  }
  return arr;
}

function setProfileBits(s: StateImpl, a: AgentRt, on: boolean): void {
  const op = on ? setBit : clearBit;
  op(bitsFor(s, s.tenantBits, a.tenantId), a.ord);
  for (const g of a.groups) op(bitsFor(s, s.groupBits, tenantKey(a.tenantId, g)), a.ord);
  for (const [skill, level] of a.levels) {
    const arr = skillLevelsBits(s, a.tenantId, skill);
    for (let l = 1; l <= level; l++) op(arr[l]!, a.ord);
  }
  for (let i = 0; i < CHANNELS.length; i++) if (a.channelsMask & (1 << i)) op(s.enabledBits[i]!, a.ord);
}

/** Static eligibility of an agent for a bucket, from the agent's own record (not from bitsets). */
export function staticEligible(a: AgentRt, b: Bucket): boolean {
  if (a.tenantId !== b.tenantId || (a.channelsMask & b.chBit) === 0) return false;
  if (b.groups.length > 0) {
    let any = false;
    for (const g of b.groups) {
      if (a.groups.has(g)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  for (const r of b.reqs) {
    const level = a.levels.get(r.skillId);
    if (level === undefined || level < r.minLevel) return false;
  }
  return true;
}

function applyProfile(s: StateImpl, a: AgentRt, agent: Agent): void {
  a.profile = agent;
  a.tenantId = agent.tenantId;
  a.levels = new Map(agent.skills.map((k) => [k.skillId, k.level]));
  a.groups = new Set(agent.agentGroups);
  let mask = 0;
  for (const c of agent.channels ?? CHANNELS) mask |= 1 << channelIndex(c);
  a.channelsMask = mask;
  a.costs = resolveCosts(s.config.channelCosts, agent.channelCosts);
  a.capacity = agent.capacity ?? s.config.defaultCapacity;
}

/** Adds or updates an agent's profile and every index that depends on it. */
export function upsertAgentProfile(s: StateImpl, agent: Agent): AgentRt {
  let a = s.agents.get(agent.id);
  if (a === undefined) {
    const ord = s.byOrd.length;
    s.pool.ensure(ord);
    a = {
      ord,
      id: agent.id,
      profile: agent,
      tenantId: agent.tenantId,
      levels: new Map(),
      groups: new Set(),
      channelsMask: 0,
      costs: resolveCosts(s.config.channelCosts, undefined),
      capacity: s.config.defaultCapacity,
      presence: { kind: 'offline' },
      load: 0,
      items: { voice: 0, video: 0, chat: 0, wechat: 0, sms: 0, email: 0 },
      idleSince: s.now,
      misses: 0,
      pending: new Map(),
      active: new Map(),
      buckets: [],
      availMask: 0,
    };
    s.agents.set(agent.id, a);
    s.byOrd.push(a);
  } else {
    setProfileBits(s, a, false);
  }
  applyProfile(s, a, agent);
  setProfileBits(s, a, true);
  a.buckets = [];
  for (const b of s.bucketList) {
    if (staticEligible(a, b)) {
      setBit(b.eligible, a.ord);
      a.buckets.push(b);
    } else {
      clearBit(b.eligible, a.ord);
    }
  }
  refreshAvailability(s, a);
  return a;
}

/** Which channels the agent can take one more item of, now. */
export function computeAvailMask(s: StateImpl, a: AgentRt): number {
  if (a.presence.kind !== 'ready') return 0;
  let blocked = 0;
  for (let i = 0; i < CHANNELS.length; i++) if (a.items[CHANNELS[i]!] > 0) blocked |= s.blockMaskWhile[i]!;
  let mask = 0;
  for (let i = 0; i < CHANNELS.length; i++) {
    const bit = 1 << i;
    if ((a.channelsMask & bit) === 0 || (blocked & bit) !== 0) continue;
    if (a.load + a.costs[CHANNELS[i]!] <= a.capacity) mask |= bit;
  }
  return mask;
}

/** Re-derives the agent's availability bits; an agent that gains room is marked for matching. */
export function refreshAvailability(s: StateImpl, a: AgentRt): void {
  const next = computeAvailMask(s, a);
  const prev = a.availMask;
  if (next === prev) return;
  const diff = next ^ prev;
  for (let i = 0; i < CHANNELS.length; i++) {
    const bit = 1 << i;
    if ((diff & bit) === 0) continue;
    if (next & bit) setBit(s.availBits[i]!, a.ord);
    else clearBit(s.availBits[i]!, a.ord);
  }
  a.availMask = next;
  if ((next & ~prev) !== 0) s.touchedAgents.add(a);
}

export const isLoggedIn = (s: StateImpl, a: AgentRt): boolean => hasBit(s.loggedIn, a.ord);

// ---------------------------------------------------------------- buckets and placement

function createBucket(s: StateImpl, key: string, q: QueueRt, t: TaskRt): Bucket {
  const eff = effectiveRequirements(q.queue, t.task.requiredSkills, t.step);
  const b: Bucket = {
    key,
    queue: q,
    tenantId: q.queue.tenantId,
    channel: t.task.channel,
    chIdx: t.chIdx,
    chBit: 1 << t.chIdx,
    step: t.step,
    reqs: eff.skills,
    groups: eff.agentGroups,
    groupSet: new Set(eff.agentGroups),
    eligible: s.pool.create(),
    tasks: createSortedList(taskCmp),
    excludedCount: 0,
  };
  // Static eligibility by bitset algebra, then each agent learns of its new bucket.
  const words = s.pool.words;
  const acc = b.eligible.w;
  const tenant = s.tenantBits.get(b.tenantId);
  if (tenant !== undefined) {
    acc.set(tenant.w);
    const enabled = s.enabledBits[b.chIdx]!.w;
    for (let i = 0; i < words; i++) acc[i]! &= enabled[i]!;
    for (const r of b.reqs) {
      const lvl = s.skillBits.get(tenantKey(b.tenantId, r.skillId))?.[r.minLevel]?.w;
      if (lvl === undefined) {
        acc.fill(0);
        break;
      }
      for (let i = 0; i < words; i++) acc[i]! &= lvl[i]!;
    }
    if (b.groups.length > 0) {
      const union = new Uint32Array(words);
      for (const g of b.groups) {
        const gw = s.groupBits.get(tenantKey(b.tenantId, g))?.w;
        if (gw !== undefined) for (let i = 0; i < words; i++) union[i]! |= gw[i]!;
      }
      for (let i = 0; i < words; i++) acc[i]! &= union[i]!;
    }
    for (let i = 0; i < words; i++) {
      let x = acc[i]!;
      while (x !== 0) {
        const low = x & -x;
        s.byOrd[(i << 5) + 31 - Math.clz32(low)]!.buckets.push(b);
        x ^= low;
      }
    }
  }
  s.buckets.set(key, b);
  s.bucketList.push(b);
  q.buckets.push(b);
  return b;
}

export function bucketFor(s: StateImpl, t: TaskRt): Bucket {
  const key = `${t.queue.queue.id}\u0000${t.chIdx}\u0000${t.step}\u0000${t.sig}`;
  return s.buckets.get(key) ?? createBucket(s, key, t.queue, t);
}

export function preferenceActive(s: StateImpl, t: TaskRt): boolean {
  const pid = t.task.preferredAgentId;
  if (pid === undefined || t.preferenceDropped || !(t.task.preferredUntil! > s.now)) return false;
  const a = s.agents.get(pid);
  return a === undefined || a.tenantId === t.task.tenantId;
}

export const hasExclusions = (t: TaskRt): boolean => t.excluded !== undefined && t.excluded.size > 0;

export function isExcluded(s: StateImpl, t: TaskRt, agentId: string): boolean {
  if (t.excluded === undefined) return false;
  const until = t.excluded.get(agentId);
  return until !== undefined && until > s.now;
}

/** Puts a waiting task where agents will find it: its preferred agent's list or its bucket. */
export function placeTask(s: StateImpl, t: TaskRt): void {
  t.status = 'queued';
  if (preferenceActive(s, t)) {
    const pid = t.task.preferredAgentId!;
    let list = s.preferred.get(pid);
    if (list === undefined) {
      list = createSortedList(taskCmp);
      s.preferred.set(pid, list);
    }
    list.add(t);
    t.inPreferredList = true;
    return;
  }
  const b = bucketFor(s, t);
  b.tasks.add(t);
  if (hasExclusions(t)) b.excludedCount++;
  t.bucket = b;
}

export function unplaceTask(s: StateImpl, t: TaskRt): void {
  if (t.inPreferredList) {
    const pid = t.task.preferredAgentId!;
    const list = s.preferred.get(pid);
    if (list !== undefined) {
      list.delete(t);
      if (list.size === 0) s.preferred.delete(pid);
    }
    t.inPreferredList = false;
  }
  const b = t.bucket;
  if (b !== undefined) {
    b.tasks.delete(t);
    if (hasExclusions(t)) b.excludedCount--;
    t.bucket = undefined;
  }
}

export function newTaskRt(s: StateImpl, task: Task, q: QueueRt, queueEnteredAt: number): TaskRt {
  return {
    task,
    id: task.id,
    rank: rankOf(s.config, task),
    chIdx: channelIndex(task.channel),
    sig: requirementSignature(task.requiredSkills),
    queue: q,
    queueEnteredAt,
    step: 0,
    status: 'queued',
    bucket: undefined,
    inPreferredList: false,
    preferenceDropped: false,
    excluded: undefined,
    attempt: 0,
    offers: [],
    assignedAgentId: undefined,
    gen: 0,
  };
}

export function scheduleQueueTimers(s: StateImpl, t: TaskRt): void {
  const steps = t.queue.steps;
  if (t.step < steps.length) pushTimer(s, t.queueEnteredAt + steps[t.step]!.afterMs, TIMER_RELAX, t, t.gen);
  const maxWait = t.queue.queue.maxWaitMs;
  if (maxWait !== undefined) pushTimer(s, t.queueEnteredAt + maxWait, TIMER_MAX_WAIT, t, t.gen);
}
