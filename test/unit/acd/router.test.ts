import t from 'tap';
import type { RouterDecision } from '../../../server/acd/decisions.js';
import { explainEligibility } from '../../../server/acd/eligibility.js';
import { agentView, queueLoad, taskView } from '../../../server/acd/inspect.js';
import { nextDueAt } from '../../../server/acd/router.js';
import { T0, agent, harness, pairs, queue, routes, task } from './helpers/fixtures.js';

const kinds = (ds: readonly RouterDecision[]): string[] => ds.map((d) => d.kind);
const S = 1_000;

t.test('priority, aging and fairness when an agent becomes free and several tasks wait', async (t) => {
  // aging: 30 s of waiting is worth one priority level (default).
  const rows: { name: string; tasks: [string, string, number, number][]; expect: string }[] = [
    { name: 'higher priority goes before an older lower one', tasks: [['low', 'q1', 0, 0], ['high', 'q1', 5, 10 * S]], expect: 'high' },
    { name: 'a lower priority task older than the priority gap x 30 s goes first', tasks: [['low', 'q1', 0, 0], ['high', 'q1', 5, 150 * S + 1]], expect: 'low' },
    { name: 'at exactly the gap the ranks tie and the id decides', tasks: [['b-low', 'q1', 0, 0], ['a-high', 'q1', 5, 150 * S]], expect: 'a-high' },
    { name: 'equal priority: the older goes first', tasks: [['new', 'q1', 0, 2 * S], ['old', 'q1', 0, 1 * S]], expect: 'old' },
    { name: 'across queues the agent takes the longest-waiting task overall', tasks: [['q1-new', 'q1', 0, 5 * S], ['q2-old', 'q2', 0, 1 * S]], expect: 'q2-old' },
    { name: 'across queues priority still comes first', tasks: [['q1-vip', 'q1', 3, 5 * S], ['q2-old', 'q2', 0, 1 * S]], expect: 'q1-vip' },
  ];
  for (const row of rows) {
    const h = harness({ queues: [queue('q1', { agentGroups: ['g1'] }), queue('q2', { agentGroups: ['g2'] })] });
    h.send({ type: 'agent_upserted', agent: agent('a1', { agentGroups: ['g1', 'g2'] }) });
    for (const [id, q, priority, offset] of row.tasks) h.enqueue(task(id, q, T0 + offset, { priority }));
    h.at(T0 + 200 * S);
    const out = h.send({ type: 'agent_presence_changed', agentId: 'a1', presence: { kind: 'ready' } });
    t.same(pairs(out), [`${row.expect}->a1`], row.name);
    t.equal(routes(out)[0]!.decision.mode, 'agent_picks_task');
  }
});

t.test('given skill relaxation steps when a task waits then lower levels, then a wider group, become acceptable on time', async (t) => {
  const h = harness({
    queues: [
      queue('q', {
        skills: [{ skillId: 'billing', minLevel: 8 }],
        agentGroups: ['tier1'],
        relaxation: [{ afterMs: 30 * S, minLevelDelta: 2 }, { afterMs: 90 * S, minLevelDelta: 2, addAgentGroups: ['tier2'] }],
      }),
    ],
  });
  h.addReadyAgent(agent('mid', { agentGroups: ['tier1'], skills: [{ skillId: 'billing', level: 6 }] }));
  h.addReadyAgent(agent('other', { agentGroups: ['tier2'], skills: [{ skillId: 'billing', level: 9 }] }));
  h.enqueue(task('x', 'q', T0));
  h.enqueue(task('y', 'q', T0));
  t.same(pairs(h.log), [], 'nobody qualifies at first');
  t.equal(nextDueAt(h.state), T0 + 30 * S);
  t.same(pairs(h.at(T0 + 30 * S - 1).send({ type: 'tick' })), [], 'not a millisecond early');
  const step1 = h.at(T0 + 30 * S).send({ type: 'tick' });
  t.same(pairs(step1), ['x->mid'], 'level 6 accepted after 30 s');
  t.equal(routes(step1)[0]!.decision.trigger, 'relaxation');
  t.equal(routes(step1)[0]!.decision.inputs.relaxationStep, 1);
  h.send({ type: 'offer_accepted', offerId: 'x#1@mid' });
  t.same(pairs(h.at(T0 + 90 * S).send({ type: 'tick' })), ['y->other'], 'tier2 joins after 90 s');
});

