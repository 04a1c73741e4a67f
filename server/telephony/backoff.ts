/**
 * Capped exponential backoff with jitter. Pure: the random source is injected, so the
 * schedule is reproducible in tests.
 */
export interface BackoffPolicy {
  /** Delay before the first retry, in ms. */
  initialMs: number;
  /** Upper bound of any delay, in ms. */
  maxMs: number;
  /** Growth per attempt (2 doubles the delay). */
  factor: number;
  /**
   * Share of the delay that is random, 0..1. With 0.5 a delay of 8 s becomes a value in
   * [4 s, 8 s]: reconnecting clients of one restarted Asterisk do not all arrive at once.
   */
  jitter: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffPolicy> = Object.freeze({
  initialMs: 250,
  maxMs: 5_000,
  factor: 2,
  jitter: 0.5,
});

/** A random source returning values in [0, 1). */
export type RandomSource = () => number;

/** The delay before retry number `attempt` (0-based). */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: RandomSource): number {
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  const exponent = Math.max(0, Math.floor(attempt));
  // Grow until the cap, then stay there: no overflow to Infinity for large attempts.
  const base = Math.min(policy.maxMs, policy.initialMs * Math.pow(Math.max(1, policy.factor), exponent));
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(base * (1 - jitter + jitter * r));
}

export interface Backoff {
  /** The next delay; each call counts one attempt. */
  next(): number;
  /** Start over after a success. */
  reset(): void;
  readonly attempts: number;
}

export function createBackoff(policy: BackoffPolicy, random: RandomSource): Backoff {
  let attempts = 0;
  return {
    next() {
      const delay = backoffDelay(policy, attempts, random);
      attempts += 1;
      return delay;
    },
    reset() {
      attempts = 0;
    },
    get attempts() {
      return attempts;
    },
  };
}
