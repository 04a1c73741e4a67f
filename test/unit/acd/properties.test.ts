import fc from 'fast-check';
import t from 'tap';
import { agingBoundMs, createRouterConfig } from '../../../server/acd/config.js';
import type { RouterDecision } from '../../../server/acd/decisions.js';
import type { RecordedDecision } from '../../../server/acd/replay.js';
import { replay } from '../../../server/acd/replay.js';
import { exportSnapshot, restoreRouterState } from '../../../server/acd/snapshot.js';
import { CheckedRouter, runRandom } from './helpers/driver.js';
import { T0, agent, queue, task } from './helpers/fixtures.js';
import type { Property, ShadowStats } from './helpers/shadow.js';
import { PropertyViolation } from './helpers/shadow.js';

const SEEDS = 200;
const STEPS_PER_SEED = 5_000;

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

t.test(
  `given ${SEEDS} random worlds when routing ${SEEDS * STEPS_PER_SEED} steps of arrivals, answers, departures and presence changes then every property holds`,
  async (t) => {
    const totals: ShadowStats = { routes: 0, offers: 0, assigned: 0, requeued: 0, removed: 0, overflowed: 0, rejected: 0, starvationChecks: 0, pairChecks: 0 };
    let steps = 0;
    let ringAll = 0;
    let agentPicks = 0;
    let replayed = 0;
    let restored = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      let run: ReturnType<typeof runRandom>;
      try {
        run = runRandom(seed, STEPS_PER_SEED, { snapshotAt: 1 + (seed * 37) % (STEPS_PER_SEED - 1) });
      } catch (e) {
        if (e instanceof PropertyViolation) {
          t.fail(`seed ${seed}: ${e.message}`);
          return;
        }
        throw e;
      }
      const { router, config, snapshot } = run;
      steps += router.calls;
      for (const k of Object.keys(totals) as (keyof ShadowStats)[]) totals[k] += router.shadow.stats[k];
      for (const d of router.decisions) {
        if (d.decision.kind !== 'route') continue;
        if (d.decision.offers.length > 1) ringAll++;
        if (d.decision.decision.mode === 'agent_picks_task') agentPicks++;
      }

      // Same input, same decisions: a fresh router fed the recorded events decides exactly the same.
      const again = replay(router.events, config);
      if (!sameJson(again, router.decisions)) {
        t.fail(`seed ${seed}: replay differs from the recorded run`);
        return;
      }
      replayed += router.events.length;

      // A standby rebuilt from a snapshot continues exactly as the original did.
      if (snapshot !== undefined) {
        const copy = restoreRouterState(config, snapshot.snap);
        if (!sameJson(exportSnapshot(copy), snapshot.snap)) {
          t.fail(`seed ${seed}: snapshot does not round-trip`);
          return;
        }
        const tail = replay(router.events.slice(snapshot.index), config, snapshot.snap).map((d) => ({ ...d, eventIndex: d.eventIndex + snapshot.index }));
        const expected = router.decisions.filter((d) => d.eventIndex >= snapshot.index);
        if (!sameJson(tail, expected)) {
          t.fail(`seed ${seed}: restored router diverges after event ${snapshot.index}`);
          return;
        }
        restored++;
      }
    }
    t.ok(steps >= 1_000_000, `${steps} routing steps`);
    t.equal(replayed, steps, 'every run replayed');
    t.equal(restored, SEEDS, 'every run restored from a mid-run snapshot');
    // Guards against a vacuous pass: the runs exercised what the properties are about.
    t.ok(totals.routes > 100_000, `${totals.routes} route decisions`);
    t.ok(totals.assigned > 50_000, `${totals.assigned} assignments`);
    t.ok(totals.requeued > 10_000, `${totals.requeued} requeues after declines, misses, departures`);
    t.ok(totals.overflowed > 1_000 && totals.removed > 1_000, `${totals.overflowed} overflows, ${totals.removed} removals`);
    t.ok(totals.rejected > 10_000, `${totals.rejected} rejected events`);
    t.ok(ringAll > 250, `${ringAll} ring-all decisions offering several agents`);
    t.ok(agentPicks > 10_000, `${agentPicks} agent-picks-task decisions`);
    t.ok(totals.starvationChecks > 10_000, `${totals.starvationChecks} overtaking checks against tasks older than the bound`);
    t.ok(totals.pairChecks > 1_000_000, `${totals.pairChecks} idle agent x waiting task checks`);
  },
);

