/**
 * The ingest worker: consumes the events queue with many jobs in flight, gathers their events into
 * write batches, and acknowledges each job only after its events are committed.
 */
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { Clock } from '../clock.ts';
import { openOrm, type MikroORM } from '../db/orm.ts';
import { pendingMigrations } from '../db/migrate.ts';
import { query } from '../db/query.ts';
import { PreconditionError, coerceError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { RedisErrorReporter, evictionPolicy, outOfMemoryDetail, workerRedis } from '../redis.ts';
import { Batcher } from './batcher.ts';
import { parseJob } from './parse-job.ts';
import { TypeRegistry } from '../db/event-types.ts';
import { ormReader } from '../db/reader.ts';
import { writeBatch } from './write-batch.ts';
import { LagHistogram } from './lag.ts';
import { startJobs, type Jobs } from '../jobs/boss.ts';
import { classifyDbError, describeDbError } from './db-errors.ts';
import { aggregateOptions, foldStatDeltas } from '../aggregates/write.ts';
import { createMetrics, typeLabel, type Metrics } from '../metrics/metrics.ts';
import { startMetricsServer, type ReadyCheck } from '../metrics/http.ts';
import { VERSION } from '../version.ts';
import { PGBOSS_QUEUES } from '../jobs/boss.ts';

export interface WorkerStats {
  /** Emit-to-commit lag of committed events (their `at` to the commit). */
  lag: LagHistogram;
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
  /** Stops fetching, commits and acknowledges what is in flight, closes connections. */
  close(): Promise<void>;
}

export interface WorkerDeps {
  log: Logger;
  /** Reuse an ORM (tests, the demo); otherwise one is opened from the config and closed on close(). */
  orm?: MikroORM;
  /** Skip the start-up checks (migrations applied, Redis eviction policy). */
  skipChecks?: boolean;
  /** Serve /metrics, /healthz, /readyz on this port (0: any free one); the `worker` command passes GP_METRICS_PORT. */
  metricsPort?: number;
  /** The calendar the scheduled jobs follow (which periods have ended). @defaultValue the system clock */
  clock?: Clock;
}

export async function startWorker(cfg: Readonly<Config>, deps: WorkerDeps): Promise<WorkerHandle> {
  const { log } = deps;
  // Session limits on the write pool: a frozen replica's transaction is ended by PostgreSQL and a batch
  // waiting on its row locks gives up and retries, so one stalled process cannot stall every replica.
  const orm =
    deps.orm ??
    (await openOrm({
      databaseUrl: cfg.databaseUrl,
      poolMax: cfg.dbPoolMax,
      applicationName: 'game-persist:worker',
      sessionLimits: { idleInTransactionTimeoutMs: cfg.dbIdleInTransactionTimeoutMs, lockTimeoutMs: cfg.dbLockTimeoutMs, statementTimeoutMs: cfg.dbStatementTimeoutMs },
    }));
  const redis: Redis = workerRedis(cfg.redisUrl);
  // Every Redis client and BullMQ object below reports here: logged through pino (an `error` event
  // without a listener makes BullMQ print a raw stack trace), repeats folded, OOM kept for readiness.
  const redisErrors = new RedisErrorReporter(log);
  redis.on('error', redisErrors.listener('redis'));
  try {
    if (!deps.skipChecks) await preflight(cfg, orm, redis);
  } catch (e) {
    redis.disconnect();
    if (!deps.orm) await orm.close();
    throw e;
  }

  const types = await new TypeRegistry(ormReader(orm), cfg.customTypes, cfg.contractRefreshS * 1000).start((e) =>
    log.warn({ err: describeDbError(e) }, 'could not re-read the registered game types; keeping the last ones'),
  );
  const jobs = cfg.jobs ? await startJobs(cfg, orm, log, deps.clock) : null;
  const stats: WorkerStats = { lag: new LagHistogram(), jobs: 0, events: 0, inserted: 0, duplicates: 0, deadLettered: 0, batches: 0, retries: 0, failedBatches: 0, turnsFolded: 0, byType: {} };
  const aggregates = cfg.aggregates ? aggregateOptions(cfg) : undefined;
  let draining = false;
  const metricsQueue = new Queue(cfg.queueName, { connection: redis, prefix: cfg.queuePrefix });
  metricsQueue.on('error', redisErrors.listener('queue'));
  const metrics: Metrics = createMetrics({
    orm, redis, queue: metricsQueue, boss: jobs?.boss ?? null, bossQueues: PGBOSS_QUEUES, snapshots: jobs?.stats, draining: () => draining, version: VERSION,
  });
  const batcher = new Batcher(
    async (events, deadLetters) => {
      const t0 = performance.now();
      try {
        const r = await writeBatch(orm, events, deadLetters, {
          retries: cfg.writeRetries,
          queue: cfg.queueName,
          onRetry: (e, attempt) => log.warn({ err: describeDbError(e), attempt }, 'transient write failure, retrying'),
          snapshots: jobs?.snapshots,
          liveState: cfg.liveState,
          gapTimeoutS: cfg.gapTimeoutS,
          maxOwnerDocumentBytes: cfg.maxOwnerDocumentBytes,
          aggregates,
          ratings: jobs?.ratings ?? undefined,
        });
        const now = Date.now();
        for (const e of r.committed) {
          const ms = now - Date.parse(e.at);
          stats.lag.observe(ms);
          metrics.lag.observe(ms / 1000);
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
    if (parsed.events.length || parsed.deadLetters.length) await batcher.add(parsed.events, parsed.deadLetters);
  };

  const worker = new Worker(cfg.queueName, processor, {
    connection: redis,
    prefix: cfg.queuePrefix,
    concurrency: cfg.concurrency,
    lockDuration: cfg.lockMs,
    stalledInterval: Math.max(1000, Math.floor(cfg.lockMs / 2)),
    // Redelivery is harmless (events are deduplicated), so a job may stall many times (worker
    // crashes, deploys) before BullMQ gives up on it.
    maxStalledCount: 100,
    removeOnComplete: { count: 0 },
    removeOnFail: { age: 7 * 24 * 3600 },
  });
  worker.on('error', redisErrors.listener('worker'));
  worker.on('failed', (job, e) => log.warn({ job: job?.id, err: e.message, attempts: job?.attemptsMade }, 'job failed'));
  await worker.waitUntilReady();
  log.info({ queue: cfg.queueName, prefix: cfg.queuePrefix, concurrency: cfg.concurrency, batchRows: cfg.batchRows, batchMs: cfg.batchMs }, 'worker started');

  const folder = aggregates ? startFolding(orm, cfg, log) : null;

  const ready = async (): Promise<ReadyCheck[]> => {
    const check = async (name: string, fn: () => Promise<string | null>): Promise<ReadyCheck> => {
      try {
        const problem = await Promise.race([fn(), new Promise<string>((r) => setTimeout(() => r('timed out'), 2000).unref())]);
        return problem ? { name, ok: false, detail: problem } : { name, ok: true };
      } catch (e) {
        return { name, ok: false, detail: e instanceof Error ? e.message : String(e) };
      }
    };
    return Promise.all([
      // PING still answers when Redis is full; the refused fetches tell.
      check('redis', async () => ((await redis.ping()) !== 'PONG' ? 'no PONG' : redisErrors.outOfMemory() ? outOfMemoryDetail(redis) : null)),
      check('postgres', async () => (await query(orm.em.fork(), 'SELECT 1'), null)),
      check('migrations', async () => {
        const pending = await pendingMigrations(orm);
        return pending.length ? `${pending.length} pending` : null;
      }),
      check('draining', async () => (draining ? 'draining' : null)),
    ]);
  };
  const http =
    deps.metricsPort !== undefined ? await startMetricsServer({ port: deps.metricsPort, host: cfg.metricsHost, registry: metrics.registry, ready }) : null;
  if (http) log.info({ port: http.port, host: cfg.metricsHost }, 'metrics and health endpoints listening');

  let closing: Promise<void> | null = null;
  return {
    metricsPort: http?.port ?? null,
    metrics,
    stats,
    orm,
    jobs,
    close() {
      closing ??= (async () => {
        log.info('worker draining');
        draining = true;
        batcher.drain();
        await worker.close();
        await batcher.idle();
        await folder?.stop();
        types.stop();
        await jobs?.stop();
        await http?.close();
        await metricsQueue.close();
        await redis.quit().catch(() => redis.disconnect());
        redisErrors.close();
        if (!deps.orm) await orm.close();
        log.info({ ...stats, byType: undefined, lag: stats.lag.summary(), snapshots: jobs?.stats.snapshots ?? 0, snapshotJobs: jobs?.stats.snapshotJobs ?? 0 }, 'worker stopped');
      })();
      return closing;
    },
  };
}

/**
 * Folds pending stat deltas into player_stats every GP_STATS_FOLD_MS (every replica does; folds take
 * disjoint deltas), and once more when stopping so a drained worker leaves none of its own behind.
 */
function startFolding(orm: MikroORM, cfg: Readonly<Config>, log: Logger) {
  let running: Promise<void> | null = null;
  const fold = () =>
    (running ??= foldStatDeltas(orm, cfg.winRateMinGames)
      .then(() => undefined)
      .catch((e) => log.warn({ err: describeDbError(e) }, 'folding stat deltas failed; retrying next tick'))
      .finally(() => (running = null)));
  const timer = setInterval(fold, cfg.statsFoldMs);
  return {
    async stop() {
      clearInterval(timer);
      await running;
      await fold();
    },
  };
}

/** Refuses to start on a database without our migrations or a Redis that may evict jobs. */
async function preflight(cfg: Readonly<Config>, orm: MikroORM, redis: Redis): Promise<void> {
  const pending = await pendingMigrations(orm);
  if (pending.length) throw new PreconditionError('migrations_pending', `${pending.length} migration(s) not applied; run \`game-persist migrate\` first`);
  const policy = await evictionPolicy(redis);
  if (policy !== 'noeviction' && !cfg.allowEviction)
    throw new PreconditionError(
      'redis_eviction',
      `Redis maxmemory-policy is "${policy}": queued jobs could be evicted and lost. Set it to noeviction, or GP_ALLOW_EVICTION=true to accept the risk`,
    );
}
