import type { Agent } from '../../../../server/domain/agent.js';
import type { Channel } from '../../../../server/domain/channel.js';
import { CHANNELS } from '../../../../server/domain/channel.js';
import type { Presence } from '../../../../server/domain/presence.js';
import type { Queue, RelaxationStep, RoutingStrategy } from '../../../../server/domain/queue.js';
import type { SkillRequirement } from '../../../../server/domain/skill.js';
import type { Task } from '../../../../server/domain/task.js';
import type { RouterConfig, RouterConfigInput } from '../../../../server/acd/config.js';
import { createRouterConfig } from '../../../../server/acd/config.js';
import type { RouterDecision } from '../../../../server/acd/decisions.js';
import type { RouterEvent, TimedEvent } from '../../../../server/acd/events.js';
import type { Prng } from '../../../../server/acd/prng.js';
import { createPrng } from '../../../../server/acd/prng.js';
import type { RecordedDecision } from '../../../../server/acd/replay.js';
import { createRouterState, nextDueAt, route } from '../../../../server/acd/router.js';
import type { RouterSnapshot } from '../../../../server/acd/snapshot.js';
import { exportSnapshot } from '../../../../server/acd/snapshot.js';
import type { RouterState } from '../../../../server/acd/state.js';
import { Shadow } from './shadow.js';

/** Rewrites what the router said before the checker sees it: used to prove the checker catches faults. */
export type Mutate = (decisions: RouterDecision[], event: RouterEvent, shadow: Shadow) => RouterDecision[];

/**
 * A router whose every call is checked by a {@link Shadow} and recorded for
 * replay. Before an event it sends a `tick` when a timer is due, so timer
 * effects and the event's own effects arrive in separate calls.
 */
export class CheckedRouter {
  state: RouterState;
  readonly shadow: Shadow;
  readonly events: TimedEvent[] = [];
  readonly decisions: RecordedDecision[] = [];
  calls = 0;

  constructor(
    readonly config: RouterConfig,
    start: number,
    private readonly mutate?: Mutate,
  ) {
    this.state = createRouterState(config, start);
    this.shadow = new Shadow(config);
  }

  send(event: RouterEvent, now: number): RouterDecision[] {
    if (event.type !== 'tick') {
      const due = nextDueAt(this.state);
      if (due !== undefined && due <= now) this.call({ type: 'tick' }, now);
    }
    return this.call(event, now);
  }

  private call(event: RouterEvent, now: number): RouterDecision[] {
    const index = this.events.length;
    this.events.push({ at: now, event });
    this.shadow.beforeEvent(event, now);
    const r = route(this.state, event, now);
    this.state = r.state;
    this.calls++;
    let ds = [...r.decisions];
    for (const d of ds) this.decisions.push({ eventIndex: index, at: now, decision: d });
    if (this.mutate !== undefined) ds = this.mutate(ds, event, this.shadow);
    this.shadow.afterDecisions(event, ds, now);
    return ds;
  }
}

const SKILLS = ['s1', 's2', 's3', 's4', 's5'];
const GROUPS = ['g1', 'g2', 'g3'];
const STRATEGIES: RoutingStrategy[] = ['longest_idle', 'least_occupied', 'best_skill_match', 'round_robin', 'ring_all'];

