import t from 'tap';
import type { SimScenario } from '../../../server/acd/simulate.js';
import { simulate } from '../../../server/acd/simulate.js';
import { T0, agent, queue } from './helpers/fixtures.js';

const H = 3_600_000;

// One agent, Poisson calls at 30/h, exponential handling of 60 s, instant answer: M/M/1 with rho = 0.5.
const mm1: SimScenario = {
  config: { queues: [queue('q')] },
  startAt: T0,
  durationMs: 1_000 * H,
  agents: [{ agent: agent('a1'), answerMs: 0 }],
  arrivals: [{ queueId: 'q', channel: 'voice', ratePerHour: 30, meanHandleMs: 60_000 }],
};

t.test('given an M/M/1 queue when simulated then waiting, occupancy and service level match queueing theory', async (t) => {
  const r = simulate(mm1, 1);
  const q = r.queues[0]!;
  t.ok(Math.abs(q.offered - 30_000) < 600, `${q.offered} arrivals for 30,000 expected`);
  t.equal(q.answered + q.stillWaiting, q.offered, 'nobody abandons');
  // Wq = rho / (mu - lambda) = 60 s; P(W <= 20 s) = 1 - rho e^{-(mu - lambda) 20 s} = 57.7 %.
  t.ok(Math.abs(q.averageSpeedOfAnswerMs - 60_000) < 6_000, `ASA ${Math.round(q.averageSpeedOfAnswerMs)} ms, theory 60,000`);
  t.ok(Math.abs(q.occupancyPercent - 50) < 2, `occupancy ${q.occupancyPercent.toFixed(1)} %, theory 50`);
  t.ok(Math.abs(q.serviceLevelPercent - 57.7) < 2, `service level ${q.serviceLevelPercent.toFixed(1)} %, theory 57.7`);
});

t.test('given the same scenario and seed when simulated twice then the reports are identical; another seed differs', async (t) => {
  const short = { ...mm1, durationMs: 20 * H };
  t.same(simulate(short, 5), simulate(short, 5));
  t.not(JSON.stringify(simulate(short, 5)), JSON.stringify(simulate(short, 6)));
});

t.test('given impatient callers and a what-if of more agents when simulated then abandonment falls and service level rises', async (t) => {
  const day = (agents: number): SimScenario => ({
    config: { queues: [queue('sales', { serviceLevel: { percent: 80, withinMs: 20_000 } }), queue('chat')] },
    startAt: T0,
    durationMs: 8 * H,
    agents: Array.from({ length: agents }, (_, i) => ({ agent: agent(`a${i}`), answerMs: 3_000, wrapUpMs: 10_000 })),
    arrivals: [
      { queueId: 'sales', channel: 'voice', ratePerHour: 120, meanHandleMs: 180_000, meanPatienceMs: 60_000 },
      { queueId: 'chat', channel: 'chat', ratePerHour: 60, meanHandleMs: 300_000 },
    ],
  });
  const few = simulate(day(8), 3);
  const more = simulate(day(12), 3);
  const sales = (r: typeof few) => r.queues.find((q) => q.queueId === 'sales')!;
  t.ok(sales(few).abandoned > 0, `${sales(few).abandoned} abandoned with 8 agents`);
  t.ok(sales(more).abandonmentPercent < sales(few).abandonmentPercent, 'fewer abandon with 12 agents');
  t.ok(sales(more).serviceLevelPercent > sales(few).serviceLevelPercent, 'service level rises with 12 agents');
  t.ok(few.occupancyPercent > more.occupancyPercent, 'agents are busier with 8');
  t.ok(few.routingSteps > 1_000 && few.routeDecisions > 500, 'the router did the work');
});
