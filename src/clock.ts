/**
 * Time as an input. Code whose result depends on the calendar (which period is current, which periods
 * have ended, the last N days) takes a Clock instead of asking the system, so tests pass a fixed one
 * and nothing depends on the day it runs. Elapsed-time checks that compare two database timestamps
 * (idle sessions, gap timeouts, rating delays) use PostgreSQL's own clock on both sides instead.
 */
export interface Clock {
  /** The current time. */
  now(): Date;
}

export const systemClock: Clock = Object.freeze({ now: () => new Date() });

/** A clock stopped at `at` (tests, replays). */
export function fixedClock(at: Date | string): Clock {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) throw new TypeError(`fixedClock: not a time: ${String(at)}`);
  return Object.freeze({ now: () => new Date(d) });
}