function randomQueues(rng: Prng, tenant: string, count: number, prefix: string): Queue[] {
  const ids = Array.from({ length: count }, (_, i) => `${prefix}${i}`);
  return ids.map((id) => {
    const skills: SkillRequirement[] = [];
    for (const s of SKILLS) if (rng.chance(0.2) && skills.length < 2) skills.push({ skillId: s, minLevel: 1 + rng.int(6), ...(rng.chance(0.3) ? { weight: 1 + rng.int(3) } : {}) });
    const groups = rng.chance(0.5) ? [] : GROUPS.filter(() => rng.chance(0.5));
    const relaxation: RelaxationStep[] = [];
    let after = 0;
    for (let k = rng.int(3); k > 0; k--) {
      after += 5_000 + rng.int(40_000);
      relaxation.push({ afterMs: after, minLevelDelta: rng.int(4), ...(rng.chance(0.5) ? { addAgentGroups: [rng.pick(GROUPS)] } : {}) });
    }
    const maxWaitMs = rng.chance(0.6) ? 60_000 + rng.int(340_000) : undefined;
    const others = ids.filter((x) => x !== id);
    const overflow = maxWaitMs !== undefined && others.length > 0 && rng.chance(0.5) ? rng.pick(others) : undefined;
    return {
      id,
      tenantId: tenant,
      strategy: rng.pick(STRATEGIES),
      skills,
      agentGroups: groups,
      serviceLevel: { percent: 80, withinMs: 20_000 },
      ...(relaxation.length > 0 ? { relaxation } : {}),
      ...(maxWaitMs !== undefined ? { maxWaitMs } : {}),
      ...(overflow !== undefined ? { overflowQueueId: overflow } : {}),
      ...(rng.chance(0.3) ? { offerTimeoutMs: 3_000 + rng.int(12_000) } : {}),
    };
  });
}

function randomAgent(rng: Prng, id: string, tenant: string): Agent {
  const skills = SKILLS.filter(() => rng.chance(0.6)).map((s) => ({ skillId: s, level: 1 + rng.int(10) }));
  return {
    id,
    tenantId: tenant,
    skills,
    agentGroups: GROUPS.filter(() => rng.chance(0.5)),
    ...(rng.chance(0.3) ? { capacity: rng.pick([60, 150, 200]) } : {}),
    ...(rng.chance(0.25) ? { channelCosts: rng.chance(0.5) ? { voice: 60 } : { chat: 40, email: 15 } } : {}),
    ...(rng.chance(0.2) ? { channels: CHANNELS.filter(() => rng.chance(0.6)) } : {}),
  };
}

export interface World {
  readonly configInput: RouterConfigInput;
  readonly agents: readonly Agent[];
}

export function randomWorld(rng: Prng): World {
  const queues = [...randomQueues(rng, 't1', 2 + rng.int(3), 'q'), ...randomQueues(rng, 't2', 1, 'r')];
  const agents: Agent[] = [];
  const n = 3 + rng.int(7);
  for (let i = 0; i < n; i++) agents.push(randomAgent(rng, `a${i}`, 't1'));
  agents.push(randomAgent(rng, 'b0', 't2'));
  const timeouts: Partial<Record<Channel, number>> = {};
  for (const c of CHANNELS) timeouts[c] = 3_000 + rng.int(20_000);
  return {
    configInput: {
      version: `w${rng.int(1000)}`,
      queues,
      aging: { intervalMs: rng.pick([500, 2_000, 10_000]), maxPriority: rng.pick([0, 3, 10]) },
      declineCooldownMs: rng.pick([0, 5_000, 20_000]),
      ronaAfterMisses: rng.pick([0, 1, 3]),
      ringAllMax: 1 + rng.int(4),
      offerTimeoutMs: timeouts,
      auditTopK: rng.int(4),
    },
    agents,
  };
}

export interface RunResult {
  readonly config: RouterConfig;
  readonly router: CheckedRouter;
  readonly snapshot: { readonly index: number; readonly snap: RouterSnapshot } | undefined;
}

const T0 = 1_736_154_000_000;

/**
 * Drives a random world for `steps` router calls: arrivals (some with an
 * earlier enqueue time or a preferred agent), answers, declines, misses,
 * releases, presence changes (valid and not), abandonments, profile changes
 * and bogus events. Throws PropertyViolation on the first broken property.
 */
