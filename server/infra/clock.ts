/** The clock is a port: the shell reads time here and hands it to the pure core. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
