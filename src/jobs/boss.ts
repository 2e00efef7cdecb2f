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
import { pgConnectionOptions } from '../db/tls.ts';
import { DUE_INTERVAL_SQL, INSERT_IDLE_SNAPSHOTS_SQL } from '../db/sql/snapshots.ts';
import { LOCK_STALE_GAPS_SQL, type LockedSession } from '../db/sql/sessions.ts';
import { advanceSessions } from '../sessions/advance.ts';
import { gaveUpMessage } from '../sessions/sequencer.ts';
import { ABANDON_IDLE_SQL, DELETE_EXPIRED_QUEUE_SQL } from '../db/sql/cleanup.ts';
import { deletedCounts, runRetention } from '../ops/retention.ts';
import { pollErasureRequests } from '../ops/erasure-requests.ts';
import { RETENTION_CLASSES, type RetentionClass } from '../db/retention.ts';
import { DELETE_EXPIRED_COUNTERS_SQL } from '../db/sql/sequence-counters.ts';
import { DELETE_EXPIRED_RECORDS_SQL } from '../db/sql/api-records.ts';
import { takeSnapshot, type SnapshotJob } from '../snapshots/take.ts';
import { rateFinishedSessions } from '../aggregates/ratings.ts';
import type { QueueHorizon } from '../queue/horizon.ts';
import { closeEndedPeriods } from '../aggregates/close-periods.ts';
import { scheduleDue, type RatingsScheduler, type SnapshotScheduler } from '../sessions/schedulers.ts';
import { emptyTally, type SessionTally } from '../sessions/tally.ts';
import { checkJobs } from './install.ts';

export const PGBOSS_SCHEMA = 'pgboss';
/** Retention (src/ops/retention.ts): hourly. */
export const RETENTION_QUEUE = 'gp-retention';
export const SNAPSHOT_QUEUE = 'gp-snapshot';
export const SNAPSHOT_SWEEP_QUEUE = 'gp-snapshot-sweep';
export const CLEANUP_QUEUE = 'gp-cleanup';
export const RATINGS_QUEUE = 'gp-ratings';
export const PERIODS_QUEUE = 'gp-periods';
/**
 * Where a pg-boss job of ours whose retries ran out is copied (pg-boss's per-queue `deadLetter`). No
 * worker takes it: it waits there, counted by gp_pgboss_jobs{queue="gp-dead-jobs"} (alert
 * GamePersistPgBossJobsExhausted), until an operator redrives or deletes it (README, "Dead letters").
 */
export const PGBOSS_DEAD_QUEUE = 'gp-dead-jobs';
/** Kept ten years: a dead job is removed by an operator, never expired unseen. */
const PGBOSS_DEAD_RETENTION_S = 10 * 365 * 86_400;
export const PGBOSS_QUEUES = [SNAPSHOT_QUEUE, SNAPSHOT_SWEEP_QUEUE, CLEANUP_QUEUE, RATINGS_QUEUE, PERIODS_QUEUE, RETENTION_QUEUE, PGBOSS_DEAD_QUEUE];
/** pg-boss's schema, our queues and where their exhausted jobs go, as `migrate` installs them (./install.ts). */
export const JOBS_SCHEMA = { schema: PGBOSS_SCHEMA, queues: PGBOSS_QUEUES, deadLetter: { queue: PGBOSS_DEAD_QUEUE, retentionSeconds: PGBOSS_DEAD_RETENTION_S } } as const;
/** A snapshot job takes milliseconds; one active longer belongs to a worker that died. */
const SNAPSHOT_JOB_EXPIRE_S = 30;

export interface CleanupResult {
  /** Sessions marked abandoned for idleness (not an end: their next event brings them back). */
  abandoned: string[];
  expiredQueueEntries: number;
  /** Sequence counters and API records past their expiry (PostgreSQL queue backend; the database's clock, as Redis's TTLs). */
  expiredRecords: number;
}

