/**
 * The ingest worker: consumes the events queue with many jobs in flight, gathers their events into
 * write batches, and acknowledges each job only after its events are committed.
 *
 * Its start opens everything before it takes a single job: connections, the start-up checks, the
 * metrics and health endpoints (a port another process holds stops the start here), pg-boss, the
 * stat folding and the failed-job sweep; consuming comes last, then `worker started`. The metrics
 * queue is opened after the checks: a BullMQ object on a Redis that may evict keys would print its
 * own warning beside our refusal. A start that fails,
 * or is stopped by a signal (`deps.signal`), closes what it had opened (./start-stack.ts) and throws.
 */
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { Clock } from '../clock.ts';
import { openOrm, type MikroORM } from '../db/orm.ts';
import { query } from '../db/query.ts';
import { StartStoppedError, coerceError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { workerRedis } from '../redis.ts';
import { RedisErrorReporter } from '../redis-errors.ts';
import { openQueue, openWorker, type QueueTarget } from '../queue/backend.ts';
import type { ValidEvent } from '../contract/events.ts';
import { pgQueueHorizon, redisQueueHorizon } from '../queue/horizon.ts';
import { Batcher } from './batcher.ts';
import { parseJob } from './parse-job.ts';
import { FailedJobsSweeper, isLastAttempt, lastAttempt, type ExhaustedContext } from './exhausted.ts';
import { TypeRegistry } from '../db/event-types.ts';
import { ormReader } from '../db/reader.ts';
import { writeBatch, type WriteResult, type WriterOptions } from './write-batch.ts';
import { applyIssued } from './issued.ts';
import { gaveUpMessage } from '../sessions/sequencer.ts';
import type { SessionTally } from '../sessions/tally.ts';
import type { DeadLetterRow } from '../db/sql/dead-letters.ts';
import { LagHistogram, elapsedMs } from './lag.ts';
import { startJobs, type Jobs } from '../jobs/boss.ts';
import { classifyDbError, describeDbError, sqlState } from './db-errors.ts';
import { aggregateOptions } from '../aggregates/write.ts';
import { createMetrics, typeLabel, type Metrics, type MetricSources } from '../metrics/metrics.ts';
import { VERSION } from '../version.ts';
import { PGBOSS_QUEUES } from '../jobs/boss.ts';
import { StartStack } from './start-stack.ts';
import { preflight } from './preflight.ts';
import { startFolding } from './folding.ts';
import { bindMetricsServer, readinessChecks, type WorkerPhase } from './readiness.ts';

export interface WorkerStats {
  /** Enqueue-to-commit lag of committed events: their job's enqueue time (`job.timestamp`) to the commit. */
  lag: LagHistogram;
  /** Event-time age of committed events: their `at` to the commit (days for an imported session). */
  eventAge: LagHistogram;
  jobs: number;
  events: number;
  inserted: number;
  duplicates: number;
  deadLettered: number;
  batches: number;
  retries: number;
  failedBatches: number;
  /** Turn results folded into live session states. */
  turnsFolded: number;
  /** Jobs given up on (last attempt failed, or found in the failed set) and dead-lettered. */
  jobsExhausted: number;
  /**
   * Seqs this process gave up as lost (gaps past GP_GAP_TIMEOUT_S: in batches, issued-seq reports and
   * its gap sweeps), net of given-up seqs whose event arrived after all: what it added to sessions.lost_seqs.
   */
  lostSeqs: number;
  byType: Record<string, number>;
}

export interface WorkerHandle {
  readonly stats: WorkerStats;
  readonly orm: MikroORM;
  /** pg-boss jobs (snapshots) run by this worker; null when GP_JOBS=false. */
  readonly jobs: Jobs | null;
  /** Port of /metrics, /healthz, /readyz; null when not served. */
  readonly metricsPort: number | null;
  readonly metrics: Metrics;
  /** Dead-letters the jobs in BullMQ's failed set now, after any sweep under way (the worker also does it every minute). */
  sweepFailed(): Promise<void>;
  /** Stops fetching, commits and acknowledges what is in flight, closes connections. */
  close(): Promise<void>;
}

export interface WorkerDeps {
  log: Logger;
  /** Reuse an ORM (tests, the demo); otherwise one is opened from the config and closed on close(). */
  orm?: MikroORM;
  /** Skip the start-up checks (migrations applied; Redis eviction policy, or the PostgreSQL queue schema). */
  skipChecks?: boolean;
  /** Serve /metrics, /healthz, /readyz on this port (0: any free one); the `worker` command passes GP_METRICS_PORT. */
  metricsPort?: number;
  /** The calendar the scheduled jobs follow (which periods have ended). @defaultValue the system clock */
  clock?: Clock;
  /** Told each step of a drain as it starts (the `worker` command names the one a drain hung in). */
  onDrainStep?: (step: string) => void;
  /**
   * Stops the start: once it fires, startWorker closes what it opened and throws StartStoppedError
   * (within GP_SHUTDOWN_TIMEOUT_MS, even while it waits on a PostgreSQL or Redis that does not answer).
   * After startWorker returned, stop the worker with `close()`.
   */
  signal?: AbortSignal;
  /**
   * Called after each batch is committed and before its jobs are acknowledged: the window in which a
   * crash leaves stored events to be delivered again. The chaos suite kills the process here.
   */
  afterCommit?: (events: number) => void;
}

/** A job enqueued this much ahead of this worker's clock means the clocks disagree (logged, at most every 10 minutes). */
const SKEW_WARN_MS = 5000;
const SKEW_WARN_EVERY_MS = 10 * 60_000;

/**
 * Starts a worker. A start that fails closes what it had opened and rethrows (a port in use is a
 * PreconditionError `metrics_port_in_use`); one stopped by `deps.signal` throws StartStoppedError.
 */
export async function startWorker(cfg: Readonly<Config>, deps: WorkerDeps): Promise<WorkerHandle> {
  const stack = new StartStack(deps.signal);
  try {
    return await start(cfg, deps, stack);
  } catch (e) {
    await stack.unwind(deps.log, cfg.shutdownTimeoutMs);
    throw stack.stopped ? new StartStoppedError() : e;
  }
}

async function start(cfg: Readonly<Config>, deps: WorkerDeps, stack: StartStack): Promise<WorkerHandle> {
  const { log } = deps;
  let phase: WorkerPhase = 'starting';
  // Session limits on the write pool: a frozen replica's transaction is ended by PostgreSQL and a batch
  // waiting on its row locks gives up and retries, so one stalled process cannot stall every replica.
  const orm =
    deps.orm ??
    (await stack.step(
      () =>
        openOrm({
          databaseUrl: cfg.databaseUrl,
          poolMax: cfg.dbPoolMax,
          applicationName: 'game-persist:worker',
          sessionLimits: { idleInTransactionTimeoutMs: cfg.dbIdleInTransactionTimeoutMs, lockTimeoutMs: cfg.dbLockTimeoutMs, statementTimeoutMs: cfg.dbStatementTimeoutMs },
        }),
      (late) => late.close(),
    ));
  if (!deps.orm) stack.opened('the database pool', () => orm.close());
  // The queue: on Redis, one client for the Worker and the metrics Queue (blocking commands need
  // maxRetriesPerRequest: null); on PostgreSQL (GP_QUEUE_BACKEND=postgres) no Redis client at all, and
  // each BullMQ object opens its own pool on DATABASE_URL.
  const redis: Redis | null = cfg.queueBackend === 'redis' ? workerRedis(cfg.redisUrl) : null;
  // Not quit(): a client that never connected would queue the QUIT until Redis answers.
  if (redis) stack.opened('the Redis connection', () => redis.disconnect());
  const target: QueueTarget = { connection: redis ?? cfg.databaseUrl, prefix: cfg.queuePrefix, queueName: cfg.queueName };
  // Every Redis client and BullMQ object below reports here: logged through pino (an `error` event
  // without a listener makes BullMQ print a raw stack trace), repeats folded, OOM kept for readiness.
  // BullMQ's lock-race codes are the same on both backends; OOM is a Redis reply only.
  const redisErrors = new RedisErrorReporter(log);
  stack.opened('the error reporter', () => redisErrors.close());
  redis?.on('error', redisErrors.listener('redis'));
  if (!deps.skipChecks) await stack.step(() => preflight(cfg, orm, redis));
  // Also reads the failed set for the exhausted-jobs sweep: bounded like the Worker's fetches.
  const metricsQueue = openQueue(target, {}, { max: 1, applicationName: 'game-persist:worker-metrics' }, cfg.maxJobBytes);
  metricsQueue.on('error', redisErrors.listener('queue'));
  stack.opened('the metrics queue', () => metricsQueue.close());
  /** Seqs given up as lost in batches and issued-seq reports, and given-up seqs that arrived after all (the gap sweep counts its own in jobs.stats). */
  const sequence = { seqsGivenUp: 0, seqsLate: 0 };
  // pg-boss's figures join once it runs (the gauges read these fields at scrape time).
  const sources: MetricSources = { orm, redis, queue: metricsQueue, boss: null, bossQueues: PGBOSS_QUEUES, sequence, draining: () => phase === 'draining', version: VERSION };
  const metrics: Metrics = createMetrics(sources);
  // The endpoints before pg-boss and the queue worker: a port another process holds (a second worker
  // on the host) ends the start before it takes any job; /readyz answers 503 until it consumes.
  const http =
    deps.metricsPort !== undefined
      ? await bindMetricsServer(cfg, deps.metricsPort, metrics, readinessChecks({ orm, redis, queue: metricsQueue, redisErrors, phase: () => phase }), log)
      : null;
  if (http) {
    stack.opened('the metrics server', () => http.close());
    log.info({ port: http.port, host: cfg.metricsHost, token: cfg.metricsToken !== null }, 'metrics and health endpoints listening');
  }

  const types = await stack.step(
    () =>
      new TypeRegistry(ormReader(orm), cfg.customTypes, cfg.contractRefreshS * 1000).start((e) =>
        log.warn({ err: describeDbError(e) }, 'could not re-read the registered game types; keeping the last ones'),
      ),
    (late) => late.stop(),
  );
  stack.opened('the game types', () => types.stop());
  // Ratings of sessions with seqs given up wait until the queue holds no job that may bring them.
  const horizon = redis ? redisQueueHorizon(redis, cfg.queuePrefix, cfg.queueName) : pgQueueHorizon((sql, params) => query(orm.em.fork(), sql, params), cfg.queuePrefix, cfg.queueName);
  const jobs = cfg.jobs ? await stack.step(() => startJobs(cfg, orm, log, deps.clock, { horizon, onStart: (stop) => stack.opened('pg-boss', stop) })) : null;
  if (jobs) Object.assign(sources, { boss: jobs.boss, snapshots: jobs.stats, retention: jobs.retained });
  const stats: WorkerStats = {
    lag: new LagHistogram(), eventAge: new LagHistogram(), jobs: 0, events: 0, inserted: 0, duplicates: 0, deadLettered: 0, batches: 0, retries: 0, failedBatches: 0, turnsFolded: 0, jobsExhausted: 0, byType: {},
    get lostSeqs() {
      return sequence.seqsGivenUp + (jobs?.stats.seqsGivenUp ?? 0) - sequence.seqsLate;
    },
  };
  const aggregates = cfg.aggregates ? aggregateOptions(cfg) : undefined;
  const writerOpts: WriterOptions = {
    retries: cfg.writeRetries,
    queue: cfg.queueName,
    onRetry: (e, attempt) => log.warn({ err: describeDbError(e), attempt }, 'transient write failure, retrying'),
    snapshots: jobs?.snapshots,
    liveState: cfg.liveState,
    gapTimeoutS: cfg.gapTimeoutS,
    maxOwnerDocumentBytes: cfg.maxOwnerDocumentBytes,
    maxStateBytes: cfg.maxStateBytes,
    aggregates,
    ratings: jobs?.ratings ?? undefined,
  };
  // When each event's job was enqueued (BullMQ's job.timestamp, the producer's clock), for the lag.
  const enqueuedAt = new WeakMap<ValidEvent, number>();
  let skewWarnedAt = -Infinity;
  /** Metrics and stats of a committed write (a batch, or a job written alone on its last attempt). */
  const record = (r: WriteResult, events: readonly unknown[], deadLetters: readonly DeadLetterRow[], t0: number) => {
    const now = Date.now();
    let ahead = 0;
    for (const e of r.committed) {
      const enqueued = enqueuedAt.get(e);
      if (enqueued !== undefined) {
        const ms = elapsedMs(now, enqueued);
        stats.lag.observe(ms);
        metrics.lag.observe(ms / 1000);
        if (enqueued - now > ahead) ahead = enqueued - now;
      }
      const age = elapsedMs(now, Date.parse(e.at));
      stats.eventAge.observe(age);
      metrics.eventAge.observe(age / 1000);
    }
    if (ahead > SKEW_WARN_MS && now - skewWarnedAt > SKEW_WARN_EVERY_MS) {
      skewWarnedAt = now;
      log.warn({ aheadMs: Math.round(ahead) }, "jobs were enqueued at a time still ahead of this worker's clock: a producer's clock and this worker's disagree (sync them, e.g. NTP); gp_ingest_lag_seconds counts such jobs as 0 s");
    }
    metrics.batchRows.observe(events.length);
    metrics.batchSeconds.observe((performance.now() - t0) / 1000);
    for (const [t, n] of r.byType) metrics.eventsIngested.inc({ type: t }, n);
    if (r.duplicates) metrics.duplicates.inc(r.duplicates);
    if (r.retries) metrics.batchRetries.inc(r.retries);
    if (r.turnsFolded) metrics.turnsFolded.inc(r.turnsFolded);
    if (r.refolds) metrics.stateRefolds.inc(r.refolds);
    if (r.docsApplied) metrics.documentWrites.inc({ outcome: 'applied' }, r.docsApplied);
    if (r.docConflicts) metrics.documentWrites.inc({ outcome: 'conflict' }, r.docConflicts);
    if (r.docsOverLimit) metrics.documentWrites.inc({ outcome: 'over_limit' }, r.docsOverLimit);
    if (r.docConflicts || r.docsOverLimit)
      log.info({ conflicts: r.docConflicts, overLimit: r.docsOverLimit }, 'document writes not applied (expectedVersion differed, or the owner limit); see GET /v1/sessions/:id/document-rejections');
    if (r.statesTooLarge) {
      metrics.statesTooLarge.inc(r.statesTooLarge);
      metrics.rejected.inc({ type: 'turn.result', reason: 'state_too_large' }, r.statesTooLarge);
      log.warn({ turnResults: r.statesTooLarge, limit: cfg.maxStateBytes }, 'turn results not folded: the live state would pass GP_MAX_STATE_BYTES; see `game-persist dlq list --reason state_too_large`');
    }
    countGaps(r);
    if (r.seqConflicts) {
      metrics.seqConflicts.inc(r.seqConflicts);
      log.warn({ events: r.seqConflicts }, 'events share a seq with another event of their session (a producer issued a number twice); see seq_conflicts');
    }
    for (const d of deadLetters) metrics.rejected.inc({ type: typeLabel(d.type), reason: d.reason_code });
    // Rows PostgreSQL refused, isolated and dead-lettered by the writer.
    if (r.deadLettered > deadLetters.length) metrics.rejected.inc({ type: 'unknown', reason: 'db_rejected' }, r.deadLettered - deadLetters.length);
    stats.batches++;
    stats.inserted += r.inserted;
    stats.duplicates += r.duplicates;
    stats.deadLettered += r.deadLettered;
    stats.retries += r.retries;
    stats.turnsFolded += r.turnsFolded;
    for (const [t, n] of r.byType) stats.byType[t] = (stats.byType[t] ?? 0) + n;
    if (r.deadLettered) log.warn({ deadLettered: r.deadLettered }, 'events dead-lettered');
  };
  /** Gaps given up (or counted back) in a committed transaction: the log line, the metrics and the stats. */
  const countGaps = (t: SessionTally) => {
    if (t.seqsGivenUp) {
      sequence.seqsGivenUp += t.seqsGivenUp;
      log.warn({ sessions: t.sessionsGivenUp, lostSeqs: t.seqsGivenUp, first: t.gaveUp }, gaveUpMessage(cfg.gapTimeoutS));
    }
    if (t.seqsLate) {
      sequence.seqsLate += t.seqsLate;
      metrics.seqsLate.inc(t.seqsLate);
      log.info({ seqs: t.seqsLate }, 'events given up as lost arrived after all: sessions.lost_seqs counted back');
    }
  };
  const batcher = new Batcher(
    async (events, deadLetters) => {
      const t0 = performance.now();
      try {
        const r = await writeBatch(orm, events, deadLetters, writerOpts);
        deps.afterCommit?.(events.length);
        record(r, events, deadLetters, t0);
        log.debug({ rows: events.length, inserted: r.inserted, ms: Math.round(performance.now() - t0) }, 'batch committed');
      } catch (e) {
        stats.failedBatches++;
        metrics.batchFailures.inc();
        log.error({ err: describeDbError(e), kind: classifyDbError(e), rows: events.length }, 'batch failed; its jobs go back to the queue');
        throw coerceError(e);
      }
    },
    { maxRows: cfg.batchRows, maxBytes: cfg.batchBytes, maxMs: cfg.batchMs },
  );

  const processor = async (job: Job) => {
    let parsed = parseJob(job.data, cfg.limits, cfg.queueName, job.id ?? null, types);
    // A game type registered (or changed) since the last read is checked against what is registered
    // now: if the registrations changed, read them again and parse again.
    const missed = types.takeMissed();
    if ((missed || parsed.deadLetters.some((d) => d.type?.startsWith('x.'))) && (await types.refreshIfChanged()))
      parsed = parseJob(job.data, cfg.limits, cfg.queueName, job.id ?? null, types);
    stats.jobs++;
    stats.events += parsed.events.length;
    if (Number.isFinite(job.timestamp)) for (const e of parsed.events) enqueuedAt.set(e, job.timestamp);
    if (parsed.issued.length) {
      // An issued-seq report: in a transaction of its own (rare: after a Redis restart), before the job's events if it has any.
      const r = await applyIssued(orm, parsed.issued, writerOpts).catch((e: unknown) => {
        // Retried like any job; after the last attempt the report is gone, so say so where it is seen.
        if (isLastAttempt(job))
          log.error(
            { job: job.id, sessions: parsed.issued.length, first: parsed.issued.slice(0, 10), err: describeDbError(e) },
            'an issued-seq report could not be applied on any attempt: events it names that were lost may stay unreported (check sessions.last_seq against the seqs named)',
          );
        throw e;
      });
      const missing = r.behind.reduce((n, b) => n + b.issued - b.stored, 0);
      if (missing) {
        metrics.seqsIssuedMissing.inc(missing);
        log.warn(
          { sessions: r.behind.length, seqs: missing, first: r.behind.slice(0, 10) },
          `a producer reported seqs it issued that are not stored (acknowledged jobs lost: a Redis restart or failover that rolled back, or still queued): they wait as a sequence gap, given up after GP_GAP_TIMEOUT_S (${cfg.gapTimeoutS} s)`,
        );
      }
      countGaps(r);
    }
    if (!parsed.events.length && !parsed.deadLetters.length) return;
    try {
      await batcher.add(parsed.events, parsed.deadLetters);
    } catch (e) {
      if (!isLastAttempt(job)) throw e;
      const t0 = performance.now();
      const out = await lastAttempt(job, parsed, e, exhaustedCtx, (events, deadLetters) => writeBatch(orm, events, deadLetters, writerOpts));
      if (out.written) record(out.written, parsed.events, parsed.deadLetters, t0);
      else exhausted(1, out.deadLetters);
    }
  };
  const exhaustedCtx: ExhaustedContext = { orm, limits: cfg.limits, queue: cfg.queueName, types, writeRetries: cfg.writeRetries };
  const exhausted = (jobs: number, rows: { type: string | null; reason_code: string }[]) => {
    stats.jobsExhausted += jobs;
    stats.deadLettered += rows.length;
    metrics.jobsExhausted.inc(jobs);
    for (const d of rows) metrics.rejected.inc({ type: typeLabel(d.type), reason: d.reason_code });
    log.error({ jobs, deadLettered: rows.length }, 'jobs gave up after their last attempt: their events are dead letters (retries_exhausted); see `game-persist dlq list`');
  };
  // Jobs that reached BullMQ's failed set anyway: dead-lettered and removed, at start, after each
  // final failure, and every minute (a database that was down meanwhile is back).
  // A sweep fails on the queue's Redis (it reads the failed set through metricsQueue) or on PostgreSQL.
  // A Redis outage is already reported, folded, as the queue's errors: the sweep's joins those lines
  // instead of adding one more per outage; an error with a SQLSTATE (PostgreSQL answered) is its own warning.
  const sweeper = new FailedJobsSweeper(metricsQueue, exhaustedCtx, (r) => void (r.jobs && exhausted(r.jobs, r.rows)), (e) =>
    sqlState(e) === undefined ? redisErrors.report('queue', e) : log.warn({ err: describeDbError(e) }, 'could not dead-letter failed jobs; retrying in a minute'),
  );

  const worker = openWorker(
    target,
    processor,
    {
      // Consuming starts last (worker.run() below), once everything else of the start is up.
      autorun: false,
      concurrency: cfg.concurrency,
      lockDuration: cfg.lockMs,
      stalledInterval: Math.max(1000, Math.floor(cfg.lockMs / 2)),
      // Redelivery is harmless (events are deduplicated), so a job may stall many times (worker
      // crashes, deploys) before BullMQ gives up on it.
      maxStalledCount: 100,
      removeOnComplete: { count: 0 },
      removeOnFail: { age: 7 * 24 * 3600 },
    },
    // PostgreSQL backend: every fetch, acknowledgement and lock renewal is a transaction. They commit
    // without waiting for the WAL flush: what a PostgreSQL crash can lose of them is an
    // acknowledgement (the job is redelivered, and its events deduplicated) or a fetch (the job stays
    // waiting). Never a job: producers add jobs with synchronous commits. One connection per job in
    // flight would be wasteful: acknowledgements queue for at most 10.
    { max: Math.min(cfg.concurrency, 10), applicationName: 'game-persist:worker-queue', asyncCommit: true },
    // A job larger than this reaches the processor unparsed, as a marker parseJob dead-letters.
    cfg.maxJobBytes,
  );
  worker.on('error', redisErrors.listener('worker'));
  worker.on('failed', (job, e) => {
    log.warn({ job: job?.id, err: e.message, attempts: job?.attemptsMade }, 'job failed');
    if (job && job.attemptsMade >= Math.max(1, job.opts.attempts ?? 1)) void sweeper.sweep();
  });
  // Nothing was fetched yet: closing hands back nothing. Should the start fail once jobs are in hand
  // anyway, close() lets them finish (commit and acknowledge) before it resolves.
  stack.opened('the queue worker', async () => {
    batcher.drain();
    await worker.close();
    await batcher.idle();
  });
  await stack.step(() => worker.waitUntilReady());

  const folder = aggregates ? startFolding(orm, cfg, log) : null;
  if (folder) stack.opened('stat folding', () => folder.stop());
  sweeper.start(60_000);
  stack.opened('the failed-job sweep', () => sweeper.stop());

  // Everything is up: consume (as BullMQ's autorun does, a failure of the loop is the worker's error).
  stack.check();
  phase = 'consuming';
  worker.run().catch((e: unknown) => worker.emit('error', coerceError(e)));
  log.info({ queue: cfg.queueName, prefix: cfg.queuePrefix, backend: cfg.queueBackend, concurrency: cfg.concurrency, batchRows: cfg.batchRows, batchMs: cfg.batchMs, metricsPort: http?.port ?? null }, 'worker started');

  let closing: Promise<void> | null = null;
  return {
    metricsPort: http?.port ?? null,
    metrics,
    stats,
    orm,
    jobs,
    sweepFailed: () => sweeper.sweepAfresh(),
    close() {
      const step = <T>(name: string, fn: () => Promise<T> | T): Promise<T> | T => {
        deps.onDrainStep?.(name);
        return fn();
      };
      closing ??= (async () => {
        log.info('worker draining');
        phase = 'draining';
        batcher.drain();
        await step('closing the queue worker (its jobs in hand finish)', () => worker.close());
        await step('committing the last batch', () => batcher.idle());
        await step('ending the failed-job sweep', () => sweeper.stop());
        await step('folding stat deltas', () => folder?.stop());
        types.stop();
        await step('stopping pg-boss jobs', () => jobs?.stop());
        await step('closing the metrics server', () => http?.close());
        await step('closing the metrics queue', () => metricsQueue.close());
        await step('closing the Redis connection', () => redis?.quit().catch(() => redis.disconnect()));
        redisErrors.close();
        if (!deps.orm) await step('closing the database pool', () => orm.close());
        log.info(
          { ...stats, byType: undefined, lag: stats.lag.summary(), eventAge: stats.eventAge.summary(), snapshots: jobs?.stats.snapshots ?? 0, snapshotJobs: jobs?.stats.snapshotJobs ?? 0 },
          'worker stopped',
        );
      })();
      return closing;
    },
  };
}
