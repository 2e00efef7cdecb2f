/**
 * Where the events queue lives, in one place: BullMQ on Redis (the default) or on BullMQ 6's PostgreSQL
 * backend. A queue is named by a connection, a prefix and a queue name; a `postgres://` (or
 * `postgresql://`) connection selects the PostgreSQL backend, anything else is Redis. Everything that
 * makes a BullMQ Queue or Worker (producer, worker, doctor, dlq replay, board, metrics) makes it here,
 * so no other module asks which backend it runs on.
 *
 * On PostgreSQL, BullMQ's key prefix has no meaning: its namespace is a schema. Ours is derived from
 * the prefix (`queueSchema`), so deployments and test files that differ by prefix stay apart as they
 * do on Redis. The schema is created and upgraded by `game-persist migrate` (`migrateQueueSchema`),
 * never by a producer or worker at run time: they need no DDL rights.
 */
import { createHash } from 'node:crypto';
import {
  LATEST_SCHEMA_VERSION,
  Queue,
  Worker,
  assertSchemaCompatibility,
  createPostgresBackend,
  runMigrations,
  type IQueueBackend,
  type Processor,
  type WorkerOptions,
} from 'bullmq';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { pgDriver } from '../db/pg-driver.ts';
import { DELETE_PREFIX_COUNTERS_SQL } from '../db/sql/sequence-counters.ts';
import { DELETE_PREFIX_RECORDS_SQL } from '../db/sql/api-records.ts';
import { pgConnectionOptions } from '../db/tls.ts';
import { boundedJobClass, boundedJsonbTypes } from './job-size.ts';
import type { QueueBackend } from './backend-names.ts';

/** An ioredis client, a `redis://` URL, or a `postgres://` URL (the PostgreSQL backend). */
export type QueueConnection = Redis | string;

/** The events queue on either backend (BullMQ's classes are generic in their backend). */
export type EventsQueue = Queue<any, any, string, any, any, string, IQueueBackend, any>;
export type EventsWorker = Worker<any, any, string, IQueueBackend, any, any>;

export interface QueueTarget {
  connection: QueueConnection;
  prefix: string;
  queueName: string;
}

export function isPostgresUrl(connection: QueueConnection): connection is string {
  return typeof connection === 'string' && /^postgres(ql)?:\/\//i.test(connection);
}

export function backendOf(connection: QueueConnection): QueueBackend {
  return isPostgresUrl(connection) ? 'postgres' : 'redis';
}

/**
 * The connection producers and workers of a deployment use: DATABASE_URL with the PostgreSQL backend,
 * REDIS_URL otherwise.
 */
export function queueConnection(cfg: { queueBackend: QueueBackend; databaseUrl: string; redisUrl: string }): string {
  return cfg.queueBackend === 'postgres' ? cfg.databaseUrl : cfg.redisUrl;
}

/**
 * The PostgreSQL schema of a prefix's queue: `bullmq_` and the prefix, lower-cased. A prefix that is
 * not already a plain identifier (`{gp}`, `a.b`, upper case) or is too long has its other characters
 * replaced and a hash of the original appended, so two prefixes never share a schema.
 */
export function queueSchema(prefix: string): string {
  const plain = prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (plain === prefix && plain.length <= 48) return `bullmq_${plain}`;
  const hash = createHash('sha256').update(prefix).digest('hex').slice(0, 8);
  return `bullmq_${plain.slice(0, 40)}_${hash}`;
}

/** Settings of the pg pool BullMQ opens for one Queue or Worker on the PostgreSQL backend. */
export interface PgPoolSettings {
  /** Connections of the pool (BullMQ's LISTEN connection is separate). @defaultValue 4 */
  max?: number;
  /** application_name, for pg_stat_activity. @defaultValue game-persist */
  applicationName?: string;
  /** How long a query waits for a connection before failing. @defaultValue 10000 */
  connectTimeoutMs?: number;
  /**
   * Commit without waiting for the WAL flush (synchronous_commit=off). Only where losing the last
   * commits in a PostgreSQL crash is harmless: see the worker, whose lost acknowledgements only
   * redeliver jobs that workers deduplicate.
   */
  asyncCommit?: boolean;
  /** Parse no json/jsonb value over this many bytes (a Worker's pool; see src/queue/job-size.ts). */
  maxJsonBytes?: number;
}

/** BullMQ's PostgreSQL connection option: a pool config carrying the schema. */
function pgConnection(url: string, prefix: string, s: PgPoolSettings) {
  return {
    ...pgConnectionOptions(url),
    schema: queueSchema(prefix),
    max: s.max ?? 4,
    application_name: s.applicationName ?? 'game-persist',
    connectionTimeoutMillis: s.connectTimeoutMs ?? 10_000,
    ...(s.asyncCommit ? { options: '-c synchronous_commit=off' } : {}),
    ...(s.maxJsonBytes ? { types: boundedJsonbTypes(s.maxJsonBytes) } : {}),
  };
}

