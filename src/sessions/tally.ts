/**
 * What advancing sessions did, counted the same way on every path that advances them: one transaction
 * of a batch, a whole batch (summed over the transactions a bad row split it into), an issued-seq report
 * and the gap sweep. Each path adds its tallies with `addTally`; the worker turns a tally into its
 * metrics, stats and log lines in one place (src/process/record.ts).
 */

/** A session whose sequence gap was given up: the watermark before and after, and the seqs taken as lost. */
export interface GapGivenUp {
  id: string;
  from: number;
  to: number;
  lost: number;
}

export interface SessionCounts {
  /** Turn results folded into live states. */
  turnsFolded: number;
  /** Sessions whose turn results wait behind a sequence gap (counted per transaction). */
  sessionsWaiting: number;
  /** Sessions whose live state was folded again from an earlier point (a late turn result or end). */
  refolds: number;
  /** Events found sharing their seq with another event of their session (recorded in seq_conflicts). */
  seqConflicts: number;
  /** Document writes applied, refused for their expectedVersion, refused by the owner limit. */
  docsApplied: number;
  docConflicts: number;
  docsOverLimit: number;
  /** Turn results refused by GP_MAX_STATE_BYTES (recorded as state_too_large dead letters). */
  statesTooLarge: number;
  /** Seqs given up as lost (gaps past GP_GAP_TIMEOUT_S), and given-up seqs that arrived after all. */
  seqsGivenUp: number;
  seqsLate: number;
  /** Sessions whose gap was given up (`gaveUp` keeps the first few of them). */
  sessionsGivenUp: number;
}

export interface SessionTally extends SessionCounts {
  /** The first GAVE_UP_KEPT sessions whose gap was given up, for the log line. */
  gaveUp: GapGivenUp[];
}

/** Sessions a tally names in `gaveUp` at most: a log line shows the first few, `sessionsGivenUp` counts all. */
export const GAVE_UP_KEPT = 10;

// The one list of the counters: a field added to SessionCounts fails to compile here until it is
// listed, and addTally then sums it.
const ZERO: Readonly<SessionCounts> = {
  turnsFolded: 0,
  sessionsWaiting: 0,
  refolds: 0,
  seqConflicts: 0,
  docsApplied: 0,
  docConflicts: 0,
  docsOverLimit: 0,
  statesTooLarge: 0,
  seqsGivenUp: 0,
  seqsLate: 0,
  sessionsGivenUp: 0,
};
const COUNTS = Object.keys(ZERO) as (keyof SessionCounts)[];

export function emptyTally(): SessionTally {
  return { ...ZERO, gaveUp: [] };
}

/** Adds `t` into `into` (the first GAVE_UP_KEPT given-up sessions are kept); returns `into`. */
export function addTally(into: SessionTally, t: Readonly<SessionTally>): SessionTally {
  for (const k of COUNTS) into[k] += t[k];
  into.gaveUp.push(...t.gaveUp.slice(0, Math.max(0, GAVE_UP_KEPT - into.gaveUp.length)));
  return into;
}

/** Counts a session whose gap was given up (its seqs are in `seqsGivenUp` already). */
export function noteGaveUp(t: SessionTally, gap: GapGivenUp): void {
  t.sessionsGivenUp++;
  if (t.gaveUp.length < GAVE_UP_KEPT) t.gaveUp.push(gap);
}
