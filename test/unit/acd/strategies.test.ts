import t from 'tap';
import type { Agent } from '../../../server/domain/agent.js';
import type { Channel } from '../../../server/domain/channel.js';
import type { Queue, RoutingStrategy } from '../../../server/domain/queue.js';
import type { Harness } from './helpers/fixtures.js';
import { T0, agent, harness, pairs, queue, routes, task } from './helpers/fixtures.js';

interface AgentSetup {
  readonly agent: Agent;
  /** ms after T0 the agent becomes ready (sets idle time). */
  readonly readyAt: number;
  /** Chats the agent already has in hand when the task arrives. */
  readonly chatsInHand?: number;
}

interface Row {
  readonly name: string;
  readonly strategy: RoutingStrategy;
  readonly queue?: Partial<Queue>;
  readonly agents: readonly AgentSetup[];
  readonly channel: Channel;
  readonly taskSkills?: readonly { skillId: string; minLevel: number }[];
  /** Expected agent ids of the route decision, in offer order. */
  readonly expect: readonly string[];
}

/** Puts chats in an agent's hands through the router itself (preferred-agent tasks on a side queue). */
function giveChats(h: Harness, agentId: string, n: number): void {
  for (let i = 0; i < n; i++) {
    const out = h.enqueue(task(`pre-${agentId}-${i}`, 'side', h.now, { channel: 'chat', preferredAgentId: agentId, preferredUntil: h.now + 3_600_000 }));
    const r = routes(out)[0];
    if (r === undefined || r.decision.agentIds[0] !== agentId) throw new Error(`setup: chat not given to ${agentId}`);
    h.send({ type: 'offer_accepted', offerId: r.offers[0]!.id });
  }
}

function run(row: Row): { h: Harness; agentIds: readonly string[] } {
  const h = harness({ queues: [queue('q', { strategy: row.strategy, ...row.queue }), queue('side')] });
  const setups = [...row.agents].sort((x, y) => x.readyAt - y.readyAt);
  for (const s of setups) {
    h.at(T0 + s.readyAt);
    h.addReadyAgent(s.agent);
  }
  h.at(T0 + 10_000);
  for (const s of row.agents) if (s.chatsInHand) giveChats(h, s.agent.id, s.chatsInHand);
  h.at(T0 + 20_000);
  const out = h.enqueue(task('x', 'q', h.now, { channel: row.channel, requiredSkills: row.taskSkills ?? [] }));
  const r = routes(out);
  return { h, agentIds: r.length === 1 ? r[0]!.decision.agentIds : [] };
}