/**
 * Marks sessions idle past their timeout abandoned (settings.idleTimeoutS, GP_IDLE_TIMEOUTS per game
 * type, or GP_ABANDON_AFTER_S), with an `idle` snapshot of their state in the same transaction, and
 * removes join-queue entries whose expiry passed by `clock`, and the PostgreSQL queue backend's
 * expired sequence counters and API records (what Redis expires by itself).
 */
export async function runCleanup(orm: MikroORM, cfg: Readonly<Config>, enqueue?: SnapshotScheduler['enqueue'], clock: Clock = systemClock): Promise<CleanupResult> {
  return transaction(orm, async (q) => {
    const abandoned = (await q<{ id: string }>(ABANDON_IDLE_SQL, [cfg.abandonAfterS, JSON.stringify(cfg.idleTimeouts)])).map((r) => r.id);
    if (abandoned.length && enqueue) {
      const snaps = await q<{ session_id: string; seq: string }>(INSERT_IDLE_SNAPSHOTS_SQL, [abandoned]);
      if (snaps.length) await enqueue(q, snaps.map((f) => ({ sessionId: f.session_id, reason: 'idle' as const, seq: Number(f.seq) })));
    }
    const expired = await q(DELETE_EXPIRED_QUEUE_SQL, [clock.now()]);
    const [counters] = await q<{ n: number }>(DELETE_EXPIRED_COUNTERS_SQL, []);
    const [records] = await q<{ n: number }>(DELETE_EXPIRED_RECORDS_SQL, []);
    return { abandoned, expiredQueueEntries: expired.length, expiredRecords: counters!.n + records!.n };
  });
}

export interface Jobs {
  boss: PgBoss;
  snapshots: SnapshotScheduler;
  /** Null when aggregates are off. */
  ratings: RatingsScheduler | null;
  /**
   * Snapshot jobs run and snapshots taken by this process (a job finding its work done takes none);
   * seqs its gap sweeps gave up as lost.
   */
  stats: { snapshotJobs: number; snapshots: number; hashMismatches: number; seqsGivenUp: number };
  /** Rows this process's retention runs deleted, per class. */
  retained: Record<RetentionClass, number>;
  stop(): Promise<void>;
}

/** pg-boss runs our SQL through the caller's transaction when given this. */
const inTransaction = (q: TxQuery) => ({ db: { executeSql: async (text: string, values?: unknown[]) => ({ rows: await q(text, values ?? []) }) } });

/**
 * No singletonKey: each job is scheduled once by construction (in the transaction that made it due),
 * and a key shared by two due snapshots of one session would drop the second while the first waits.
 */