/**
 * A BullMQ Queue (adding jobs, counting them) on the target's backend. With `maxJobBytes`, jobs it
 * reads (getJobs) larger than that come back as OversizeJob markers, unparsed.
 */
export function openQueue(t: QueueTarget, opts: { skipWaitingForReady?: boolean } = {}, pgPool: PgPoolSettings = {}, maxJobBytes?: number): EventsQueue {
  const Q: typeof Queue = maxJobBytes ? boundedQueueClass(maxJobBytes) : Queue;
  if (isPostgresUrl(t.connection))
    return new Q(t.queueName, { connection: pgConnection(t.connection, t.prefix, { ...pgPool, maxJsonBytes: maxJobBytes }), ...opts }, createPostgresBackend) as unknown as EventsQueue;
  return new Q(t.queueName, { connection: t.connection, prefix: t.prefix, ...opts }) as unknown as EventsQueue;
}

function boundedQueueClass(maxJobBytes: number) {
  const BoundedJob = boundedJobClass(maxJobBytes);
  return class BoundedQueue extends Queue {
    protected override get Job() {
      return BoundedJob;
    }
  };
}

/**
 * A BullMQ Worker on the target's backend. With `maxJobBytes`, a job whose data is larger reaches the
 * processor as an OversizeJob marker, never parsed (src/queue/job-size.ts).
 */
export function openWorker(
  t: QueueTarget,
  processor: Processor,
  opts: Omit<WorkerOptions, 'connection' | 'prefix'>,
  pgPool: PgPoolSettings = {},
  maxJobBytes?: number,
): EventsWorker {
  const W: typeof Worker = maxJobBytes ? boundedWorkerClass(maxJobBytes) : Worker;
  if (isPostgresUrl(t.connection))
    return new W(t.queueName, processor, { ...opts, connection: pgConnection(t.connection, t.prefix, { ...pgPool, maxJsonBytes: maxJobBytes }) }, createPostgresBackend) as unknown as EventsWorker;
  return new W(t.queueName, processor, { ...opts, connection: t.connection, prefix: t.prefix }) as unknown as EventsWorker;
}

/** BullMQ's Worker building its jobs with boundedJobClass (its protected `Job` getter is the extension point). */
function boundedWorkerClass(maxJobBytes: number) {
  const BoundedJob = boundedJobClass(maxJobBytes);
  return class BoundedWorker extends Worker {
    protected override get Job() {
      return BoundedJob;
    }
  };
}

async function withClient<T>(databaseUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new (pgDriver().Client)({ ...pgConnectionOptions(databaseUrl), application_name: 'game-persist:queue-schema', connectionTimeoutMillis: 10_000 });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * Creates or upgrades the prefix's queue schema to this BullMQ's version (idempotent; concurrent
 * callers are serialised by BullMQ's advisory lock). Returns the schema version.
 */
export async function migrateQueueSchema(databaseUrl: string, prefix: string): Promise<{ schema: string; version: number }> {
  const schema = queueSchema(prefix);
  return { schema, version: await withClient(databaseUrl, (c) => runMigrations(c, schema)) };
}

export interface QueueSchemaState {
  schema: string;
  /** Version the schema is at; 0 when it does not exist. */
  version: number;
  /** Version this BullMQ needs (a lower `version` means `game-persist migrate` has not run since an upgrade). */
  latest: number;
}

/** Reads the queue schema's version without locks or DDL; a schema too new for this BullMQ throws. */
export async function queueSchemaState(databaseUrl: string, prefix: string): Promise<QueueSchemaState> {
  const schema = queueSchema(prefix);
  const version = await withClient(databaseUrl, async (c) => {
    try {
      return await assertSchemaCompatibility(c, schema);
    } catch (e) {
      if ((e as Error).name === 'SchemaMigrationRequiredError') return 0;
      throw e;
    }
  });
  return { schema, version, latest: LATEST_SCHEMA_VERSION };
}

/**
 * Removes a prefix's queue and what belongs to it: its schema, sequence counters and API records (on
 * Redis: every key under the prefix). For tests, benchmarks and tearing down a tenant's queue.
 */
export async function dropPostgresQueue(databaseUrl: string, prefix: string): Promise<void> {
  const pg = pgDriver();
  await withClient(databaseUrl, async (c) => {
    await c.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(queueSchema(prefix))} CASCADE`);
    await c.query(DELETE_PREFIX_COUNTERS_SQL, [prefix]);
    await c.query(DELETE_PREFIX_RECORDS_SQL, [`${prefix.replace(/[\\%_]/g, '\\$&')}:%`]);
  });
}