const rows: Row[] = [
  {
    name: 'longest idle picks the agent ready the longest',
    strategy: 'longest_idle',
    agents: [{ agent: agent('a2'), readyAt: 0 }, { agent: agent('a1'), readyAt: 1_000 }, { agent: agent('a3'), readyAt: 2_000 }],
    channel: 'voice',
    expect: ['a2'],
  },
  {
    name: 'longest idle breaks a tie on the lower agent id',
    strategy: 'longest_idle',
    agents: [{ agent: agent('b'), readyAt: 0 }, { agent: agent('a'), readyAt: 0 }],
    channel: 'voice',
    expect: ['a'],
  },
  {
    name: 'longest idle puts agents with work in hand after idle ones',
    strategy: 'longest_idle',
    agents: [{ agent: agent('a1'), readyAt: 0, chatsInHand: 1 }, { agent: agent('a2'), readyAt: 1_000 }],
    channel: 'chat',
    expect: ['a2'],
  },
  {
    name: 'least occupied picks the lowest load over capacity',
    strategy: 'least_occupied',
    agents: [
      { agent: agent('a1'), readyAt: 0, chatsInHand: 2 },
      { agent: agent('a2'), readyAt: 0, chatsInHand: 1 },
      { agent: agent('a3', { capacity: 200 }), readyAt: 1_000, chatsInHand: 1 },
    ],
    channel: 'chat',
    expect: ['a3'],
  },
  {
    name: 'least occupied breaks equal occupancy on longest idle',
    strategy: 'least_occupied',
    agents: [
      { agent: agent('a1'), readyAt: 1_000, chatsInHand: 1 },
      { agent: agent('a2', { capacity: 200 }), readyAt: 0, chatsInHand: 2 },
    ],
    channel: 'chat',
    expect: ['a2'],
  },
  {
    name: 'best skill match picks the highest weighted proficiency among eligible agents',
    strategy: 'best_skill_match',
    queue: { skills: [{ skillId: 'billing', minLevel: 3, weight: 2 }] },
    agents: [
      { agent: agent('a1', { skills: [{ skillId: 'billing', level: 9 }, { skillId: 'fr', level: 1 }] }), readyAt: 0 },
      { agent: agent('a2', { skills: [{ skillId: 'billing', level: 5 }, { skillId: 'fr', level: 10 }] }), readyAt: 1_000 },
      { agent: agent('a3', { skills: [{ skillId: 'billing', level: 2 }, { skillId: 'fr', level: 10 }] }), readyAt: 0 },
    ],
    channel: 'voice',
    taskSkills: [{ skillId: 'fr', minLevel: 1 }],
    expect: ['a2'],
  },
  {
    name: 'best skill match breaks equal scores on longest idle',
    strategy: 'best_skill_match',
    queue: { skills: [{ skillId: 'billing', minLevel: 3 }] },
    agents: [
      { agent: agent('a1', { skills: [{ skillId: 'billing', level: 7 }] }), readyAt: 1_000 },
      { agent: agent('a2', { skills: [{ skillId: 'billing', level: 7 }] }), readyAt: 0 },
    ],
    channel: 'voice',
    expect: ['a2'],
  },
  {
    name: 'ring-all on voice offers every eligible agent, longest idle first',
    strategy: 'ring_all',
    queue: { agentGroups: ['sales'] },
    agents: [
      { agent: agent('a1', { agentGroups: ['sales'] }), readyAt: 2_000 },
      { agent: agent('a2', { agentGroups: ['sales'] }), readyAt: 0 },
      { agent: agent('a3', { agentGroups: ['support'] }), readyAt: 0 },
      { agent: agent('a4', { agentGroups: ['sales', 'support'] }), readyAt: 1_000 },
    ],
    channel: 'voice',
    expect: ['a2', 'a4', 'a1'],
  },
  {
    name: 'ring-all on chat behaves as longest idle',
    strategy: 'ring_all',
    agents: [{ agent: agent('a1'), readyAt: 1_000 }, { agent: agent('a2'), readyAt: 0 }],
    channel: 'chat',
    expect: ['a2'],
  },
  {
    name: 'agents without the channel enabled are not considered',
    strategy: 'longest_idle',
    agents: [{ agent: agent('a1', { channels: ['email'] }), readyAt: 0 }, { agent: agent('a2'), readyAt: 1_000 }],
    channel: 'voice',
    expect: ['a2'],
  },
];

for (const row of rows) {
  t.test(`given ${row.strategy} when a ${row.channel} task arrives then ${row.name}`, async (t) => {
    const { agentIds } = run(row);
    t.same(agentIds, row.expect);
  });
}

t.test('given round-robin when tasks arrive one after another then agents take turns in id order, wrapping', async (t) => {
  const h = harness({ queues: [queue('q', { strategy: 'round_robin' })] });
  for (const id of ['a2', 'a3', 'a1']) h.addReadyAgent(agent(id));
  const order: string[] = [];
  for (let i = 0; i < 5; i++) {
    h.at(h.now + 1_000);
    const r = routes(h.enqueue(task(`x${i}`, 'q', h.now)))[0]!;
    order.push(r.decision.agentIds[0]!);
    h.send({ type: 'offer_accepted', offerId: r.offers[0]!.id });
    h.send({ type: 'capacity_released', agentId: r.decision.agentIds[0]!, taskId: `x${i}` });
  }
  t.same(order, ['a1', 'a2', 'a3', 'a1', 'a2']);
});

t.test('given ring-all offers when one agent answers then the others are cancelled and freed', async (t) => {
  const { h, agentIds } = run({
    name: '',
    strategy: 'ring_all',
    agents: [{ agent: agent('a1'), readyAt: 0 }, { agent: agent('a2'), readyAt: 0 }, { agent: agent('a3'), readyAt: 0 }],
    channel: 'voice',
    expect: [],
  });
  t.same(agentIds, ['a1', 'a2', 'a3']);
  const out = h.send({ type: 'offer_accepted', offerId: 'x#1@a2' });
  t.same(
    out.map((d) => (d.kind === 'offer_cancelled' ? `cancel ${d.agentId} ${d.reason}` : d.kind === 'task_assigned' ? `assigned ${d.agentId}` : d.kind)),
    ['assigned a2', 'cancel a1 answered_elsewhere', 'cancel a3 answered_elsewhere'],
  );
  const late = h.send({ type: 'offer_accepted', offerId: 'x#1@a1' });
  t.match(late, [{ kind: 'event_rejected', code: 'offer.not_pending' }], 'second answer loses');
  h.at(h.now + 1);
  t.same(pairs(h.enqueue(task('y', 'q', h.now))), ['y->a1|a3'], 'the freed agents ring for the next call');
});
