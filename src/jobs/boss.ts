/**
 * pg-boss: Postgres-backed jobs derived from ingest. Snapshot jobs are inserted in the same
 * transaction as the write that made them due, so each is scheduled exactly once however many
 * worker replicas run; pg-boss hands each job to one worker; the interval sweep is a pg-boss schedule
 * (one occurrence per minute across replicas).
 */
import { PgBoss } from 'pg-boss';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../config.ts';
import { systemClock, type Clock } from '../clock.ts';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import { transaction, type TxQuery } from '../db/query.ts';
import { DUE_INTERVAL_SQL, INSERT_FINAL_SNAPSHOTS_SQL, INSERT_PENDING_SNAPSHOTS_SQL } from '../db/sql/snapshots.ts';
import { STALE_GAPS_SQL } from '../db/sql/session-state.ts';
import type { SessionWatermark } from '../db/sql/upsert-sessions.ts';
import { foldStates } from '../workers/fold-state.ts';
import { ABANDON_INACTIVE_SQL, DELETE_EXPIRED_QUEUE_SQL } from '../db/sql/cleanup.ts';
import { takeSnapshot, type SnapshotJob } from '../snapshots/take.ts';
import { rateFinishedSessions } from '../aggregates/ratings.ts';
import { closeEndedPeriods } from '../aggregates/close-periods.ts';
import type { RatingsScheduler, SnapshotScheduler } from '../workers/write-batch.ts';

export const PGBOSS_SCHEMA = 'pgboss';
export const SNAPSHOT_QUEUE = 'gp-snapshot';
export const SNAPSHOT_SWEEP_QUEUE = 'gp-snapshot-sweep';
export const CLEANUP_QUEUE = 'gp-cleanup';
export const RATINGS_QUEUE = 'gp-ratings';
export const PERIODS_QUEUE = 'gp-periods';
export const PGBOSS_QUEUES = [SNAPSHOT_QUEUE, SNAPSHOT_SWEEP_QUEUE, CLEANUP_QUEUE, RATINGS_QUEUE, PERIODS_QUEUE];

export interface CleanupResult {
  abandoned: string[];
  expiredQueueEntries: number;
}

/**
 * Abandons sessions without events for `abandonAfterS` (with a final snapshot of their state, in the
 * same transaction) and removes expired join-queue entries.
 */
export async function runCleanup(orm: MikroORM, cfg: Readonly<Config>, enqueue?: SnapshotScheduler['enqueue']): Promise<CleanupResult> {
  return transaction(orm, async (q) => {
    const abandoned = cfg.abandonAfterS > 0 ? (await q<{ id: string }>(ABANDON_INACTIVE_SQL, [cfg.abandonAfterS])).map((r) => r.id) : [];
    if (abandoned.length && enqueue) {
      const finals = await q<{ session_id: string; seq: string }>(INSERT_FINAL_SNAPSHOTS_SQL, [abandoned]);
      if (finals.length) await enqueue(q, finals.map((f) => ({ sessionId: f.session_id, reason: 'final' as const, seq: Number(f.seq) })));
    }
    const expired = await q(DELETE_EXPIRED_QUEUE_SQL);
    return { abandoned, expiredQueueEntries: expired.length };
  });
}

export interface Jobs {
  boss: PgBoss;
  snapshots: SnapshotScheduler;
  /** Null when aggregates are off. */
  ratings: RatingsScheduler | null;
  /** Snapshot jobs run and snapshots taken by this process (a job finding its work done takes none). */
  stats: { snapshotJobs: number; snapshots: number; hashMismatches: number };
  stop(): Promise<void>;
}

/** pg-boss runs our SQL through the caller's transaction when given this. */
const inTransaction = (q: TxQuery) => ({ db: { executeSql: async (text: string, values?: unknown[]) => ({ rows: await q(text, values ?? []) }) } });

/**
 * No singletonKey: each job is scheduled once by construction (in the transaction that made it due),
 * and a key shared by two due snapshots of one session would drop the second while the first waits.
 */
function toInsert(jobs: SnapshotJob[]) {
  return jobs.map((j) => ({ data: j, retryLimit: 5, retryBackoff: true }));
}

/**
 * Schedules an interval snapshot for every active session whose state changed and whose last
 * snapshot is older than `snapshotIntervalS`; marks them in the same transaction. Returns their ids.
 */
export async function runSnapshotSweep(orm: MikroORM, cfg: Readonly<Config>, boss: PgBoss): Promise<string[]> {
  return transaction(orm, async (q) => {
    const due = await q<{ id: string }>(DUE_INTERVAL_SQL, [cfg.snapshotIntervalS]);
    if (due.length) await boss.insert(SNAPSHOT_QUEUE, toInsert(due.map((d) => ({ sessionId: d.id, reason: 'interval' }))), inTransaction(q));
    return due.map((d) => d.id);
  });
}

