import t from 'tap';
import { createRouterConfig } from '../../../server/acd/config.js';
import type { RouterConfigInput } from '../../../server/acd/config.js';
import type { TimedEvent } from '../../../server/acd/events.js';
import { canonicalJson, diffDecisions, replay } from '../../../server/acd/replay.js';
import { createRouterState, route } from '../../../server/acd/router.js';
import { exportSnapshot, restoreRouterState } from '../../../server/acd/snapshot.js';
import type { RouterSnapshot } from '../../../server/acd/snapshot.js';
import { T0, agent, queue, task } from './helpers/fixtures.js';

const S = 1_000;
const base: RouterConfigInput = { version: 'v1', queues: [queue('q', { strategy: 'longest_idle', skills: [{ skillId: 'fr', minLevel: 1 }] })] };
const events: TimedEvent[] = [
  { at: T0, event: { type: 'agent_upserted', agent: agent('a1', { skills: [{ skillId: 'fr', level: 3 }] }) } },
  { at: T0, event: { type: 'agent_upserted', agent: agent('a2', { skills: [{ skillId: 'fr', level: 9 }] }) } },
  { at: T0, event: { type: 'agent_presence_changed', agentId: 'a1', presence: { kind: 'ready' } } },
  { at: T0 + S, event: { type: 'agent_presence_changed', agentId: 'a2', presence: { kind: 'ready' } } },
  { at: T0 + 2 * S, event: { type: 'task_enqueued', task: task('x', 'q', T0 + 2 * S) } },
  { at: T0 + 3 * S, event: { type: 'offer_accepted', offerId: 'x#1@a1' } },
  { at: T0 + 4 * S, event: { type: 'task_enqueued', task: task('y', 'q', T0 + 4 * S) } },
  { at: T0 + 5 * S, event: { type: 'offer_accepted', offerId: 'y#1@a2' } },
];

t.test('given a recorded run when replayed under the recorded config then nothing differs', async (t) => {
  const config = createRouterConfig(base);
  const recorded = replay(events, config);
  const again = replay(events, config);
  const diff = diffDecisions(recorded, again);
  t.equal(diff.identical, true);
  t.same(diff.tasks, []);
  t.equal(diff.summary.assignedA, 2);
});

t.test('given another strategy when the run is replayed then the diff shows where and for which tasks outcomes change', async (t) => {
  const recorded = replay(events, createRouterConfig(base));
  const whatIf = replay(events, createRouterConfig({ ...base, version: 'v2', queues: [{ ...base.queues[0]!, strategy: 'best_skill_match' }] }));
  const diff = diffDecisions(recorded, whatIf);
  t.equal(diff.identical, false);
  t.equal(diff.firstDivergence?.position, 0, 'the first decision already differs');
  t.match(diff.firstDivergence?.b?.decision, { kind: 'route', decision: { agentIds: ['a2'], configVersion: 'v2' } });
  t.same(
    diff.tasks.map((d) => [d.taskId, d.a?.firstOfferAgentIds, d.b?.firstOfferAgentIds]),
    [
      ['x', ['a1'], ['a2']],
      ['y', ['a2'], ['a1']],
    ],
  );
  t.match(
    whatIf.filter((d) => d.decision.kind === 'event_rejected').map((d) => d.decision),
    [{ code: 'offer.not_pending' }, { code: 'offer.not_pending' }],
    'recorded answers to offers the new config never made are rejected',
  );
});

t.test('given decisions read back with keys in another order when compared then they are equal', async (t) => {
  t.equal(canonicalJson({ b: 1, a: [{ y: 2, x: undefined, z: null }] }), '{"a":[{"y":2,"z":null}],"b":1}');
  const recorded = replay(events, createRouterConfig(base));
  const stored = JSON.parse(JSON.stringify(recorded, (_k, v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v)));
  t.equal(diffDecisions(recorded, stored).identical, true);
});

t.test('given a snapshot stored as JSON when a standby restores it then it continues exactly like the original', async (t) => {
  const config = createRouterConfig({ ...base, queues: [{ ...base.queues[0]!, relaxation: [{ afterMs: 30 * S, minLevelDelta: 2 }] }] });
  let original = createRouterState(config, T0);
  for (const e of events.slice(0, 5)) original = route(original, e.event, e.at).state;
  const snap = JSON.parse(JSON.stringify(exportSnapshot(original))) as RouterSnapshot;
  let standby = restoreRouterState(config, snap);
  t.same(exportSnapshot(standby), snap, 'round trip');
  const rest: TimedEvent[] = [
    ...events.slice(5),
    { at: T0 + 6 * S, event: { type: 'task_enqueued', task: task('z', 'q', T0 + 6 * S, { requiredSkills: [{ skillId: 'fr', minLevel: 10 }] }) } },
    { at: T0 + 40 * S, event: { type: 'capacity_released', agentId: 'a1', taskId: 'x' } },
  ];
  const a: unknown[] = [];
  const b: unknown[] = [];
  for (const e of rest) {
    const r1 = route(original, e.event, e.at);
    original = r1.state;
    a.push(...r1.decisions);
    const r2 = route(standby, e.event, e.at);
    standby = r2.state;
    b.push(...r2.decisions);
  }
  t.same(b, a);
  t.ok(a.length >= 3, 'the continuation made decisions');
});

t.test('given a snapshot taken between a change and its matching when restored then matching completes on the next call', async (t) => {
  const config = createRouterConfig(base);
  let s = createRouterState(config, T0);
  s = route(s, { type: 'agent_upserted', agent: agent('a1', { skills: [{ skillId: 'fr', level: 3 }] }) }, T0).state;
  s = route(s, { type: 'task_enqueued', task: task('x', 'q', T0) }, T0).state;
  const snap = exportSnapshot(s);
  // The agent record went ready in storage, but the process died before routing.
  const crashed: RouterSnapshot = { ...snap, agents: snap.agents.map((a) => ({ ...a, presence: { kind: 'ready' } })) };
  const out = route(restoreRouterState(config, crashed), { type: 'tick' }, T0 + 1).decisions;
  t.match(out, [{ kind: 'route', decision: { taskId: 'x', agentIds: ['a1'], trigger: 'rebuild' } }]);
});

t.test('given inconsistent snapshots when restoring then a stable error names the problem', async (t) => {
  const config = createRouterConfig(base);
  let s = createRouterState(config, T0);
  for (const e of events.slice(0, 5)) s = route(s, e.event, e.at).state;
  const snap = exportSnapshot(s);
  const noOffer: RouterSnapshot = { ...snap, offers: [] };
  t.throws(() => restoreRouterState(config, noOffer), { name: 'AppError', code: 'snapshot.inconsistent' }, 'offered task without its offer');
  const other = createRouterConfig({ queues: [queue('elsewhere')] });
  t.throws(() => restoreRouterState(other, snap), { name: 'AppError', code: 'snapshot.inconsistent' }, 'queue missing from the config');
});
