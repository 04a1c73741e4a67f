import type { Agent } from '../domain/agent.js';
import type { Channel } from '../domain/channel.js';
import { isRealTimeChannel } from '../domain/channel.js';
import { effectiveRequirements } from '../domain/queue.js';
import type { SkillRequirement } from '../domain/skill.js';
import { meetsRequirements } from '../domain/skill.js';
import type { RouterConfigInput } from './config.js';
import { createRouterConfig } from './config.js';
import type { RouterEvent } from './events.js';
import { createMinHeap } from './min-heap.js';
import type { Prng } from './prng.js';
import { createPrng } from './prng.js';
import { createRouterState, nextDueAt, route } from './router.js';

/** Tasks arriving as a Poisson stream into one queue on one channel. */
export interface SimArrivalStream {
  readonly queueId: string;
  readonly channel: Channel;
  readonly ratePerHour: number;
  /** Drawn per task by weight; default priority 0. */
  readonly priorities?: readonly { readonly priority: number; readonly weight: number }[];
  readonly requiredSkills?: readonly SkillRequirement[];
  /** Handle time is exponential with this mean. */
  readonly meanHandleMs: number;
  /** Patience before abandoning is exponential with this mean; absent: nobody abandons. */
  readonly meanPatienceMs?: number;
}

export interface SimAgent {
  readonly agent: Agent;
  /** Offsets from the start; default logged in for the whole run. */
  readonly loginAtMs?: number;
  readonly logoutAtMs?: number;
  /** Time to answer an offer (constant); default 2 s. */
  readonly answerMs?: number;
  /** Wrap-up after voice/video work; default 0. */
  readonly wrapUpMs?: number;
  /** Chance of declining an offer; default 0. */
  readonly declineProbability?: number;
}

export interface SimScenario {
  readonly config: RouterConfigInput;
  readonly startAt: number;
  /** Arrivals happen in [startAt, startAt + durationMs); statistics cover tasks arriving then. */
  readonly durationMs: number;
  /** After arrivals stop, keep running this long so waiting tasks finish; default 2 h. */
  readonly drainMs?: number;
  readonly agents: readonly SimAgent[];
  readonly arrivals: readonly SimArrivalStream[];
}

export interface SimQueueReport {
  readonly queueId: string;
  readonly offered: number;
  readonly answered: number;
  readonly answeredWithinTarget: number;
  readonly abandoned: number;
  /** Left by max wait without overflow target, or arrived while closed. */
  readonly removed: number;
  readonly overflowedOut: number;
  readonly stillWaiting: number;
  /** answeredWithinTarget / (answered + abandoned), in %; the queue's target next to it. */
  readonly serviceLevelPercent: number;
  readonly serviceLevelTargetPercent: number;
  readonly averageSpeedOfAnswerMs: number;
  /** abandoned / (answered + abandoned), in %. */
  readonly abandonmentPercent: number;
  /** Work time over capacity time of the agents meeting the queue's base requirements, in %. */
  readonly occupancyPercent: number;
}

export interface SimAgentReport {
  readonly agentId: string;
  readonly handled: number;
  readonly occupancyPercent: number;
}

export interface SimReport {
  readonly queues: readonly SimQueueReport[];
  readonly agents: readonly SimAgentReport[];
  readonly occupancyPercent: number;
  /** Calls to `route`. */
  readonly routingSteps: number;
  readonly routeDecisions: number;
}

type SimEvent =
  | { readonly at: number; readonly seq: number; readonly kind: 'arrival'; readonly stream: number }
  | { readonly at: number; readonly seq: number; readonly kind: 'login' | 'logout'; readonly agent: number }
  | { readonly at: number; readonly seq: number; readonly kind: 'respond'; readonly offerId: string; readonly accept: boolean }
  | { readonly at: number; readonly seq: number; readonly kind: 'finish'; readonly agent: number; readonly taskId: string; readonly channel: Channel }
  | { readonly at: number; readonly seq: number; readonly kind: 'abandon'; readonly taskId: string };