t.test('given a last-agent preference when the task arrives then it waits for that agent until the expiry', async (t) => {
  const setup = () => {
    const h = harness({ queues: [queue('q')] });
    h.send({ type: 'agent_upserted', agent: agent('last') });
    h.addReadyAgent(agent('other'));
    h.enqueue(task('x', 'q', T0, { preferredAgentId: 'last', preferredUntil: T0 + 20 * S }));
    return h;
  };
  const h1 = setup();
  t.same(pairs(h1.log), [], 'the free agent is not offered the preferred task');
  t.match(explainEligibility(h1.state, 'x', 'other'), { eligible: false, reason: 'preference.other_agent' });
  const back = h1.at(T0 + 5 * S).send({ type: 'agent_presence_changed', agentId: 'last', presence: { kind: 'ready' } });
  t.same(pairs(back), ['x->last'], 'the last agent gets it when ready');
  t.equal(routes(back)[0]!.decision.inputs.preferredAgentId, 'last');

  const h2 = setup();
  const expired = h2.at(T0 + 20 * S).send({ type: 'tick' });
  t.same(pairs(expired), ['x->other'], 'after the expiry anyone may take it');
  t.equal(routes(expired)[0]!.decision.trigger, 'preference_expired');

  const h3 = setup();
  h3.at(T0 + 1 * S).send({ type: 'agent_presence_changed', agentId: 'last', presence: { kind: 'ready' } });
  const declined = h3.send({ type: 'offer_declined', offerId: 'x#1@last' });
  t.same(pairs(declined), ['x->other'], 'a decline by the preferred agent drops the preference');
});

t.test('given capacity units when chats arrive then an agent holds four chats and reservations count before acceptance', async (t) => {
  const h = harness({ queues: [queue('q')] });
  h.addReadyAgent(agent('a1'));
  for (let i = 1; i <= 5; i++) h.at(T0 + i).enqueue(task(`c${i}`, 'q', h.now, { channel: 'chat' }));
  t.same(pairs(h.log), ['c1->a1', 'c2->a1', 'c3->a1', 'c4->a1'], 'fifth waits though nothing is accepted yet');
  t.equal(agentView(h.state, 'a1')!.loadUnits, 100);
  h.send({ type: 'offer_accepted', offerId: 'c1#1@a1' });
  const freed = h.at(T0 + 10).send({ type: 'capacity_released', agentId: 'a1', taskId: 'c1' });
  t.same(pairs(freed), ['c5->a1']);
  t.match(explainEligibility(h.state, 'c5', 'a1'), { eligible: false, reason: 'task.not_waiting' });
});

t.test('given an agent on a call when a chat arrives then no chat is offered during the call, but email is', async (t) => {
  const h = harness({ queues: [queue('q')] });
  h.addReadyAgent(agent('a1', { channelCosts: { voice: 60 } }));
  h.enqueue(task('call', 'q', T0));
  h.send({ type: 'offer_accepted', offerId: 'call#1@a1' });
  h.at(T0 + 1);
  t.same(pairs(h.enqueue(task('chat', 'q', h.now, { channel: 'chat' }))), [], 'chat blocked');
  t.match(explainEligibility(h.state, 'chat', 'a1'), { eligible: false, reason: 'capacity.blocked_by_rule', detail: 'no-chat-during-call' });
  t.same(pairs(h.enqueue(task('mail', 'q', h.now, { channel: 'email' }))), ['mail->a1'], 'email fits in the 40 units left');
  const end = h.at(T0 + 2).send({ type: 'capacity_released', agentId: 'a1', taskId: 'call' });
  t.same(pairs(end), ['chat->a1'], 'the chat comes once the call ends');
});

