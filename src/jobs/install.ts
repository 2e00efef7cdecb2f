/**
 * pg-boss's schema and our queues: installed or upgraded by `game-persist migrate` (the owner role), only
 * checked by workers. pg-boss migrates its schema in start() unless told not to, and createQueue() may
 * create a table (a partitioned queue): both need DDL rights a least-privilege worker does not have
 * (src/db/roles.ts), so workers construct pg-boss with `migrate: false` and find everything in place.
 */
import { createRequire } from 'node:module';
import { PgBoss } from 'pg-boss';
import type { MikroORM } from '@mikro-orm/postgresql';
import { PreconditionError, coerceError } from '../errors.ts';
import { query } from '../db/query.ts';
import { PGBOSS_INSTALLED_SQL, pgbossQueuesSql, pgbossVersionSql } from '../db/sql/pgboss.ts';
import { pgConnectionOptions } from '../db/tls.ts';

/** Where pg-boss lives and the queues we use (src/jobs/boss.ts's PGBOSS_SCHEMA and PGBOSS_QUEUES). */
export interface JobsSchema {
  schema: string;
  queues: readonly string[];
  /**
   * The queue (one of `queues`) every other queue's jobs go to when their retries ran out (pg-boss's
   * per-queue `deadLetter`), kept `retentionSeconds` there: nothing expires unseen.
   */
  deadLetter?: { queue: string; retentionSeconds: number };
}

/** The pg-boss schema version this build of pg-boss runs on (what its start() checks with `migrate: false`). */
export const PGBOSS_SCHEMA_VERSION: number = (createRequire(import.meta.url)('pg-boss/package.json') as { pgboss: { schema: number } }).pgboss.schema;

/**
 * Creates or upgrades pg-boss's schema and creates our queues (each once; concurrent runs take turns
 * on pg-boss's own advisory locks). Returns the schema version. Nothing is supervised or scheduled
 * from this short-lived instance.
 */
export async function migrateJobs(databaseUrl: string, jobs: JobsSchema): Promise<{ schema: string; version: number }> {
  const boss = new PgBoss({ ...pgConnectionOptions(databaseUrl), schema: jobs.schema, max: 1, supervise: false, schedule: false, migrate: true });
  // An `error` event without a listener would crash the process: the first one fails the run instead.
  let failed: unknown;
  boss.on('error', (e: unknown) => void (failed ??= e));
  await boss.start();
  try {
    for (const name of jobs.queues) await boss.createQueue(name);
    // Idempotent, so queues created by an earlier version get their dead-letter queue too.
    const dead = jobs.deadLetter;
    if (dead) {
      await boss.updateQueue(dead.queue, { retentionSeconds: dead.retentionSeconds });
      for (const name of jobs.queues) if (name !== dead.queue) await boss.updateQueue(name, { deadLetter: dead.queue });
    }
    if (failed !== undefined) throw coerceError(failed);
    return { schema: jobs.schema, version: PGBOSS_SCHEMA_VERSION };
  } finally {
    await boss.stop({ graceful: false, timeout: 1000 });
  }
}

/**
 * Throws a PreconditionError unless `migrate` installed pg-boss's schema at the version this build runs
 * on, and our queues. Read-only, on the worker's own pool, before pg-boss starts (whose own check throws
 * untyped errors).
 */
export async function checkJobs(orm: MikroORM, jobs: JobsSchema): Promise<void> {
  const { schema, queues } = jobs;
  const em = orm.em.fork();
  const hint = 'run `game-persist migrate` (as the owner role) first';
  const [{ installed } = { installed: false }] = await query<{ installed: boolean }>(em, PGBOSS_INSTALLED_SQL, [`${schema}.version`]);
  if (!installed) throw new PreconditionError('jobs_not_migrated', `pg-boss is not installed in schema "${schema}": ${hint}`);
  const [row] = await query<{ version: number | string }>(em, pgbossVersionSql(schema));
  const version = row ? Number(row.version) : null;
  if (version !== PGBOSS_SCHEMA_VERSION)
    throw new PreconditionError('jobs_not_migrated', `pg-boss schema "${schema}" is at version ${version ?? 'none'}, this build needs ${PGBOSS_SCHEMA_VERSION}: ${hint}`);
  const present = new Set((await query<{ name: string }>(em, pgbossQueuesSql(schema), [queues])).map((q) => q.name));
  const missing = queues.filter((n) => !present.has(n));
  if (missing.length) throw new PreconditionError('jobs_not_migrated', `pg-boss queue(s) ${missing.join(', ')} missing: ${hint}`);
}