export function runRandom(seed: number, steps: number, options: { snapshotAt?: number; mutate?: Mutate } = {}): RunResult {
  const rng = createPrng(seed);
  const world = randomWorld(rng);
  const config = createRouterConfig(world.configInput);
  const r = new CheckedRouter(config, T0, options.mutate);
  const sh = r.shadow;
  let now = T0;
  let n = 0;
  let snapshot: RunResult['snapshot'];
  const queues = [...config.queues.values()];
  const agentIds = world.agents.map((a) => a.id);

  for (const a of world.agents) r.send({ type: 'agent_upserted', agent: a }, now);

  while (r.calls < steps) {
    if (options.snapshotAt !== undefined && snapshot === undefined && r.calls >= options.snapshotAt) {
      snapshot = { index: r.events.length, snap: exportSnapshot(r.state) };
    }
    now += rng.chance(0.2) ? 0 : Math.floor(rng.exponential(800));
    const roll = rng.next();
    let ev: RouterEvent = { type: 'tick' };
    if (roll < 0.25) {
      let live = 0;
      for (const t of sh.tasks.values()) if (t.state !== 'assigned') live++;
      if (live < 25) {
        const q = rng.pick(queues);
        const id = rng.chance(0.01) && n > 0 ? `t${rng.int(n)}` : `t${n++}`;
        const task: Task = {
          id,
          tenantId: rng.chance(0.03) ? 't2' : q.tenantId,
          channel: rng.pick(CHANNELS),
          queueId: rng.chance(0.01) ? 'nowhere' : q.id,
          priority: rng.chance(0.01) ? 99 : rng.int(config.aging.maxPriority + 1),
          requiredSkills: rng.chance(0.3) ? [{ skillId: rng.pick(SKILLS), minLevel: 1 + rng.int(4) }] : [],
          enqueuedAt: rng.chance(0.2) ? now - rng.int(60_000) : now,
          interactionId: `i${id}`,
          ...(rng.chance(0.1) ? { preferredAgentId: rng.pick(agentIds), preferredUntil: now - 1_000 + rng.int(30_000) } : {}),
        };
        ev = { type: 'task_enqueued', task };
      }
    } else if (roll < 0.45) {
      const offers = [...sh.offers.keys()];
      if (offers.length > 0) {
        const offerId = rng.chance(0.02) ? 'stale#1@x' : rng.pick(offers);
        const r2 = rng.next();
        ev = r2 < 0.8 ? { type: 'offer_accepted', offerId } : r2 < 0.95 ? { type: 'offer_declined', offerId } : { type: 'offer_timed_out', offerId };
      }
    } else if (roll < 0.6) {
      const work: [string, string][] = [];
      for (const [id, a] of sh.agents) for (const taskId of a.active.keys()) work.push([id, taskId]);
      if (work.length > 0) {
        const [agentId, taskId] = rng.pick(work);
        ev = { type: 'capacity_released', agentId, taskId: rng.chance(0.02) ? 'nope' : taskId };
      }
    } else if (roll < 0.72) {
      const agentId = rng.chance(0.01) ? 'ghost' : rng.pick(agentIds);
      const k = rng.next();
      const presence: Presence =
        k < 0.55
          ? { kind: 'ready' }
          : k < 0.67
            ? { kind: 'not_ready', reason: rng.pick(['break', 'lunch', 'training']) }
            : k < 0.77
              ? { kind: 'busy' }
              : k < 0.9
                ? { kind: 'wrap_up', until: now + rng.int(15_000) }
                : { kind: 'offline' };
      ev = { type: 'agent_presence_changed', agentId, presence };
    } else if (roll < 0.76) {
      const ids = [...sh.tasks.keys()];
      if (ids.length > 0) {
        const taskId = rng.chance(0.05) ? 'nope' : rng.pick(ids);
        ev = rng.chance(0.5) ? { type: 'task_abandoned', taskId } : { type: 'task_cancelled', taskId };
      }
    } else if (roll < 0.77) {
      const id = rng.pick(agentIds);
      const tenant = world.agents.find((a) => a.id === id)!.tenantId;
      ev = { type: 'agent_upserted', agent: randomAgent(rng, id, rng.chance(0.05) ? 't2' : tenant) };
    }
    r.send(ev, now);
  }
  return { config, router: r, snapshot };
}