t.test('given an offer when the agent declines then the task is requeued and that agent kept off it for the cooldown', async (t) => {
  const h = harness({ queues: [queue('q')], declineCooldownMs: 30 * S });
  h.addReadyAgent(agent('a1'));
  h.enqueue(task('x', 'q', T0));
  const out = h.at(T0 + S).send({ type: 'offer_declined', offerId: 'x#1@a1' });
  t.same(kinds(out), ['task_requeued'], 'not re-offered to the same agent');
  t.same(taskView(h.state, 'x')!.status, 'queued');
  t.same(pairs(h.at(T0 + 2 * S).send({ type: 'agent_upserted', agent: agent('a2') })), [], 'a2 not ready yet');
  const a2 = h.send({ type: 'agent_presence_changed', agentId: 'a2', presence: { kind: 'ready' } });
  t.same(pairs(a2), ['x->a2']);
  t.same(routes(a2)[0]!.decision.inputs.excludedAgentIds, ['a1'], 'the audit shows who was kept off');
  h.send({ type: 'offer_declined', offerId: 'x#2@a2' });
  const again = h.at(T0 + 31 * S).send({ type: 'tick' });
  t.same(pairs(again), ['x->a1'], 'a1 may have it again after 30 s');
  t.equal(routes(again)[0]!.decision.trigger, 'exclusion_expired');
});

t.test('given offers nobody answers when they time out then they are cancelled and repeated misses set not ready (RONA)', async (t) => {
  const h = harness({ queues: [queue('q')], declineCooldownMs: 0, ronaAfterMisses: 2 });
  h.addReadyAgent(agent('a1'));
  h.enqueue(task('x', 'q', T0));
  const first = h.at(T0 + 20 * S).send({ type: 'tick' });
  t.same(kinds(first), ['offer_cancelled', 'task_requeued', 'route'], 'timer cancels, requeues, re-offers');
  t.match(first[0], { reason: 'timed_out', offerId: 'x#1@a1' });
  const second = h.at(T0 + 40 * S).send({ type: 'tick' });
  t.same(kinds(second), ['offer_cancelled', 'task_requeued', 'presence_changed']);
  t.match(second[2], { agentId: 'a1', cause: 'rona', presence: { kind: 'not_ready', reason: 'rona' } });
  t.match(h.send({ type: 'offer_accepted', offerId: 'x#2@a1' }), [{ kind: 'event_rejected', code: 'offer.not_pending' }], 'a late answer is refused');
});

t.test('given a task when the customer hangs up during the offer then the offer is withdrawn and the agent freed', async (t) => {
  const h = harness({ queues: [queue('q')] });
  h.addReadyAgent(agent('a1'));
  h.enqueue(task('x', 'q', T0));
  h.enqueue(task('y', 'q', T0 + 1));
  const out = h.at(T0 + 5 * S).send({ type: 'task_abandoned', taskId: 'x' });
  t.same(kinds(out), ['offer_cancelled', 'task_removed', 'route']);
  t.match(out[0], { reason: 'task_left', agentId: 'a1' });
  t.match(out[1], { reason: 'abandoned', waitedMs: 5 * S });
  t.same(pairs(out), ['y->a1']);
  t.match(h.send({ type: 'task_cancelled', taskId: 'x' }), [{ kind: 'event_rejected', code: 'task.unknown' }]);
});

t.test('given a max wait when nobody answers in time then the task overflows (or leaves when there is no target)', async (t) => {
  const h = harness({ queues: [queue('q1', { maxWaitMs: 60 * S, overflowQueueId: 'q2', agentGroups: ['g1'] }), queue('q2', { maxWaitMs: 60 * S, agentGroups: ['g2'] })] });
  h.addReadyAgent(agent('a1', { agentGroups: ['g1'], channels: ['email'] }));
  h.enqueue(task('x', 'q1', T0));
  const over = h.at(T0 + 60 * S).send({ type: 'tick' });
  t.same(kinds(over), ['task_overflowed']);
  t.match(over[0], { fromQueueId: 'q1', toQueueId: 'q2' });
  t.equal(taskView(h.state, 'x')!.queueId, 'q2');
  const gone = h.at(T0 + 120 * S).send({ type: 'tick' });
  t.match(gone, [{ kind: 'task_removed', reason: 'max_wait', queueId: 'q2', waitedMs: 120 * S }]);
  t.equal(taskView(h.state, 'x'), undefined);
});

