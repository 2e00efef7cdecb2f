/**
 * The worker process's assembly: opens what an ingest worker needs and wires it together: the
 * connections and start-up checks (./connections.ts), the metrics and health endpoints (./readiness.ts),
 * the game types, pg-boss's jobs (src/jobs), the write pipeline (src/workers: batches, writes, dead
 * letters) and its consumer of the events queue (./consume.ts), the stat folding and the failed-job
 * sweep. What it counts is counted in ./record.ts.
 *
 * The start opens everything before it takes a single job; a port another process holds stops it at the
 * endpoints, before pg-boss; consuming comes last, then `worker started`. A start that fails, or is
 * stopped by a signal (`deps.signal`), closes what it had opened (./start-stack.ts) and throws.
 */
import type { Config } from '../config.ts';
import type { Clock } from '../clock.ts';
import { aggregateOptions } from '../aggregates/write.ts';
import { TypeRegistry } from '../db/event-types.ts';
import type { MikroORM } from '../db/orm.ts';
import { query } from '../db/query.ts';
import { ormReader } from '../db/reader.ts';
import { StartStoppedError, coerceError } from '../errors.ts';
import { PGBOSS_QUEUES, startJobs, type Jobs } from '../jobs/boss.ts';
import type { Logger } from '../log.ts';
import { createMetrics, type Metrics, type MetricSources } from '../metrics/metrics.ts';
import { pgQueueHorizon, redisQueueHorizon } from '../queue/horizon.ts';
import { VERSION } from '../version.ts';
import { describeDbError, sqlState } from '../workers/db-errors.ts';
import { FailedJobsSweeper } from '../workers/exhausted.ts';
import type { WriterOptions } from '../workers/write-batch.ts';
import { openConnections } from './connections.ts';
import { jobProcessor, openBatcher, openConsumer, type ConsumeContext } from './consume.ts';
import { startFolding } from './folding.ts';
import { bindMetricsServer, readinessChecks, type WorkerPhase } from './readiness.ts';
import { Recorder, type SequenceCounts, type WorkerStats } from './record.ts';
import { StartStack } from './start-stack.ts';

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
  const { orm, redis, target, redisErrors, metricsQueue } = await openConnections(cfg, deps, stack);
  const sequence: SequenceCounts = { seqsGivenUp: 0, seqsLate: 0 };
  // pg-boss's figures join once it runs (the gauges read these fields at scrape time).
  const sources: MetricSources = { orm, redis, queue: metricsQueue, boss: null, bossQueues: PGBOSS_QUEUES, sequence, draining: () => phase === 'draining', version: VERSION };
  const metrics: Metrics = createMetrics(sources);
  // The endpoints before pg-boss and the queue worker: a port another process holds (a second worker
  // on the host) ends the start before it takes any job; /readyz answers 503 until it consumes.
  const http =
    deps.metricsPort !== undefined ? await bindMetricsServer(cfg, deps.metricsPort, metrics, readinessChecks({ orm, redis, queue: metricsQueue, redisErrors, phase: () => phase }), log) : null;
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

  const recorder = new Recorder(cfg, log, metrics, sequence, jobs?.stats ?? null);
  const ctx: ConsumeContext = {
    cfg,
    log,
    orm,
    types,
    writer: writerOptions(cfg, log, jobs),
    recorder,
    exhausted: { orm, limits: cfg.limits, queue: cfg.queueName, types, writeRetries: cfg.writeRetries },
    afterCommit: deps.afterCommit,
  };
  const batcher = openBatcher(ctx);
  // Jobs that reached BullMQ's failed set anyway: dead-lettered and removed, at start, after each
  // final failure, and every minute (a database that was down meanwhile is back).
  // A sweep fails on the queue's Redis (it reads the failed set through metricsQueue) or on PostgreSQL.
  // A Redis outage is already reported, folded, as the queue's errors: the sweep's joins those lines
  // instead of adding one more per outage; an error with a SQLSTATE (PostgreSQL answered) is its own warning.
  const sweeper = new FailedJobsSweeper(
    metricsQueue,
    ctx.exhausted,
    (r) => void (r.jobs && recorder.exhausted(r.jobs, r.rows)),
    (e) => (sqlState(e) === undefined ? redisErrors.report('queue', e) : log.warn({ err: describeDbError(e) }, 'could not dead-letter failed jobs; retrying in a minute')),
  );
  const worker = openConsumer(target, jobProcessor(ctx, batcher), cfg);
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

  const folder = cfg.aggregates ? startFolding(orm, cfg, log) : null;
  if (folder) stack.opened('stat folding', () => folder.stop());
  sweeper.start(60_000);
  stack.opened('the failed-job sweep', () => sweeper.stop());

  // Everything is up: consume (as BullMQ's autorun does, a failure of the loop is the worker's error).
  stack.check();
  phase = 'consuming';
  worker.run().catch((e: unknown) => worker.emit('error', coerceError(e)));
  log.info(
    { queue: cfg.queueName, prefix: cfg.queuePrefix, backend: cfg.queueBackend, concurrency: cfg.concurrency, batchRows: cfg.batchRows, batchMs: cfg.batchMs, metricsPort: http?.port ?? null },
    'worker started',
  );

  const stats = recorder.stats;
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

/** The write path's options: retries, the jobs it schedules (pg-boss's, when it runs), live state, limits, aggregates. */
function writerOptions(cfg: Readonly<Config>, log: Logger, jobs: Jobs | null): WriterOptions {
  return {
    retries: cfg.writeRetries,
    queue: cfg.queueName,
    onRetry: (e, attempt) => log.warn({ err: describeDbError(e), attempt }, 'transient write failure, retrying'),
    snapshots: jobs?.snapshots,
    liveState: cfg.liveState,
    gapTimeoutS: cfg.gapTimeoutS,
    maxOwnerDocumentBytes: cfg.maxOwnerDocumentBytes,
    maxStateBytes: cfg.maxStateBytes,
    aggregates: cfg.aggregates ? aggregateOptions(cfg) : undefined,
    ratings: jobs?.ratings ?? undefined,
  };
}
