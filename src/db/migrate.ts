/**
 * Migration helpers used by the CLI, the test set-up and `npm run migration:*`.
 */
import pg from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { query } from './query.ts';
import { pgConnectionOptions } from './tls.ts';

/** Key of the session-level advisory lock that serialises migration runs (an arbitrary constant). */
const MIGRATION_LOCK_KEY = 7_346_120_112;

/**
 * Applies pending migrations; returns their names. Runs that overlap (several processes started at
 * once on a new database) take turns on an advisory lock, held on a connection of its own: MikroORM's
 * migrator has no lock, and two runs would both apply the first pending migration.
 */
export async function migrateUp(orm: MikroORM, databaseUrl?: string): Promise<string[]> {
  const lock = databaseUrl ? new pg.Client({ ...pgConnectionOptions(databaseUrl), application_name: 'game-persist:migrate-lock' }) : null;
  if (lock) {
    await lock.connect();
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
  }
  try {
    const done = await orm.migrator.up();
    return done.map((m) => m.name);
  } finally {
    // Ending the session releases the lock.
    await lock?.end();
  }
}

export async function pendingMigrations(orm: MikroORM): Promise<string[]> {
  return (await orm.migrator.getPending()).map((m) => m.name);
}

/**
 * True when the entities describe a schema the committed migrations do not produce. BullMQ's queue
 * schemas (GP_QUEUE_BACKEND=postgres: `bullmq_<prefix>`, one per prefix, src/queue/backend.ts) are not
 * ours: MikroORM's comparison would read them as tables to drop. Its `ignoreSchema` takes exact names
 * only, so the ones present in this database are added to it first.
 */
export async function schemaDrifts(orm: MikroORM): Promise<boolean> {
  const present = await query<{ name: string }>(orm.em.fork(), QUEUE_SCHEMAS_SQL);
  const generator = orm.config.get('schemaGenerator');
  const ignored = (generator.ignoreSchema ??= []);
  for (const { name } of present) if (!ignored.includes(name)) ignored.push(name);
  return orm.migrator.checkSchema();
}

/** BullMQ's PostgreSQL schemas in this database: its default `bullmq`, and ours `bullmq_<prefix>`. */
const QUEUE_SCHEMAS_SQL = `SELECT nspname AS name FROM pg_namespace WHERE nspname = 'bullmq' OR nspname LIKE 'bullmq\\_%'`;

/** Creates the database named in `url` if it does not exist (connecting to the `postgres` database). */
export async function ensureDatabase(url: string): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) throw new Error('DATABASE_URL names no database');
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client(pgConnectionOptions(admin.toString()));
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return false;
    // Identifiers cannot be bound parameters; quote it the way PostgreSQL does.
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    return true;
  } catch (e) {
    // Created concurrently: 42P04 once the other CREATE DATABASE committed, 23505 (pg_database's unique
    // index on the name) when both were inserting the catalog row at once.
    const code = (e as { code?: string }).code;
    if (code === '42P04' || code === '23505') return false;
    throw e;
  } finally {
    await client.end();
  }
}

export { Migrator };