t.test('given an overflowed task when an agent of the target queue is free then it keeps its original rank', async (t) => {
  const h = harness({ queues: [queue('q1', { maxWaitMs: 60 * S, overflowQueueId: 'q2' }), queue('q2', { agentGroups: ['g2'] })] });
  h.send({ type: 'agent_upserted', agent: agent('a2', { agentGroups: ['g2'] }) });
  h.enqueue(task('x', 'q1', T0));
  h.at(T0 + 10 * S).enqueue(task('local', 'q2', h.now));
  h.at(T0 + 60 * S).send({ type: 'tick' });
  const out = h.at(T0 + 61 * S).send({ type: 'agent_presence_changed', agentId: 'a2', presence: { kind: 'ready' } });
  t.same(pairs(out), ['x->a2'], 'enqueued earlier, served first');
});

t.test('given a closed queue when a task arrives then it is turned away with queue_closed', async (t) => {
  const h = harness({
    queues: [queue('q', { calendar: { id: 'c', zone: { kind: 'fixed', offsetMinutes: 0 }, weekly: { mon: [{ from: '10:00', to: '18:00' }] } } })],
  });
  h.addReadyAgent(agent('a1'));
  t.match(h.enqueue(task('early', 'q', T0)), [{ kind: 'task_removed', reason: 'queue_closed' }], 'Monday 09:00 UTC: closed');
  t.same(pairs(h.at(T0 + 3_600 * S).enqueue(task('open', 'q', h.now))), ['open->a1'], 'Monday 10:00 UTC: open');
});

t.test('given wrap-up with a timer when it runs out then the agent is ready again and takes waiting work', async (t) => {
  const h = harness({ queues: [queue('q')] });
  h.addReadyAgent(agent('a1'));
  h.enqueue(task('x', 'q', T0));
  h.send({ type: 'offer_accepted', offerId: 'x#1@a1' });
  h.at(T0 + 60 * S).send({ type: 'capacity_released', agentId: 'a1', taskId: 'x' });
  h.send({ type: 'agent_presence_changed', agentId: 'a1', presence: { kind: 'wrap_up', until: T0 + 90 * S } });
  t.same(pairs(h.at(T0 + 61 * S).enqueue(task('y', 'q', h.now))), [], 'no offers in wrap-up');
  t.equal(nextDueAt(h.state), T0 + 90 * S);
  const out = h.at(T0 + 95 * S).send({ type: 'tick' });
  t.same(kinds(out), ['presence_changed', 'route']);
  t.match(out[0], { cause: 'wrap_up_ended', presence: { kind: 'ready' } });
});

t.test('given pending offers when the agent stops being ready then the offers are withdrawn and the tasks routed elsewhere', async (t) => {
  const h = harness({ queues: [queue('q')] });
  h.addReadyAgent(agent('a1'));
  h.enqueue(task('x', 'q', T0));
  h.at(T0 + 1).addReadyAgent(agent('a2'));
  const out = h.at(T0 + 2).send({ type: 'agent_presence_changed', agentId: 'a1', presence: { kind: 'not_ready', reason: 'break' } });
  t.same(kinds(out), ['offer_cancelled', 'task_requeued', 'route']);
  t.same(pairs(out), ['x->a2']);
});

t.test('given invalid or stale events when routed then they are rejected with stable codes and change nothing', async (t) => {
  const h = harness({ queues: [queue('q'), queue('other', { tenantId: 't2' })] });
  h.addReadyAgent(agent('a1'));
  const rows: [string, Parameters<typeof h.send>[0], string][] = [
    ['ready -> ready', { type: 'agent_presence_changed', agentId: 'a1', presence: { kind: 'ready' } }, 'presence.invalid_transition'],
    ['unknown agent', { type: 'agent_presence_changed', agentId: 'zz', presence: { kind: 'ready' } }, 'agent.unknown'],
    ['unknown queue', { type: 'task_enqueued', task: task('x', 'nope', T0) }, 'queue.unknown'],
    ['tenant mismatch', { type: 'task_enqueued', task: task('x', 'other', T0) }, 'task.tenant_mismatch'],
    ['bad priority', { type: 'task_enqueued', task: task('x', 'q', T0, { priority: 99 }) }, 'task.invalid_priority'],
    ['unknown offer', { type: 'offer_accepted', offerId: 'nope' }, 'offer.not_pending'],
    ['release without work', { type: 'capacity_released', agentId: 'a1', taskId: 'x' }, 'assignment.unknown'],
    ['bad agent', { type: 'agent_upserted', agent: agent('a9', { skills: [{ skillId: 's', level: 0 }] }) }, 'agent.invalid_skill_level'],
  ];
  for (const [why, ev, code] of rows) t.match(h.send(ev), [{ kind: 'event_rejected', code }], why);
  t.same(pairs(h.enqueue(task('x', 'q', T0))), ['x->a1']);
  t.match(h.enqueue(task('x', 'q', T0)), [{ kind: 'event_rejected', code: 'task.duplicate' }], 'a redelivered enqueue is refused');
  t.match(h.send({ type: 'task_cancelled', taskId: 'x' }), [{ kind: 'offer_cancelled' }, { kind: 'task_removed', reason: 'cancelled' }]);
});

