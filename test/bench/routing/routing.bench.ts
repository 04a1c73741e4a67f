/**
 * Routing benchmark (not a test; prints figures). Run:
 *   npx tsx test/bench/routing/routing.bench.ts
 * Env: BENCH_SEED (default 42), BENCH_DECISIONS (default 40000), BENCH_NAIVE=0 to skip the baseline.
 *
 * Scenario A, the budget's: 5,000 agents, 200 skills, 50 queues, a backlog
 * held at 10,000 waiting tasks. Each step one agent finishes a task
 * (`capacity_released`) and the router has it take the best-ranked task it
 * can across its queues; the offer is accepted and a new task arrives. The
 * latency of the release call is the decision latency. In the same run a
 * naive router (a scan of every waiting task) makes the same choice, timed
 * and cross-checked.
 *
 * Scenario B: the same agents all idle, tasks arriving one by one and picking
 * an agent by their queue's strategy among many available ones.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Channel } from '../../../server/domain/channel.js';
import type { RouterDecision, RouterEvent, RouterState } from '../../../server/acd/index.js';
import { createPrng, createRouterConfig, createRouterState, route } from '../../../server/acd/index.js';
import { createNaiveRouter } from './naive-router.js';
import { generateWorld } from './world.js';

const SEED = Number(process.env.BENCH_SEED ?? 42);
const DECISIONS = Number(process.env.BENCH_DECISIONS ?? 40_000);
/** BENCH_NAIVE=0 skips the baseline segment. */
const WITH_NAIVE = process.env.BENCH_NAIVE !== '0';
const SIZES = { skills: 200, groups: 20, queues: 50, agents: 5_000 };
const BACKLOG = 10_000;
const T0 = 1_736_154_000_000;