interface SimTask {
  readonly stream: number;
  readonly arrivedAt: number;
  readonly inWindow: boolean;
  state: 'waiting' | 'answered' | 'gone';
}

interface AgentAcc {
  loggedIn: boolean;
  activeUnits: number;
  last: number;
  work: number;
  capacityTime: number;
  handled: number;
}

type SimEventDraft = SimEvent extends infer E ? (E extends SimEvent ? Omit<E, 'seq'> : never) : never;

type Draft<T> = { -readonly [K in keyof T]: T[K] };

/**
 * A discrete-event simulation of a contact-center day driven through the real
 * router: Poisson arrivals per stream, exponential handle times and patience,
 * agents with skills, shifts, answer delays, declines and wrap-up. Pure: the
 * scenario and the seed (or a PRNG) decide everything; the same inputs give
 * the same report.
 */
export function simulate(scenario: SimScenario, seed: number | Prng): SimReport {
  const rng = typeof seed === 'number' ? createPrng(seed) : seed;
  const config = createRouterConfig(scenario.config);
  const start = scenario.startAt;
  const end = start + scenario.durationMs;
  const stopAt = end + (scenario.drainMs ?? 2 * 3_600_000);
  let state = createRouterState(config, start);
  let seq = 0;
  const heap = createMinHeap<SimEvent>((a, b) => a.at - b.at || a.seq - b.seq);
  const push = (e: SimEventDraft): void => heap.push({ ...e, seq: seq++ } as SimEvent);

  const agents = scenario.agents;
  const agentIndex = new Map(agents.map((a, i) => [a.agent.id, i]));
  const acc: AgentAcc[] = agents.map(() => ({ loggedIn: false, activeUnits: 0, last: start, work: 0, capacityTime: 0, handled: 0 }));
  const capacityOf = agents.map((a) => a.agent.capacity ?? config.defaultCapacity);
  const advance = (i: number, now: number): void => {
    const x = acc[i]!;
    const t = Math.min(now, end);
    if (t > x.last) {
      if (x.loggedIn) x.capacityTime += capacityOf[i]! * (t - x.last);
      x.work += x.activeUnits * (t - x.last);
      x.last = t;
    }
  };

  const streams = scenario.arrivals;
  const counters = streams.map(() => 0);
  const queueIds = [...new Set(streams.map((s) => s.queueId))].sort();
  const stats = new Map<string, Draft<SimQueueReport>>();
  for (const q of config.queues.keys()) {
    stats.set(q, {
      queueId: q,
      offered: 0,
      answered: 0,
      answeredWithinTarget: 0,
      abandoned: 0,
      removed: 0,
      overflowedOut: 0,
      stillWaiting: 0,
      serviceLevelPercent: 0,
      serviceLevelTargetPercent: config.queues.get(q)!.serviceLevel.percent,
      averageSpeedOfAnswerMs: 0,
      abandonmentPercent: 0,
      occupancyPercent: 0,
    });
  }
  const totalAnswerWait = new Map<string, number>();
  const tasks = new Map<string, SimTask>();
  const pendingOffers = new Set<string>();
  const offerAgent = new Map<string, number>();
  let steps = 0;
  let routeDecisions = 0;

  const streamQueue = (t: SimTask): string => streams[t.stream]!.queueId;

  const send = (event: RouterEvent, now: number): void => {
    const r = route(state, event, now);
    state = r.state;
    steps++;
    for (const d of r.decisions) {
      switch (d.kind) {
        case 'route':
          routeDecisions++;
          for (const o of d.offers) {
            const ai = agentIndex.get(o.agentId)!;
            const sa = agents[ai]!;
            pendingOffers.add(o.id);
            offerAgent.set(o.id, ai);
            push({ at: now + (sa.answerMs ?? 2_000), kind: 'respond', offerId: o.id, accept: !rng.chance(sa.declineProbability ?? 0) });
          }
          break;
        case 'offer_cancelled':
          pendingOffers.delete(d.offerId);
          break;
        case 'task_assigned': {
          pendingOffers.delete(d.offerId);
          const t = tasks.get(d.taskId);
          const ai = offerAgent.get(d.offerId)!;
          if (t === undefined) break;
          t.state = 'answered';
          const stream = streams[t.stream]!;
          const units = agentUnits(ai, stream.channel);
          advance(ai, now);
          acc[ai]!.activeUnits += units;
          acc[ai]!.handled++;
          push({ at: now + rng.exponential(stream.meanHandleMs), kind: 'finish', agent: ai, taskId: d.taskId, channel: stream.channel });
          if (t.inWindow) {
            const q = stats.get(streamQueue(t))!;
            const wait = now - t.arrivedAt;
            q.answered++;
            if (wait <= config.queues.get(q.queueId)!.serviceLevel.withinMs) q.answeredWithinTarget++;
            totalAnswerWait.set(q.queueId, (totalAnswerWait.get(q.queueId) ?? 0) + wait);
          }
          break;
        }
        case 'task_removed': {
          const t = tasks.get(d.taskId);
          if (t === undefined) break;
          t.state = 'gone';
          if (t.inWindow) {
            const q = stats.get(streamQueue(t))!;
            if (d.reason === 'abandoned') q.abandoned++;
            else q.removed++;
          }
          break;
        }
        case 'task_overflowed': {
          const t = tasks.get(d.taskId);
          if (t !== undefined && t.inWindow) stats.get(d.fromQueueId)!.overflowedOut++;
          break;
        }
        default:
          break;
      }
    }
  };

  const agentUnits = (ai: number, channel: Channel): number =>
    agents[ai]!.agent.channelCosts?.[channel] ?? config.channelCosts[channel];

  for (let i = 0; i < agents.length; i++) {
    send({ type: 'agent_upserted', agent: agents[i]!.agent }, start);
    push({ at: start + (agents[i]!.loginAtMs ?? 0), kind: 'login', agent: i });
    const out = agents[i]!.logoutAtMs;
    if (out !== undefined) push({ at: start + out, kind: 'logout', agent: i });
  }
  for (let i = 0; i < streams.length; i++) {
    if (streams[i]!.ratePerHour > 0) push({ at: start + rng.exponential(3_600_000 / streams[i]!.ratePerHour), kind: 'arrival', stream: i });
  }

  for (;;) {
    const due = nextDueAt(state);
    const next = heap.peek();
    if (due !== undefined && (next === undefined || due <= next.at)) {
      if (due > stopAt) break;
      send({ type: 'tick' }, due);
      continue;
    }
    if (next === undefined || next.at > stopAt) break;
    heap.pop();
    const now = next.at;
    switch (next.kind) {
      case 'arrival': {
        const stream = streams[next.stream]!;
        const n = ++counters[next.stream]!;
        const id = `s${next.stream}-${n}`;
        const priority = stream.priorities === undefined ? 0 : stream.priorities[rng.weighted(stream.priorities.map((p) => p.weight))]!.priority;
        tasks.set(id, { stream: next.stream, arrivedAt: now, inWindow: true, state: 'waiting' });
        stats.get(stream.queueId)!.offered++;
        send(
          {
            type: 'task_enqueued',
            task: {
              id,
              tenantId: config.queues.get(stream.queueId)!.tenantId,
              channel: stream.channel,
              queueId: stream.queueId,
              priority,
              requiredSkills: stream.requiredSkills ?? [],
              enqueuedAt: now,
              interactionId: id,
            },
          },
          now,
        );
        if (stream.meanPatienceMs !== undefined) push({ at: now + rng.exponential(stream.meanPatienceMs), kind: 'abandon', taskId: id });
        const gap = rng.exponential(3_600_000 / stream.ratePerHour);
        if (now + gap < end) push({ at: now + gap, kind: 'arrival', stream: next.stream });
        break;
      }
      case 'login':
        advance(next.agent, now);
        acc[next.agent]!.loggedIn = true;
        send({ type: 'agent_presence_changed', agentId: agents[next.agent]!.agent.id, presence: { kind: 'ready' } }, now);
        break;
      case 'logout':
        advance(next.agent, now);
        acc[next.agent]!.loggedIn = false;
        send({ type: 'agent_presence_changed', agentId: agents[next.agent]!.agent.id, presence: { kind: 'offline' } }, now);
        break;
      case 'respond':
        if (pendingOffers.has(next.offerId)) {
          send({ type: next.accept ? 'offer_accepted' : 'offer_declined', offerId: next.offerId }, now);
        }
        break;
      case 'finish': {
        advance(next.agent, now);
        acc[next.agent]!.activeUnits -= agentUnits(next.agent, next.channel);
        const sa = agents[next.agent]!;
        send({ type: 'capacity_released', agentId: sa.agent.id, taskId: next.taskId }, now);
        const wrap = sa.wrapUpMs ?? 0;
        if (wrap > 0 && isRealTimeChannel(next.channel) && acc[next.agent]!.loggedIn) {
          send({ type: 'agent_presence_changed', agentId: sa.agent.id, presence: { kind: 'wrap_up', until: now + wrap } }, now);
        }
        break;
      }
      case 'abandon': {
        const t = tasks.get(next.taskId);
        if (t !== undefined && t.state === 'waiting') send({ type: 'task_abandoned', taskId: next.taskId }, now);
        break;
      }
    }
  }

  for (let i = 0; i < agents.length; i++) advance(i, end);
  for (const t of tasks.values()) if (t.state === 'waiting' && t.inWindow) stats.get(streamQueue(t))!.stillWaiting++;

  const agentReports: SimAgentReport[] = agents.map((a, i) => ({
    agentId: a.agent.id,
    handled: acc[i]!.handled,
    occupancyPercent: acc[i]!.capacityTime > 0 ? (100 * acc[i]!.work) / acc[i]!.capacityTime : 0,
  }));
  const pct = (num: number, den: number): number => (den > 0 ? (100 * num) / den : 0);
  const queues: SimQueueReport[] = [];
  for (const q of [...stats.values()].sort((x, y) => (x.queueId < y.queueId ? -1 : 1))) {
    if (!queueIds.includes(q.queueId) && q.offered === 0 && q.overflowedOut === 0) continue;
    const queue = config.queues.get(q.queueId)!;
    const base = effectiveRequirements(queue, [], 0);
    let work = 0;
    let cap = 0;
    for (let i = 0; i < agents.length; i++) {
      const ag = agents[i]!.agent;
      if (ag.tenantId !== queue.tenantId) continue;
      if (base.agentGroups.length > 0 && !base.agentGroups.some((g) => ag.agentGroups.includes(g))) continue;
      if (!meetsRequirements(new Map(ag.skills.map((k) => [k.skillId, k.level])), base.skills)) continue;
      work += acc[i]!.work;
      cap += acc[i]!.capacityTime;
    }
    const closed = q.answered + q.abandoned;
    q.serviceLevelPercent = pct(q.answeredWithinTarget, closed);
    q.averageSpeedOfAnswerMs = q.answered > 0 ? (totalAnswerWait.get(q.queueId) ?? 0) / q.answered : 0;
    q.abandonmentPercent = pct(q.abandoned, closed);
    q.occupancyPercent = pct(work, cap);
    queues.push(q);
  }
  const work = acc.reduce((sum, x) => sum + x.work, 0);
  const cap = acc.reduce((sum, x) => sum + x.capacityTime, 0);
  return { queues, agents: agentReports, occupancyPercent: pct(work, cap), routingSteps: steps, routeDecisions };
}