t.test('given two tenants when routing then an agent never gets another tenant\'s task', async (t) => {
  const h = harness({ queues: [queue('q1'), queue('q2', { tenantId: 't2' })] });
  h.addReadyAgent(agent('a1'));
  h.at(T0 + 1).enqueue(task('x', 'q2', h.now, { tenantId: 't2' }));
  t.same(pairs(h.log), []);
  h.addReadyAgent(agent('b1', { tenantId: 't2' }));
  t.same(pairs(h.log), ['x->b1']);
});

t.test('given a decision when reading it then it carries the inputs that mattered, candidates and the config version', async (t) => {
  const h = harness({ version: 'cfg-7', queues: [queue('q', { strategy: 'best_skill_match', skills: [{ skillId: 'fr', minLevel: 2 }] })], auditTopK: 2 });
  h.addReadyAgent(agent('a1', { skills: [{ skillId: 'fr', level: 3 }] }));
  h.addReadyAgent(agent('a2', { skills: [{ skillId: 'fr', level: 9 }] }));
  h.addReadyAgent(agent('a3', { skills: [{ skillId: 'fr', level: 5 }] }));
  h.addReadyAgent(agent('a4', { skills: [{ skillId: 'de', level: 9 }] }));
  const d = routes(h.at(T0 + 5 * S).enqueue(task('x', 'q', T0, { priority: 2 })))[0]!.decision;
  t.match(d, {
    id: 'x#1',
    configVersion: 'cfg-7',
    strategy: 'best_skill_match',
    mode: 'task_picks_agent',
    trigger: 'task_enqueued',
    agentIds: ['a2'],
    inputs: { priority: 2, rank: T0 - 2 * 30 * S, waitedMs: 5 * S, requiredSkills: [{ skillId: 'fr', minLevel: 2 }] },
    candidates: { agentsConsidered: 3, agents: [{ agentId: 'a2', score: 9 }, { agentId: 'a3', score: 5 }] },
  });
  t.equal(d.candidates.agents.length, 2, 'top-K kept, count complete');
});

t.test('given waiting tasks when asking for queue load then position and agent counts reflect the state', async (t) => {
  const h = harness({ queues: [queue('q', { agentGroups: ['g'] })] });
  h.send({ type: 'agent_upserted', agent: agent('a1', { agentGroups: ['g'] }) });
  h.send({ type: 'agent_presence_changed', agentId: 'a1', presence: { kind: 'not_ready', reason: 'x' } });
  h.addReadyAgent(agent('a2', { agentGroups: ['g'], channels: ['email'] }));
  h.addReadyAgent(agent('a3', { agentGroups: ['h'] }));
  h.enqueue(task('x1', 'q', T0 - 10 * S));
  h.enqueue(task('x2', 'q', T0 - 5 * S, { priority: 1 }));
  h.enqueue(task('x3', 'q', T0));
  t.equal(taskView(h.state, 'x3')!.position, 2);
  t.equal(taskView(h.state, 'x2')!.position, 0, 'priority 1 is worth 30 s');
  t.same(queueLoad(h.state, 'q', 'voice', 0), { queueId: 'q', waiting: 3, ahead: 3, agentsServing: 1, agentsAvailable: 0, oldestWaitMs: 10 * S });
  t.equal(queueLoad(h.state, 'q', 'voice', 1)!.ahead, 1, 'a priority-1 arrival would be second');
});
