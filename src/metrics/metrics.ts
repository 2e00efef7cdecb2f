/**
 * Prometheus metrics of a worker process (prom-client), on a registry of its own. Names are exported
 * here, once: the dashboards, alert rules and tests import them rather than spelling them again.
 * Labels are bounded sets (event types, reason codes, queue states); never player or session ids.
 *
 * Counters and histograms are updated where things happen (batch written, job failed); gauges that
 * describe shared state (queue depth, open gaps, dead letters, pg-boss queues, pool use, Redis and
 * PostgreSQL up) are read at scrape time, each with a short timeout so a slow dependency never hangs
 * a scrape (it reports itself down instead).
 */
import client from 'prom-client';
import type { Redis } from 'ioredis';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { PgBoss } from 'pg-boss';
import { EVENT_TYPE_NAMES } from '../contract/events.ts';
import { query } from '../db/query.ts';
import { SCRAPE_SQL } from '../db/sql/metrics.ts';
import { evictionPolicy } from '../redis.ts';
import type { EventsQueue } from '../queue/backend.ts';
import { RETENTION_CLASSES, type RetentionClass } from '../db/retention.ts';

export const METRIC = {
  eventsIngested: 'gp_events_ingested_total',
  duplicates: 'gp_events_duplicate_total',
  copied: 'gp_events_copied_total',
  rejected: 'gp_events_rejected_total',
  batchRows: 'gp_batch_rows',
  batchSeconds: 'gp_batch_write_seconds',
  batchRetries: 'gp_batch_retries_total',
  batchFailures: 'gp_batch_failures_total',
  lag: 'gp_ingest_lag_seconds',
  eventAge: 'gp_event_age_seconds',
  turnsFolded: 'gp_turns_folded_total',
  stateRefolds: 'gp_state_refolds_total',
  seqConflicts: 'gp_seq_conflicts_total',
  documentWrites: 'gp_document_writes_total',
  jobsExhausted: 'gp_jobs_exhausted_total',
  statesTooLarge: 'gp_state_too_large_total',
  ratingsStale: 'gp_ratings_stale',
  queueJobs: 'gp_queue_jobs',
  deadLetters: 'gp_dead_letters',
  gapsOpen: 'gp_sequence_gaps_open',
  seqsGivenUp: 'gp_sequence_given_up_total',
  seqsLate: 'gp_sequence_late_total',
  seqsIssuedMissing: 'gp_sequence_issued_missing_total',
  gapOldest: 'gp_sequence_gap_oldest_seconds',
  sessions: 'gp_sessions',
  players: 'gp_players',
  snapshotsTaken: 'gp_snapshots_taken_total',
  retentionDeleted: 'gp_retention_deleted_total',
  snapshotMismatches: 'gp_snapshot_hash_mismatches',
  statDeltasPending: 'gp_stat_deltas_pending',
  aggregateDrift: 'gp_aggregate_drift',
  bossJobs: 'gp_pgboss_jobs',
  dbPool: 'gp_db_pool_connections',
  redisUp: 'gp_redis_up',
  redisEvictionSafe: 'gp_redis_noeviction',
  postgresUp: 'gp_postgres_up',
  draining: 'gp_worker_draining',
  buildInfo: 'gp_build_info',
  httpRequests: 'gp_http_requests_total',
  httpSeconds: 'gp_http_request_duration_seconds',
  httpEvents: 'gp_http_events_total',
  httpKeyLookups: 'gp_http_key_lookups_total',
  httpAuthFailures: 'gp_http_auth_failures_total',
  httpAuthThrottled: 'gp_http_auth_throttled_total',
} as const;

const TYPES = new Set<string>(EVENT_TYPE_NAMES);
/** An event type as a label: one of the contract's, or `unknown` (a dead letter's type may be anything). */
export const typeLabel = (t: string | null | undefined) => (t && TYPES.has(t) ? t : 'unknown');
const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed', 'completed'] as const;
const SCRAPE_TIMEOUT_MS = 2000;

