import t from 'tap';
import type { WaitSample } from '../../../server/acd/estimate-wait.js';
import { estimateWait, gammaQuantile, normalQuantile, trigamma } from '../../../server/acd/estimate-wait.js';
import { createPrng } from '../../../server/acd/prng.js';

const NOW = 1_736_154_000_000;
const MIN = 60_000;

/** Answers every `gap` ms over the last 30 minutes, each after a 40 s wait. */
const steady = (gap: number): WaitSample[] =>
  Array.from({ length: Math.floor((30 * MIN) / gap) }, (_, i) => ({ at: NOW - i * gap, waitedMs: 40_000, outcome: 'answered' as const }));

t.test('given the normal and gamma quantiles when evaluated then they match reference values', async (t) => {
  t.ok(Math.abs(normalQuantile(0.975) - 1.959964) < 1e-5);
  t.ok(Math.abs(normalQuantile(0.1) + 1.281552) < 1e-5);
  // Gamma(4, 1) median is 3.67206.
  t.ok(Math.abs(gammaQuantile(4, 1, 0.5) - 3.67206) / 3.67206 < 0.01);
  t.ok(Math.abs(trigamma(1) - Math.PI ** 2 / 6) < 1e-9, 'trigamma(1) = pi^2/6');
  t.ok(Math.abs(trigamma(30) - 0.0339) < 1e-4);
});

t.test('given more free agents than tasks ahead when estimating then the wait is zero', async (t) => {
  t.match(estimateWait({ now: NOW, samples: steady(MIN), position: 1, agentsAvailable: 2 }), { basis: 'agent_available', p50: 0, high: 0 });
});

t.test('given a steady answer rate when estimating by position then the median follows the Gamma law', async (t) => {
  const e = estimateWait({ now: NOW, samples: steady(30_000), position: 3, agentsAvailable: 0 });
  t.equal(e.basis, 'throughput');
  if (e.basis !== 'throughput') return;
  t.ok(Math.abs(e.answersPerMinute! - 2) < 0.05, `${e.answersPerMinute} answers/min`);
  // Four answers at 2/min: median 3.672 / 2 min = 110.2 s.
  t.ok(Math.abs(e.p50 - 110_200) < 2_000, `p50 ${e.p50}`);
  t.ok(e.low < e.p50 && e.p50 < e.high, 'the range brackets the median');
  const further = estimateWait({ now: NOW, samples: steady(30_000), position: 10, agentsAvailable: 0 });
  t.ok(further.basis === 'throughput' && further.p50 > e.p50, 'further back waits longer');
  const old = estimateWait({ now: NOW + 60 * MIN, samples: steady(30_000), position: 3, agentsAvailable: 0 });
  t.equal(old.basis, 'none', 'samples older than the window are ignored');
});

t.test('given Poisson answers when the future is drawn then the 80 % range holds the actual wait about 80 % of the time', async (t) => {
  const rng = createPrng(99);
  let inside = 0;
  const trials = 2_000;
  for (let i = 0; i < trials; i++) {
    const ratePerMs = (0.5 + rng.next() * 3) / MIN;
    const samples: WaitSample[] = [];
    for (let at = NOW - 30 * MIN + rng.exponential(1 / ratePerMs); at <= NOW; at += rng.exponential(1 / ratePerMs)) {
      samples.push({ at, waitedMs: 30_000, outcome: 'answered' });
    }
    const position = rng.int(15);
    const e = estimateWait({ now: NOW, samples, position, agentsAvailable: 0 });
    if (e.basis !== 'throughput') continue;
    let actual = 0;
    for (let k = 0; k <= position; k++) actual += rng.exponential(1 / ratePerMs);
    if (actual >= e.low && actual <= e.high) inside++;
  }
  const share = inside / trials;
  t.ok(share > 0.76 && share < 0.84, `${(share * 100).toFixed(1)} % inside the 80 % range`);
});

t.test('given few answers and many abandonments when estimating from history then abandonments count as censored waits', async (t) => {
  const s = (waitedMs: number, outcome: 'answered' | 'abandoned'): WaitSample => ({ at: NOW - MIN, waitedMs, outcome });
  const samples = [s(10_000, 'answered'), s(15_000, 'abandoned'), s(20_000, 'answered'), s(25_000, 'abandoned'), s(30_000, 'answered')];
  const e = estimateWait({ now: NOW, samples, position: 0, agentsAvailable: 0, minSamples: 5 });
  // Kaplan-Meier: S(10 s) = 0.8, S(20 s) = 0.8 x 2/3 = 0.533, S(30 s) = 0: median 30 s (answered-only would say 20 s).
  t.match(e, { basis: 'history', p50: 30_000, low: 10_000, high: 30_000, sampleCount: 5 });
  t.match(estimateWait({ now: NOW, samples: samples.slice(0, 2), position: 0, agentsAvailable: 0, minSamples: 5 }), { basis: 'none', sampleCount: 2 });
});