t.test('given a steady stream of higher-priority work when a low-priority task waits then it is served within the aging bound', async (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 100, max: 20_000 }),
      fc.integer({ min: 1, max: 10 }),
      fc.integer({ min: 50, max: 5_000 }),
      (intervalMs, maxPriority, gapMs) => {
        // One agent, calls arriving faster than it can take them, all at top priority but one.
        const config = createRouterConfig({ queues: [queue('q')], aging: { intervalMs, maxPriority } });
        const r = new CheckedRouter(config, T0);
        r.send({ type: 'agent_upserted', agent: agent('a1') }, T0);
        r.send({ type: 'agent_presence_changed', agentId: 'a1', presence: { kind: 'ready' } }, T0);
        let now = T0;
        let n = 0;
        r.send({ type: 'task_enqueued', task: task(`h${n++}`, 'q', now, { priority: maxPriority }) }, now);
        r.send({ type: 'task_enqueued', task: task('low', 'q', now + 1, { priority: 0 }) }, now + 1);
        const bound = agingBoundMs(config);
        let servedAt: number | undefined;
        let current = 'h0';
        while (servedAt === undefined && now < T0 + 4 * bound + 100 * gapMs) {
          now += gapMs;
          r.send({ type: 'task_enqueued', task: task(`h${n++}`, 'q', now, { priority: maxPriority }) }, now);
          r.send({ type: 'offer_accepted', offerId: `${current}#1@a1` }, now);
          const out: RouterDecision[] = r.send({ type: 'capacity_released', agentId: 'a1', taskId: current }, now);
          const next = out.find((d) => d.kind === 'route');
          if (next?.kind === 'route') current = next.decision.taskId;
          if (current === 'low') servedAt = now;
        }
        // Served once no waiting high-priority task is older than low's enqueue time + the bound.
        return servedAt !== undefined && servedAt - (T0 + 1) <= bound + 2 * gapMs;
      },
    ),
    { numRuns: 60, seed: 7 },
  );
  t.pass('held for 60 generated configurations');
});

/**
 * Fault injection: each scenario makes the decisions the checker sees wrong in
 * one way, and the checker must name that property. If a check were unable to
 * fail, its scenario would fail here.
 */
