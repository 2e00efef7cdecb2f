/**
 * One difference `verify` found (./verify.ts). Its own module: verify.ts and the session part it calls
 * (./verify-sessions.ts) both report drift, and neither may import the other back (no cycles).
 */
export interface Drift {
  /**
   * stats, participants (counters, or fields that differ from recomputing the participant's events),
   * sessions (fields that differ from recomputing the session's events), buckets, ratings (stored vs
   * replayed), ratings_input (a rated session whose input changed since it was rated: stale).
   */
  kind: 'stats' | 'participants' | 'sessions' | 'buckets' | 'ratings' | 'ratings_input';
  key: string;
  actual: unknown;
  expected: unknown;
}