/**
 * Folds past gaps older than `gapTimeoutS` in sessions no new batch has touched since (a batch does
 * it on its own when one arrives). Runs with the clean-up. Returns how many turn results it folded.
 */
export async function runGapSweep(orm: MikroORM, cfg: Readonly<Config>, snapshots?: SnapshotScheduler): Promise<number> {
  if (!cfg.liveState || cfg.gapTimeoutS <= 0) return 0;
  return transaction(orm, async (q) => {
    const marks = await q<SessionWatermark>(STALE_GAPS_SQL, [cfg.gapTimeoutS]);
    if (!marks.length) return 0;
    const fold = await foldStates(q, marks, { snapshotEveryTurns: snapshots?.everyTurns ?? 0, gapTimeoutS: cfg.gapTimeoutS });
    if (snapshots && fold.captured.length) await q(INSERT_PENDING_SNAPSHOTS_SQL, [JSON.stringify(fold.captured)]);
    if (snapshots && fold.snapshots.length) await snapshots.enqueue(q, fold.snapshots);
    return fold.applied;
  });
}

export async function startJobs(cfg: Readonly<Config>, orm: MikroORM, log: Logger, clock: Clock = systemClock): Promise<Jobs> {
  const boss = new PgBoss({ connectionString: cfg.databaseUrl, schema: PGBOSS_SCHEMA, max: 2 });
  boss.on('error', (e: unknown) => log.error({ err: errorMessage(e) }, 'pg-boss error'));
  await boss.start();
  for (const name of PGBOSS_QUEUES) await boss.createQueue(name);
  const stats = { snapshotJobs: 0, snapshots: 0, hashMismatches: 0 };

  await boss.work<SnapshotJob>(SNAPSHOT_QUEUE, { batchSize: 20 }, async (jobs) => {
    for (const job of jobs) {
      stats.snapshotJobs++;
      const taken = await takeSnapshot(orm, job.data, cfg.snapshotKeep);
      if (!taken) continue;
      stats.snapshots++;
      if (taken.hashMatches === false) {
        stats.hashMismatches++;
        log.warn({ session: job.data.sessionId, seq: taken.seq }, 'snapshot hash mismatch: the game server sent a different state hash');
      }
    }
  });
  if (cfg.snapshotIntervalS > 0) {
    await boss.schedule(SNAPSHOT_SWEEP_QUEUE, '* * * * *');
    await boss.work(SNAPSHOT_SWEEP_QUEUE, async () => {
      await runSnapshotSweep(orm, cfg, boss);
    });
  }

  const snapshots: SnapshotScheduler = {
    everyTurns: cfg.snapshotEveryTurns,
    async enqueue(q, jobs) {
      await boss.insert(SNAPSHOT_QUEUE, toInsert(jobs), inTransaction(q));
    },
  };
  await boss.schedule(CLEANUP_QUEUE, '* * * * *');
  await boss.work(CLEANUP_QUEUE, async () => {
    const folded = await runGapSweep(orm, cfg, snapshots);
    if (folded) log.warn({ folded }, 'folded past sequence gaps that timed out');
    const r = await runCleanup(orm, cfg, snapshots.enqueue);
    if (r.abandoned.length || r.expiredQueueEntries) log.info({ abandoned: r.abandoned.length, expiredQueueEntries: r.expiredQueueEntries }, 'clean-up');
  });

  if (cfg.aggregates) {
    // Ratings of finished sessions and the closing of ended periods: each occurrence runs on one replica.
    await boss.schedule(RATINGS_QUEUE, '* * * * *');
    await boss.work(RATINGS_QUEUE, async () => {
      const n = await rateFinishedSessions(orm, cfg.ratingDelayS);
      if (n) log.info({ sessions: n }, 'ratings updated');
    });
    await boss.schedule(PERIODS_QUEUE, '* * * * *');
    await boss.work(PERIODS_QUEUE, async () => {
      const closed = await closeEndedPeriods(orm, { clock });
      if (closed.length) log.info({ periods: closed }, 'leaderboard periods closed and archived');
    });
  }

  // A batch that finishes sessions enqueues one ratings run, due GP_RATING_DELAY_S later, in its own
  // transaction: ratings land seconds after a game ends instead of at the next minute's schedule.
  const ratings: RatingsScheduler | null = cfg.aggregates
    ? { enqueue: async (q) => void (await boss.insert(RATINGS_QUEUE, [{ data: {}, startAfter: cfg.ratingDelayS + 1 }], inTransaction(q))) }
    : null;

  return {
    boss,
    stats,
    snapshots,
    ratings,
    async stop() {
      await boss.stop({ graceful: true, timeout: 10_000 });
    },
  };
}
