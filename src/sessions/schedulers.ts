/**
 * The jobs a session step can make due, scheduled in the transaction that made them due (so each is
 * scheduled exactly once, however many replicas run). pg-boss implements both (src/jobs/boss.ts); the
 * steps that make them due (a batch, an issued-seq report, the gap sweep) only see these interfaces,
 * which keeps the write path and the job handlers from importing each other.
 */
import type { TxQuery } from '../db/query.ts';
import type { SnapshotJob } from '../snapshots/take.ts';
import type { AdvanceResult } from './advance.ts';

export interface SnapshotScheduler {
  /** Take a snapshot every this many turns (GP_SNAPSHOT_EVERY_TURNS). */
  everyTurns: number;
  enqueue(q: TxQuery, jobs: SnapshotJob[]): Promise<void>;
}

export interface RatingsScheduler {
  /** Schedules a ratings run in the batch's transaction (called when the batch finished a session). */
  enqueue(q: TxQuery): Promise<void>;
}

/** Where the jobs a session step made due go; a scheduler left out schedules nothing. */
export interface Schedulers {
  snapshots?: SnapshotScheduler | null;
  ratings?: RatingsScheduler | null;
}

/**
 * Schedules, in the step's transaction, the snapshots that fell due and one ratings run when a session
 * it advanced became final as finished.
 */
export async function scheduleDue(q: TxQuery, adv: AdvanceResult, to: Schedulers): Promise<void> {
  if (to.snapshots && adv.snapshots.length) await to.snapshots.enqueue(q, adv.snapshots);
  if (to.ratings && [...adv.changes.values()].some((c) => c.becameFinal && c.finished)) await to.ratings.enqueue(q);
}
