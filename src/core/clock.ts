/** Time source, injectable so that schedulers and tests can move time without waiting for it. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = Object.freeze({ now: () => Date.now() });
