// Time as the broker sees it, injected so tests control it (style.md: time is injected).

/** Wall-clock time source. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
