/**
 * Per-file test services: a database cloned from the migrated template, a random queue prefix, and
 * clean-up that drops both. Real PostgreSQL, real Redis, real BullMQ (on Redis, or on its PostgreSQL
 * backend: a queue schema per prefix in the file's database).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { loadConfig, type Config } from '../../src/config.ts';
import { openOrm, type MikroORM } from '../../src/db/orm.ts';
import { query } from '../../src/db/query.ts';
import { deletePrefix } from '../../src/redis.ts';
import type { QueueBackend } from '../../src/queue/backend-names.ts';
import { dropPostgresQueue, migrateQueueSchema } from '../../src/queue/backend.ts';
import { REDIS_URL, adminQuery, databaseUrl } from './env.ts';

export function uniqueName(kind: string): string {
  return `gpt_${kind}_${randomBytes(5).toString('hex')}`;
}


/** A fresh migrated database for this file. */
export async function cloneDatabase(): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = uniqueName('db');
  const template = inject('templateDatabase');
  for (let attempt = 0; ; attempt++) {
    try {
      await adminQuery(`CREATE DATABASE ${pg.escapeIdentifier(name)} TEMPLATE ${pg.escapeIdentifier(template)}`);
      break;
    } catch (e) {
      // 55006: the template is briefly in use by a concurrent clone.
      if ((e as { code?: string }).code !== '55006' || attempt > 50) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { name, url: databaseUrl(name), drop: () => adminQuery(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`) };
}

/** An empty database (no migrations), for migration tests. */
export async function emptyDatabase(): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = uniqueName('empty');
  await adminQuery(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  return { name, url: databaseUrl(name), drop: () => adminQuery(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`) };
}

export function testEnv(dbUrl: string, prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return { DATABASE_URL: dbUrl, REDIS_URL, GP_QUEUE_PREFIX: prefix, GP_LOG_LEVEL: 'silent', GP_BATCH_MS: '5', GP_LOCK_MS: '2000', GP_METRICS_PORT: '0', ...extra };
}

export function testConfig(dbUrl: string, prefix: string, extra: Record<string, string> = {}): Readonly<Config> {
  return loadConfig(testEnv(dbUrl, prefix, extra));
}

/** Deletes every Redis key under a queue prefix (the queue, sequence counters). */
export async function dropPrefix(prefix: string): Promise<void> {
  await deletePrefix(REDIS_URL, prefix);
}

/** The queue backends the core ingest and recovery tests run on (`describe.each(BACKENDS)`). */
export const BACKENDS: readonly QueueBackend[] = ['redis', 'postgres'];

/** Test settings selecting a backend (GP_QUEUE_BACKEND), to merge into testEnv/testConfig extras. */
export const backendEnv = (backend: QueueBackend): Record<string, string> => ({ GP_QUEUE_BACKEND: backend });

/** What a producer connects to for a test queue on `backend`: the test Redis, or the file's database. */
export function queueUrl(backend: QueueBackend, dbUrl: string): string {
  return backend === 'postgres' ? dbUrl : REDIS_URL;
}

/** Makes a prefix's queue usable: on PostgreSQL its schema (what `game-persist migrate` does); nothing on Redis. */
export async function prepareQueue(backend: QueueBackend, dbUrl: string, prefix: string): Promise<void> {
  if (backend === 'postgres') await migrateQueueSchema(dbUrl, prefix);
}

/** Removes a prefix's queue: its Redis keys, or its PostgreSQL schema, counters and API records. */
export async function dropQueue(backend: QueueBackend, dbUrl: string, prefix: string): Promise<void> {
  if (backend === 'postgres') await dropPostgresQueue(dbUrl, prefix);
  else await dropPrefix(prefix);
}

export interface Fixture {
  db: { name: string; url: string; drop(): Promise<void> };
  orm: MikroORM;
  close(): Promise<void>;
}

export async function openFixture(): Promise<Fixture> {
  const db = await cloneDatabase();
  const orm = await openOrm({ databaseUrl: db.url, poolMax: 2 });
  return {
    db,
    orm,
    async close() {
      // The database goes even if closing the ORM fails (a test may have killed its connections).
      try {
        await orm.close();
      } finally {
        await db.drop();
      }
    },
  };
}

export async function rows<T = Record<string, any>>(orm: MikroORM, sql: string, params: unknown[] = []): Promise<T[]> {
  return query<T>(orm.em.fork(), sql, params);
}

export async function count(orm: MikroORM, table: string, where = 'true', params: unknown[] = []): Promise<number> {
  const [r] = await rows<{ n: string }>(orm, `select count(*) as n from ${table} where ${where}`, params);
  return Number(r.n);
}

/** Polls until `fn` returns true or the time is up (then fails with `what`). */
export async function waitFor(what: string, fn: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export { REDIS_URL };