function toInsert(jobs: SnapshotJob[]) {
  // A snapshot job can lose a lock race with a batch on the same session (lock_timeout): retried, with
  // backoff, long enough that it never ends unhashed behind a busy session.
  // A worker killed while it holds jobs leaves them active: they expire (and run again, harmlessly) after
  // expireInSeconds, checked every superviseIntervalSeconds, instead of pg-boss's default 15 minutes.
  return jobs.map((j) => ({ data: j, retryLimit: 20, retryDelay: 1, retryBackoff: true, retryDelayMax: 30, expireInSeconds: SNAPSHOT_JOB_EXPIRE_S }));
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
 * Gives up gaps older than `gapTimeoutS` in sessions no new batch has touched since (a batch does it on
 * its own when one arrives): the watermark moves past them, the missing seqs are counted as lost, the
 * live state folds on, and a session that became final gets its final snapshot and its rating. Runs
 * with the clean-up. Returns what it did (src/sessions/tally.ts).
 */
export async function runGapSweep(orm: MikroORM, cfg: Readonly<Config>, snapshots?: SnapshotScheduler, ratings?: RatingsScheduler | null): Promise<SessionTally> {
  if (cfg.gapTimeoutS <= 0) return emptyTally();
  return transaction(orm, async (q) => {
    const locked = await q<LockedSession>(LOCK_STALE_GAPS_SQL, [cfg.gapTimeoutS]);
    if (!locked.length) return emptyTally();
    const adv = await advanceSessions(q, locked, new Map(), new Map(), new Map(), new Map(), {
      liveState: cfg.liveState,
      snapshots: !!snapshots,
      snapshotEveryTurns: snapshots?.everyTurns ?? 0,
      gapTimeoutS: cfg.gapTimeoutS,
      maxOwnerDocumentBytes: cfg.maxOwnerDocumentBytes,
      maxStateBytes: cfg.maxStateBytes,
    });
    await scheduleDue(q, adv, { snapshots, ratings });
    return adv.tally;
  });
}

export interface JobsOptions {
  /** The events queue's horizon: ratings of sessions with seqs given up wait for it (src/aggregates/ratings.ts). */
  horizon?: QueueHorizon;
  /**
   * Given the stop function as soon as pg-boss runs, so that a start failing after that (a schedule
   * refused) stops it again.
   */
  onStart?: (stop: () => Promise<void>) => void;
}

/** Starts pg-boss and this worker's handlers and schedules. */
export async function startJobs(cfg: Readonly<Config>, orm: MikroORM, log: Logger, clock: Clock = systemClock, opts: JobsOptions = {}): Promise<Jobs> {
  // pg-boss expires a dead worker's active jobs in its per-queue monitor pass, which runs at most every
  // monitorIntervalSeconds (default 60): a SIGKILLed worker's snapshot jobs came back 53-70 s later.
  // `migrate: false`: the schema and the queues are `game-persist migrate`'s (./install.ts), so a worker
  // role with DML rights only starts; checkJobs says what to run when they are missing or outdated.
  await checkJobs(orm, JOBS_SCHEMA);
  const boss = new PgBoss({ ...pgConnectionOptions(cfg.databaseUrl), schema: PGBOSS_SCHEMA, max: 2, superviseIntervalSeconds: 10, monitorIntervalSeconds: 10, migrate: false });
  // Once stopping, pg-boss can still fetch a job and then fail to hand it back on the pool it just
  // closed ("Database connection is not opened", seen at the end of the chaos soak): that job expires
  // and runs again, as after a crash, so such an error is a warning, not an alert.
  let stopping = false;
  boss.on('error', (e: unknown) => (stopping ? log.warn({ err: errorMessage(e) }, 'pg-boss error while stopping') : log.error({ err: errorMessage(e) }, 'pg-boss error')));
  // The erasure poller, once started (below): stopped before pg-boss, since it writes through the ORM.
  let erasures: { stop(): Promise<void> } | null = null;
  const stop = async () => {
    stopping = true;
    await erasures?.stop();
    await boss.stop({ graceful: true, timeout: 10_000 });
  };
  await boss.start();
  opts.onStart?.(stop);
  const stats = { snapshotJobs: 0, snapshots: 0, hashMismatches: 0, seqsGivenUp: 0 };

  // Snapshots fall due at ingest speed (every N turns of every session): keep fetching while batches
  // come back full instead of one batch per polling interval (2 s), which capped a worker at 10 per second.
  await boss.work<SnapshotJob>(SNAPSHOT_QUEUE, { batchSize: 50, burstWhenBatchFull: true, pollingIntervalSeconds: 1 }, async (jobs) => {
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
  // A batch that makes finished sessions final enqueues one ratings run, due GP_RATING_DELAY_S later, in
  // its own transaction: ratings land seconds after a game ends instead of at the next minute's schedule.
  const ratings: RatingsScheduler | null = cfg.aggregates
    ? { enqueue: async (q) => void (await boss.insert(RATINGS_QUEUE, [{ data: {}, startAfter: cfg.ratingDelayS + 1, expireInSeconds: 300 }], inTransaction(q))) }
    : null;

  await boss.schedule(CLEANUP_QUEUE, '* * * * *');
  await boss.work(CLEANUP_QUEUE, async () => {
    const gaps = await runGapSweep(orm, cfg, snapshots, ratings);
    if (gaps.seqsGivenUp) {
      stats.seqsGivenUp += gaps.seqsGivenUp;
      log.warn({ sessions: gaps.sessionsGivenUp, lostSeqs: gaps.seqsGivenUp, foldedTurns: gaps.turnsFolded, first: gaps.gaveUp }, gaveUpMessage(cfg.gapTimeoutS));
    }
    const r = await runCleanup(orm, cfg, snapshots.enqueue, clock);
    if (r.abandoned.length || r.expiredQueueEntries) log.info({ abandoned: r.abandoned.length, expiredQueueEntries: r.expiredQueueEntries }, 'clean-up');
  });

  if (cfg.aggregates) {
    // Ratings of finished sessions and the closing of ended periods: each occurrence runs on one replica.
    await boss.schedule(RATINGS_QUEUE, '* * * * *');
    // When this process last scheduled a follow-up run for (performance.now()): every run that finds
    // sessions waiting would schedule one, and while sessions are held behind the queue horizon each
    // follow-up would schedule the next, so runs started by batches would pile up chains of them.
    let followUpAt = 0;
    await boss.work(RATINGS_QUEUE, async () => {
      const run = await rateFinishedSessions(orm, cfg.ratingDelayS, { horizon: opts.horizon });
      if (run.rated) log.info({ sessions: run.rated }, 'ratings updated');
      if (run.held) log.info({ sessions: run.held }, 'ratings held back: seqs of these sessions were given up as lost while jobs that may bring them are still in the events queue');
      // Final sessions still within their quiet period (or held): come back when the first is due, not at
      // the next minute; unless a follow-up this process scheduled comes before that anyway.
      if (run.nextDueInS !== null) {
        const startAfter = Math.ceil(run.nextDueInS) + 1;
        const due = performance.now() + startAfter * 1000;
        if (followUpAt > performance.now() && followUpAt <= due) return;
        followUpAt = due;
        await boss.send(RATINGS_QUEUE, {}, { startAfter });
      }
    });
    await boss.schedule(PERIODS_QUEUE, '* * * * *');
    await boss.work(PERIODS_QUEUE, async () => {
      const closed = await closeEndedPeriods(orm, { clock });
      if (closed.length) log.info({ periods: closed }, 'leaderboard periods closed and archived');
    });
  }

  // Retention (src/ops/retention.ts): each hourly occurrence (minute 17, away from the minutely
  // schedules' start) runs on one replica. Always scheduled, so a replica started with retention off
  // still drains the occurrences another one's schedule makes; with every GP_RETAIN_*_DAYS at 0 a run
  // does nothing.
  const RETENTION_CRON = '17 * * * *';
  const retained = Object.fromEntries(RETENTION_CLASSES.map((c) => [c, 0])) as Record<RetentionClass, number>;
  // A first run over years of rows can pass pg-boss's 15-minute expiry (1M rows took 20-25 s here, but
  // tables grow): an expired job would run again beside it (harmless, the deletes are idempotent, but
  // twice the load), so an occurrence may run until the next one is due.
  await boss.schedule(RETENTION_QUEUE, RETENTION_CRON, null, { expireInSeconds: 3600 });
  await boss.work(RETENTION_QUEUE, async () => {
    const r = await runRetention(orm, cfg, clock);
    for (const c of RETENTION_CLASSES) retained[c] += r.classes[c].deleted;
    const deleted = deletedCounts(r);
    if (Object.keys(deleted).length) log.info({ deleted, tables: r.tables }, 'retention: rows past their GP_RETAIN_*_DAYS deleted');
  });

  // Erasures asked for through the API (src/ops/erasure-requests.ts): every replica polls, each request runs once.
  erasures = pollErasureRequests(orm, cfg, log);

  return {
    boss,
    stats,
    retained,
    snapshots,
    ratings,
    stop,
  };
}
