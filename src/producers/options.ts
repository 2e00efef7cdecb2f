/** The producer's options and counters (the SDK's configuration surface, documented per option). */
import type { Redis } from 'ioredis';
import type { CustomTypeCheck } from '../contract/custom-check.ts';
import type { Limits } from '../contract/limits.ts';
import { queueConnection } from '../queue/backend.ts';
import type { QueueBackend } from '../queue/backend-names.ts';
import type { SequenceReseed, SequenceSeed } from './sequences.ts';

export interface ProducerOptions {
  /**
   * An ioredis client or a `redis://` URL; or a `postgres://` URL for BullMQ's PostgreSQL backend
   * (GP_QUEUE_BACKEND=postgres): the queue in that database's schema for `prefix`, the sequence
   * counters in its `sequence_counters` table, no Redis at all. `game-persist migrate` with
   * GP_QUEUE_BACKEND=postgres creates both. `producerOptions(cfg)` picks the right one from a Config.
   */
  connection: Redis | string;
  /** @defaultValue gp */
  prefix?: string;
  /** @defaultValue events */
  queueName?: string;
  /** Events per job at most. @defaultValue 100 */
  maxBatchEvents?: number;
  /** JSON bytes per job at most (capped at 4 MiB, what a worker takes from one job). @defaultValue 262144 */
  maxBatchBytes?: number;
  /** How long an event may wait for companions before its job is sent. @defaultValue 5 */
  lingerMs?: number;
  /** Events accepted but not yet in the queue; past this, emits are refused. @defaultValue 20000 */
  maxBufferedEvents?: number;
  /** Contract limits; must not be looser than the workers'. */
  limits?: Partial<Limits>;
  /**
   * Checks game-defined (`x.<game>.<name>`) events against the registered schemas before they are
   * enqueued (a TypeRegistry, as the HTTP API uses). Without it they are checked as free-form JSON
   * here, and against their schemas by the worker (a failure is dead-lettered with its path).
   */
  customTypes?: CustomTypeCheck;
  /** BullMQ retry policy for jobs whose write fails transiently. @defaultValue 20 attempts, exponential from 1 s */
  attempts?: number;
  /**
   * Seconds a failed job is kept in the queue. Workers dead-letter a job whose attempts ran out
   * (`retries_exhausted`) instead of failing it, and sweep any failed job into dead letters within a
   * minute; this bounds only how long one they could not dead-letter stays. @defaultValue 604800 (7 days)
   */
  keepFailedSeconds?: number;
  /**
   * How long a Redis call waits for a (re)connecting Redis, or one still loading its data after a
   * restart (it answers LOADING meanwhile), before failing; on PostgreSQL, how long a call waits for a
   * connection. @defaultValue 1000
   */
  readyTimeoutMs?: number;
  /**
   * Where missing sequence numbers come from. `redis` (default; the name predates the PostgreSQL
   * backend) draws them from a per-session counter shared by the deployment, in Redis
   * (`{prefix}:seq:{sessionId}`) or, on the PostgreSQL backend, in `sequence_counters`, so a restarted
   * game server continues where it stopped.
   */
  sequence?: 'redis';
  /**
   * The highest stored seq of sessions, e.g. `pgSequenceSeed(reader)` from `game-persist`. When set,
   * the producer asks it (once per flush, for every session it has not drawn for yet) before its first
   * draw for a session, and never draws below the answer: a restarted game server continues above what
   * the database holds even if Redis lost the session's counter. If it fails (or takes longer than
   * `sequenceSeedTimeoutMs`), that session's emits reject with an EnqueueError of reason
   * `sequence_seed_failed` rather than risk repeating a number. Without it, a lost counter is detected
   * (and raised) only for sessions this process has drawn for.
   */
  sequenceSeed?: SequenceSeed;
  /** How long a `sequenceSeed` call may take before the emits waiting on it are refused. @defaultValue 5000 */
  sequenceSeedTimeoutMs?: number;
  /**
   * Called when a session's counter in Redis was missing or behind this producer's floor (Redis lost or
   * rolled it back: a flush, a failover, an AOF rollback, 30 days of silence) and was raised to the
   * floor before drawing. Numbers between the counter and the floor were not reissued; events other
   * producers drew from the lost range may have been lost with Redis and show as gaps. Also counted
   * in `stats.reseeded`. Must not throw (a throw is ignored).
   */
  onSequenceReseed?: (reseed: SequenceReseed) => void;
  /**
   * Redis backend: when the client connects again to a Redis that is not the one it left (another
   * `run_id`: a restart, a failover), the producer reports the highest seq it issued for every session
   * it drew numbers for within this many milliseconds before the connection dropped, so events Redis
   * lost after acknowledging them (the AOF's fsync window, a replica that lagged) are counted as lost
   * even when nothing came after them in their session (docs/contract.md, "Issued-seq reports"). Cover
   * the deepest rollback you expect. 0 turns the report off. @defaultValue 300000 (5 minutes)
   */
  issuedReportWindowMs?: number;
  /**
   * Called after each issued-seq report: how many sessions it named, and the error if it could not be
   * sent (after retrying for 30 s, or because close() was called). Must not throw (a throw is ignored).
   */
  onIssuedReport?: (report: { sessions: number; error: unknown }) => void;
}

export interface ProducerStats {
  emitted: number;
  enqueued: number;
  jobs: number;
  failed: number;
  /** Accepted and not yet settled (waiting in the buffer or being sent): what `maxBufferedEvents` bounds. */
  buffered: number;
  /** Sessions whose Redis counter was found missing or behind and raised (see `onSequenceReseed`). */
  reseeded: number;
  /** Issued-seq reports sent after reconnecting to a restarted Redis, and those that could not be sent (see `onIssuedReport`). */
  issuedReports: number;
  issuedReportFailures: number;
}

/**
 * What `producerOptions` reads of a deployment's settings: a loaded `Config` (from `game-persist`) has
 * all of it. Stated here rather than picked from Config so that the SDK does not depend on the
 * server's configuration module.
 */
export interface DeploymentQueue {
  queueBackend: QueueBackend;
  databaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
  queueName: string;
  limits: Limits;
}

/**
 * The options that place a producer on a deployment's queue, from its loaded Config: the connection
 * for GP_QUEUE_BACKEND (REDIS_URL, or DATABASE_URL with the PostgreSQL backend), GP_QUEUE_PREFIX,
 * GP_QUEUE_NAME and the contract limits. `createProducer({ ...producerOptions(loadConfig()), sequenceSeed })`.
 */
export function producerOptions(cfg: DeploymentQueue): Required<Pick<ProducerOptions, 'connection' | 'prefix' | 'queueName' | 'limits'>> {
  return { connection: queueConnection(cfg), prefix: cfg.queuePrefix, queueName: cfg.queueName, limits: cfg.limits };
}