t.test('given a misbehaving router when its decisions are checked then each property violation is caught', async (t) => {
  type Routed = Extract<RouterDecision, { kind: 'route' }>;
  const isRoute = (d: RouterDecision): d is Routed => d.kind === 'route';
  const scenarios: { property: Property; why: string; mutate: (ds: RouterDecision[]) => RouterDecision[]; script: (r: CheckedRouter) => void }[] = [
    {
      property: 'double-assignment',
      why: 'a task offered twice',
      mutate: (ds) => ds.flatMap((d): RouterDecision[] => (isRoute(d) ? [d, d] : [d])),
      script: (r) => r.send({ type: 'task_enqueued', task: task('x', 'q', T0) }, T0),
    },
    {
      property: 'capacity',
      why: 'an offer to an agent already on a call',
      mutate: (ds) =>
        ds.map((d) =>
          isRoute(d) && d.decision.taskId === 'y' ? { ...d, offers: [...d.offers, { ...d.offers[0]!, id: 'y#1@a1', agentId: 'a1' }] } : d,
        ),
      script: (r) => {
        r.send({ type: 'task_enqueued', task: task('x', 'q', T0) }, T0);
        r.send({ type: 'offer_accepted', offerId: 'x#1@a1' }, T0);
        r.send({ type: 'agent_upserted', agent: agent('a2', { agentGroups: ['g'] }) }, T0);
        r.send({ type: 'agent_presence_changed', agentId: 'a2', presence: { kind: 'ready' } }, T0);
        r.send({ type: 'task_enqueued', task: task('y', 'q', T0) }, T0);
      },
    },
    {
      property: 'starvation',
      why: 'the newest task served before one older than the aging bound',
      mutate: (ds) =>
        ds.map((d) =>
          isRoute(d) && d.decision.taskId === 'old'
            ? { ...d, decision: { ...d.decision, taskId: 'new' }, offers: d.offers.map((o) => ({ ...o, id: 'new#1@a1', taskId: 'new' })) }
            : d,
        ),
      script: (r) => {
        r.send({ type: 'task_enqueued', task: task('x', 'q', T0) }, T0);
        r.send({ type: 'offer_accepted', offerId: 'x#1@a1' }, T0);
        r.send({ type: 'task_enqueued', task: task('old', 'q', T0 + 1) }, T0 + 1);
        r.send({ type: 'task_enqueued', task: task('new', 'q', T0 + 400_000) }, T0 + 400_000);
        r.send({ type: 'capacity_released', agentId: 'a1', taskId: 'x' }, T0 + 400_001);
      },
    },
    {
      property: 'work-conservation',
      why: 'a ready agent left idle beside a waiting task',
      mutate: (ds) => ds.filter((d) => !isRoute(d)),
      script: (r) => r.send({ type: 'task_enqueued', task: task('x', 'q', T0) }, T0),
    },
    {
      property: 'rejection',
      why: 'an invalid presence move let through',
      mutate: (ds) => ds.filter((d) => d.kind !== 'event_rejected'),
      script: (r) => r.send({ type: 'agent_presence_changed', agentId: 'a1', presence: { kind: 'ready' } }, T0),
    },
    {
      property: 'timing',
      why: 'an offer timed out the moment it was made',
      mutate: (ds) =>
        ds.flatMap((d): RouterDecision[] =>
          isRoute(d) ? [d, { kind: 'offer_cancelled', offerId: d.offers[0]!.id, taskId: d.decision.taskId, agentId: d.offers[0]!.agentId, reason: 'timed_out' }] : [d],
        ),
      script: (r) => r.send({ type: 'task_enqueued', task: task('x', 'q', T0) }, T0),
    },
    {
      property: 'eligibility',
      why: 'an offer to an agent without the skill',
      mutate: (ds) => ds.map((d) => (isRoute(d) ? { ...d, offers: d.offers.map((o) => ({ ...o, id: 'x#1@a3', agentId: 'a3' })) } : d)),
      script: (r) => {
        r.send({ type: 'agent_upserted', agent: agent('a3', { agentGroups: ['elsewhere'] }) }, T0);
        r.send({ type: 'agent_presence_changed', agentId: 'a3', presence: { kind: 'not_ready', reason: 'x' } }, T0);
        r.send({ type: 'task_enqueued', task: task('x', 'q', T0) }, T0);
      },
    },
  ];
  for (const sc of scenarios) {
    const config = createRouterConfig({ queues: [queue('q', { agentGroups: ['g'] })], aging: { intervalMs: 1_000, maxPriority: 10 } });
    const r = new CheckedRouter(config, T0, (ds) => sc.mutate(ds));
    const honest = new CheckedRouter(config, T0);
    for (const x of [r, honest]) {
      // Mutations only touch decisions named by the scenario, so the setup passes through unchanged.
      x.send({ type: 'agent_upserted', agent: agent('a1', { agentGroups: ['g'] }) }, T0);
      x.send({ type: 'agent_presence_changed', agentId: 'a1', presence: { kind: 'ready' } }, T0);
    }
    t.doesNotThrow(() => sc.script(honest), `the honest router passes the '${sc.property}' scenario`);
    t.throws(() => sc.script(r), { name: 'PropertyViolation', property: sc.property }, `${sc.why} is caught as ${sc.property}`);
  }
});

t.test('given a router with hidden state when its run is replayed then the determinism check fails', async (t) => {
  const { router, config } = runRandom(3, 2_000);
  t.ok(sameJson(replay(router.events, config), router.decisions), 'the honest router replays identically');
  // A router that read a clock, a random source or a process-wide counter would stamp its
  // decisions differently on each run of the same events; model that and check it is caught.
  let hidden = 0;
  const leaky = (): RecordedDecision[] =>
    replay(router.events, config).map((d) =>
      d.decision.kind === 'route' ? { ...d, decision: { ...d.decision, decision: { ...d.decision.decision, id: `${d.decision.decision.id}~${hidden++}` } } } : d,
    );
  t.notOk(sameJson(leaky(), leaky()), 'two runs of a stateful router differ');
  const tampered = router.decisions.map((d, i) => (i === Math.floor(router.decisions.length / 2) ? { ...d, at: d.at + 1 } : d));
  t.notOk(sameJson(replay(router.events, config), tampered), 'a single differing decision is detected');
});