const pct = (sorted: Float64Array, p: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const us = (ms: number): string => `${(ms * 1000).toFixed(1)} µs`;

function summary(label: string, samples: number[]): string {
  const a = Float64Array.from(samples).sort();
  const total = samples.reduce((x, y) => x + y, 0);
  return `${label.padEnd(34)} n=${String(samples.length).padStart(6)}  p50 ${us(pct(a, 50)).padStart(9)}  p99 ${us(pct(a, 99)).padStart(9)}  max ${us(a[a.length - 1] ?? NaN).padStart(10)}  mean ${us(total / samples.length).padStart(9)}`;
}

function main(): void {
  const cpus = os.cpus();
  console.log('routing benchmark');
  console.log(`machine: ${cpus[0]?.model ?? 'unknown'} · ${cpus.length} cores · node ${process.version} · ${os.platform()} ${os.arch()} · load avg ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`world: ${SIZES.agents} agents · ${SIZES.skills} skills · ${SIZES.queues} queues · backlog ${BACKLOG} · seed ${SEED}`);

  const rng = createPrng(SEED);
  const world = generateWorld(rng, SIZES);
  const config = createRouterConfig({ version: 'bench', queues: world.queues, ringAllMax: 5 });

  // ------------------------------------------------------------ scenario A
  let state: RouterState = createRouterState(config, T0);
  const naive = createNaiveRouter(config);
  let measuring = false;
  let now = T0;
  let taskSeq = 0;
  const active: { agentId: string; taskId: string; channel: Channel }[] = [];
  const callTimes: Record<string, number[]> = { capacity_released: [], task_enqueued: [], offer_accepted: [], other: [] };
  let routeCallMs = 0;
  let routeDecisions = 0;

  const send = (event: RouterEvent): readonly RouterDecision[] => {
    const t = performance.now();
    const r = route(state, event, now);
    const dt = performance.now() - t;
    state = r.state;
    if (measuring) {
      (callTimes[event.type] ?? callTimes.other!).push(dt);
      routeCallMs += dt;
      for (const d of r.decisions) if (d.kind === 'route') routeDecisions++;
    }
    naive.observe(r.decisions, now);
    return r.decisions;
  };
  const acceptAll = (ds: readonly RouterDecision[]): void => {
    for (const d of ds) {
      if (d.kind !== 'route') continue;
      const offer = d.offers[0]!;
      send({ type: 'offer_accepted', offerId: offer.id });
      active.push({ agentId: offer.agentId, taskId: offer.taskId, channel: offer.channel });
    }
  };
  const arrive = (): void => {
    const task = world.makeTask(taskSeq++, now);
    naive.enqueued(task, now);
    acceptAll(send({ type: 'task_enqueued', task }));
  };

  const buildStart = performance.now();
  for (const a of world.agents) {
    send({ type: 'agent_upserted', agent: a });
    naive.agentAdded(a);
    acceptAll(send({ type: 'agent_presence_changed', agentId: a.id, presence: { kind: 'ready' } }));
  }
  while (naive.waiting < BACKLOG) {
    now += 5;
    arrive();
  }
  const buildMs = performance.now() - buildStart;
  console.log(`\nscenario A: built in ${(buildMs / 1000).toFixed(1)} s: ${taskSeq} arrivals, ${active.length} tasks in hand, ${naive.waiting} waiting`);

  // Segment 1: the router alone (after a JIT warm-up). Segment 2: the same loop
  // with the naive baseline choosing first, for its timing and a cross-check;
  // its scan thrashes caches and the GC, so the router's figures there are worse.
  const naiveTimes: number[] = [];
  let compared = 0;
  let mismatches = 0;
  let skipped = 0;
  let withNaive = false;
  const step = (): void => {
    now += 2;
    const i = rng.int(active.length);
    const w = active[i]!;
    active[i] = active[active.length - 1]!;
    active.pop();
    naive.released(w.agentId, w.channel);
    let expected: string | undefined;
    if (withNaive) {
      const tn = performance.now();
      expected = naive.bestTaskFor(w.agentId, now);
      naiveTimes.push(performance.now() - tn);
    }
    const ds = send({ type: 'capacity_released', agentId: w.agentId, taskId: w.taskId });
    if (withNaive) {
      const routes = ds.filter((d): d is Extract<RouterDecision, { kind: 'route' }> => d.kind === 'route');
      if (routes.some((d) => d.decision.trigger !== 'agent_available')) skipped++;
      else {
        compared++;
        const got = routes.find((d) => d.decision.agentIds.includes(w.agentId))?.decision.taskId;
        if (got !== expected) mismatches++;
      }
    }
    acceptAll(ds);
    while (naive.waiting < BACKLOG) {
      now += 1;
      arrive();
    }
  };
  const segment = (steps: number): void => {
    for (const k of Object.keys(callTimes)) callTimes[k] = [];
    routeCallMs = 0;
    routeDecisions = 0;
    measuring = true;
    const decisionLatency: number[] = [];
    for (let k = 0; k < steps; k++) {
      const before = routeDecisions;
      const n = callTimes.capacity_released!.length;
      step();
      if (routeDecisions > before) decisionLatency.push(callTimes.capacity_released![n]!);
    }
    measuring = false;
    const releaseMs = callTimes.capacity_released!.reduce((x, y) => x + y, 0);
    console.log(summary('decision (release -> offer)', decisionLatency));
    console.log(summary('  all capacity_released calls', callTimes.capacity_released!));
    console.log(summary('  task_enqueued calls (backlog)', callTimes.task_enqueued!));
    console.log(summary('  offer_accepted calls', callTimes.offer_accepted!));
    console.log(
      `  throughput: ${Math.round(routeDecisions / (routeCallMs / 1000)).toLocaleString('en')} decisions/s of route() time over every call` +
        ` (releases, arrivals, accepts); ${Math.round(decisionLatency.length / (releaseMs / 1000)).toLocaleString('en')}/s over release calls`,
    );
  };

  for (let k = 0; k < 5_000; k++) step();
  console.log(`-- router alone, ${DECISIONS} releases`);
  segment(DECISIONS);
  if (WITH_NAIVE) {
    const n = Math.max(1, Math.floor(DECISIONS / 4));
    withNaive = true;
    console.log(`-- same loop with the naive baseline choosing first, ${n} releases`);
    segment(n);
    withNaive = false;
    console.log(summary('baseline: naive full scan', naiveTimes));
    console.log(`  baseline throughput: ${Math.round(naiveTimes.length / (naiveTimes.reduce((x, y) => x + y, 0) / 1000)).toLocaleString('en')} choices/s`);
    console.log(`  cross-check: ${compared} compared, ${mismatches} mismatches, ${skipped} skipped (timer-driven decisions in the same call)`);
  }
  console.log(`heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB`);

  // ------------------------------------------------------------ scenario B
  state = createRouterState(config, now);
  measuring = false;
  for (const a of world.agents) {
    send({ type: 'agent_upserted', agent: a });
    send({ type: 'agent_presence_changed', agentId: a.id, presence: { kind: 'ready' } });
  }
  const pickTimes: number[] = [];
  const noAgent: number[] = [];
  const bStep = (record: boolean): void => {
    now += 3;
    const task = world.makeTask(taskSeq++, now);
    const t = performance.now();
    const r = route(state, { type: 'task_enqueued', task }, now);
    const dt = performance.now() - t;
    state = r.state;
    const d = r.decisions.find((x): x is Extract<RouterDecision, { kind: 'route' }> => x.kind === 'route');
    if (record) (d !== undefined ? pickTimes : noAgent).push(dt);
    if (d === undefined) {
      state = route(state, { type: 'task_cancelled', taskId: task.id }, now).state;
      return;
    }
    state = route(state, { type: 'offer_accepted', offerId: d.offers[0]!.id }, now).state;
    state = route(state, { type: 'capacity_released', agentId: d.offers[0]!.agentId, taskId: task.id }, now).state;
  };
  for (let k = 0; k < 5_000; k++) bStep(false);
  for (let k = 0; k < DECISIONS; k++) bStep(true);
  console.log(`\nscenario B: ${SIZES.agents} agents idle, each arrival picks an agent by its queue's strategy`);
  console.log(summary('decision (arrival -> offer)', pickTimes));
  console.log(summary('  arrival, no eligible agent', noAgent));
  console.log(`throughput: ${Math.round(pickTimes.length / (pickTimes.reduce((x, y) => x + y, 0) / 1000)).toLocaleString('en')} decisions/s`);
}

main();