function withTimeout<T>(p: Promise<T>, ms = SCRAPE_TIMEOUT_MS): Promise<T> {
  return Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms).unref())]);
}

export interface MetricSources {
  orm: MikroORM;
  /** The queue's Redis; null on the PostgreSQL queue backend (then gp_redis_* are not exported at all). */
  redis: Redis | null;
  queue: EventsQueue;
  boss?: PgBoss | null;
  bossQueues?: string[];
  /** Snapshot work of this process's pg-boss handlers (and the seqs its gap sweeps gave up). */
  snapshots?: { snapshots: number; hashMismatches: number; seqsGivenUp?: number };
  /** Seqs this process's batches and issued-seq reports gave up as lost. */
  sequence?: { seqsGivenUp: number };
  /** Rows this process's retention runs deleted, per class (src/db/retention.ts). */
  retention?: Readonly<Record<RetentionClass, number>>;
  draining: () => boolean;
  version: string;
}

export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics(src: MetricSources) {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'gp_' });
  const r = [registry];

  const eventsIngested = new client.Counter({ name: METRIC.eventsIngested, help: 'Events stored (first time; duplicates excluded), by type.', labelNames: ['type'], registers: r });
  const duplicates = new client.Counter({ name: METRIC.duplicates, help: 'Events received again and not stored a second time.', registers: r });
  const copied = new client.Counter({
    name: METRIC.copied,
    help: 'Events stored by COPY; the rest of the stored events took the INSERT that skips duplicates (a redelivery in the batch, or a refused value).',
    registers: r,
  });
  const rejected = new client.Counter({ name: METRIC.rejected, help: 'Events or jobs dead-lettered, by type and reason code.', labelNames: ['type', 'reason'], registers: r });
  const batchRows = new client.Histogram({ name: METRIC.batchRows, help: 'Events per write batch.', buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000], registers: r });
  const batchSeconds = new client.Histogram({ name: METRIC.batchSeconds, help: 'Time to write one batch (its transactions, retries included).', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: r });
  const batchRetries = new client.Counter({ name: METRIC.batchRetries, help: 'Transient write failures retried.', registers: r });
  const batchFailures = new client.Counter({ name: METRIC.batchFailures, help: 'Batches given back to the queue after the retries ran out.', registers: r });
  // Enqueue to commit: what the pipeline adds (queue wait, batching, the write). Measured from the job's
  // enqueue time, never from the event's `at`, which a game server may set days back (an import).
  const lag = new client.Histogram({
    name: METRIC.lag,
    help: "Time from a job's enqueue (the producer's clock) to the commit that stored its events; one observation per event stored, never negative.",
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: r,
  });
  const eventAge = new client.Histogram({
    name: METRIC.eventAge,
    help: "Time from an event's own `at` to the commit that stored it (days for imported or backfilled sessions; includes what the game server buffered before enqueueing); never negative.",
    buckets: [0.1, 1, 10, 60, 600, 3600, 6 * 3600, 86_400, 7 * 86_400, 30 * 86_400],
    registers: r,
  });
  const turnsFolded = new client.Counter({ name: METRIC.turnsFolded, help: 'Turn results folded into live session states.', registers: r });
  const stateRefolds = new client.Counter({
    name: METRIC.stateRefolds,
    help: 'Live states folded again from an earlier point (a turn result or an end arrived below what was folded).',
    registers: r,
  });
  const seqConflicts = new client.Counter({
    name: METRIC.seqConflicts,
    help: 'Events found sharing their seq with another event of their session (a producer issued a number twice; see seq_conflicts).',
    registers: r,
  });

  const documentWrites = new client.Counter({
    name: METRIC.documentWrites,
    help: 'doc.put / doc.delete events applied in seq order, by outcome: applied, conflict (expectedVersion differed), over_limit (the owner\'s documents would pass GP_MAX_OWNER_DOCUMENT_BYTES).',
    labelNames: ['outcome'],
    registers: r,
  });

  const jobsExhausted = new client.Counter({
    name: METRIC.jobsExhausted,
    help: 'Events-queue jobs BullMQ gave up on (attempts ran out, stalled too often), their events dead-lettered as retries_exhausted.',
    registers: r,
  });
  const statesTooLarge = new client.Counter({
    name: METRIC.statesTooLarge,
    help: 'Turn results refused because folding them would make the live state pass GP_MAX_STATE_BYTES (dead letters state_too_large).',
    registers: r,
  });

  new client.Counter({
    name: METRIC.seqsGivenUp,
    help: 'Sequence numbers this process gave up as lost: their gap was open longer than GP_GAP_TIMEOUT_S (batches, issued-seq reports and the gap sweep; see sessions.lost_seqs).',
    registers: r,
    collect() {
      this.reset();
      this.inc((src.sequence?.seqsGivenUp ?? 0) + (src.snapshots?.seqsGivenUp ?? 0));
    },
  });
  const seqsLate = new client.Counter({ name: METRIC.seqsLate, help: 'Sequence numbers given up as lost whose event arrived after all (lost_seqs counted back).', registers: r });
  const seqsIssuedMissing = new client.Counter({
    name: METRIC.seqsIssuedMissing,
    help: 'Sequence numbers a producer reported issuing that were not stored when its report came (the queue lost acknowledged jobs: a Redis restart or failover that rolled back).',
    registers: r,
  });
  new client.Counter({
    name: METRIC.snapshotsTaken,
    help: "Snapshots taken by this process's snapshot jobs.",
    registers: r,
    collect() {
      this.reset();
      this.inc(src.snapshots?.snapshots ?? 0);
    },
  });
  new client.Counter({
    name: METRIC.retentionDeleted,
    help: "Rows deleted by this process's retention runs (GP_RETAIN_*_DAYS), by data class.",
    labelNames: ['class'],
    registers: r,
    collect() {
      this.reset();
      for (const c of RETENTION_CLASSES) this.inc({ class: c }, src.retention?.[c] ?? 0);
    },
  });
  new client.Gauge({
    name: METRIC.draining,
    help: '1 while the worker drains (SIGTERM): not ready for new work.',
    registers: r,
    collect() {
      this.set(src.draining() ? 1 : 0);
    },
  });
  new client.Gauge({ name: METRIC.buildInfo, help: 'Version of game-persist and Node running this worker.', labelNames: ['version', 'node'], registers: r }).set(
    { version: src.version, node: process.versions.node },
    1,
  );

  new client.Gauge({
    name: METRIC.queueJobs,
    help: 'Jobs in the events queue by state (BullMQ job counts at scrape time).',
    labelNames: ['state'],
    registers: r,
    async collect() {
      try {
        const c = await withTimeout(src.queue.getJobCounts(...QUEUE_STATES));
        for (const s of QUEUE_STATES) this.set({ state: s }, c[s] ?? 0);
      } catch {
        this.reset();
      }
    },
  });
  const redis = src.redis;
  if (redis) {
    new client.Gauge({
      name: METRIC.redisUp,
      help: '1 when Redis answered a PING at scrape time.',
      registers: r,
      async collect() {
        this.set((await withTimeout(redis.ping()).catch(() => null)) === 'PONG' ? 1 : 0);
      },
    });
    new client.Gauge({
      name: METRIC.redisEvictionSafe,
      help: '1 when Redis maxmemory-policy is noeviction (queued jobs cannot be evicted).',
      registers: r,
      async collect() {
        this.set((await withTimeout(evictionPolicy(redis)).catch(() => null)) === 'noeviction' ? 1 : 0);
      },
    });
  }

  // One statement reads every database gauge. A registry collects its metrics concurrently, so each
  // of these gauges awaits the same read (one per scrape); when it fails, PostgreSQL is reported down.
  let reading: Promise<Record<string, any> | null> | null = null;
  const read = () =>
    (reading ??= withTimeout(query<Record<string, any>>(src.orm.em.fork(), SCRAPE_SQL))
      .then((rows) => rows[0] ?? null, () => null)
      .finally(() => setImmediate(() => (reading = null))));
  const fromDb = (name: string, help: string, fill: (g: client.Gauge, x: Record<string, any>) => void, labelNames: string[] = []) =>
    new client.Gauge({
      name,
      help,
      labelNames,
      registers: r,
      async collect() {
        const x = await read();
        if (x) fill(this, x);
      },
    });
  /** Sets one series per key; `always` keys are exported as 0 when absent (a panel never goes blank). */
  const byKey = (g: client.Gauge, label: string, m: Record<string, number> | null, always: string[] = []) => {
    g.reset();
    for (const k of always) g.set({ [label]: k }, 0);
    for (const [k, n] of Object.entries(m ?? {})) g.set({ [label]: k }, Number(n));
  };
  fromDb(METRIC.deadLetters, 'Dead letters not replayed, by reason code.', (g, x) => byKey(g, 'reason', x.dead_letters), ['reason']);
  fromDb(METRIC.gapsOpen, 'Sessions whose events wait behind a sequence gap.', (g, x) => g.set(Number(x.gaps_open)));
  fromDb(METRIC.gapOldest, 'Age of the oldest open sequence gap (0: none).', (g, x) => g.set(Number(x.gap_oldest_s)));
  fromDb(METRIC.sessions, 'Active sessions by status (created, started).', (g, x) => byKey(g, 'status', x.sessions, ['created', 'started']), ['status']);
  fromDb(METRIC.players, 'Players seen (estimate).', (g, x) => g.set(Number(x.players)));
  fromDb(METRIC.snapshotMismatches, "Snapshots whose hash differs from the game server's.", (g, x) => g.set(Number(x.snapshot_mismatches)));
  fromDb(METRIC.statDeltasPending, 'Stat deltas not folded into the boards yet.', (g, x) => g.set(Number(x.stat_deltas)));
  fromDb(METRIC.ratingsStale, 'Rated sessions whose rating input changed afterwards (`game-persist rebuild` re-rates them).', (g, x) => g.set(Number(x.ratings_stale)));
  fromDb(METRIC.aggregateDrift, 'Differences the last `verify` found between the aggregates and the events (-1: never run).', (g, x) =>
    g.set(x.drift === null || x.drift === undefined ? -1 : Number(x.drift)),
  );
  new client.Gauge({
    name: METRIC.postgresUp,
    help: '1 when PostgreSQL answered the scrape-time query.',
    registers: r,
    async collect() {
      this.set((await read()) ? 1 : 0);
    },
  });
  new client.Gauge({
    name: METRIC.bossJobs,
    help: 'pg-boss jobs by queue and state (ready, deferred, active, failed).',
    labelNames: ['queue', 'state'],
    registers: r,
    async collect() {
      if (!src.boss) return;
      try {
        for (const q of await withTimeout(src.boss.getQueues(src.bossQueues))) {
          this.set({ queue: q.name, state: 'ready' }, q.readyCount);
          this.set({ queue: q.name, state: 'deferred' }, q.deferredCount);
          this.set({ queue: q.name, state: 'active' }, q.activeCount);
          this.set({ queue: q.name, state: 'failed' }, q.failedCount);
        }
      } catch {
        this.reset();
      }
    },
  });
  new client.Gauge({
    name: METRIC.dbPool,
    help: "Connections of this worker's PostgreSQL pool, by state (total, idle, waiting clients).",
    labelNames: ['state'],
    registers: r,
    async collect() {
      const pool = await src.orm.em.getConnection().getNativeClient();
      this.set({ state: 'total' }, pool.totalCount);
      this.set({ state: 'idle' }, pool.idleCount);
      this.set({ state: 'waiting' }, pool.waitingCount);
    },
  });

  return {
    registry, eventsIngested, duplicates, copied, rejected, batchRows, batchSeconds, batchRetries, batchFailures, lag, eventAge, turnsFolded, stateRefolds, seqConflicts, seqsLate,
    seqsIssuedMissing, documentWrites, jobsExhausted, statesTooLarge,
  };
}
