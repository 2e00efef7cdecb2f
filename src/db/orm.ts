/**
 * MikroORM set-up. One ORM per process, passed explicitly; units of work use `orm.em.fork()`.
 */
import { fileURLToPath } from 'node:url';
import { Migrator } from '@mikro-orm/migrations';
import { MikroORM, defineConfig, type Options } from '@mikro-orm/postgresql';
import { ENTITIES } from '../entities/index.ts';
import { pgConnectionOptions, type PgConnectionOptions } from './tls.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));
/** Run from source (Node strips types) or from the compiled package (dist/): migrations follow suit. */
const FROM_SOURCE = import.meta.url.endsWith('.ts');
export const MIGRATIONS_TABLE = 'gp_migrations';

/**
 * PostgreSQL limits on every connection of a pool. Absent or 0: none (the server's defaults). Only the
 * worker's write pool sets them: a one-off command such as `migrate` must never have a long statement
 * cancelled halfway.
 */
export interface SessionLimits {
  /** statement_timeout: a statement running longer is cancelled (SQLSTATE 57014). */
  statementTimeoutMs?: number;
  /** lock_timeout: a statement waiting longer for another transaction's locks fails (55P03). */
  lockTimeoutMs?: number;
  /**
   * idle_in_transaction_session_timeout: a session idle this long inside a transaction (its client
   * frozen or stalled) is ended (25P03), rolling back and releasing its locks.
   */
  idleInTransactionTimeoutMs?: number;
}

export interface OrmOptions {
  databaseUrl: string;
  poolMax?: number;
  debug?: boolean;
  /** application_name of the pool's sessions (pg_stat_activity, server logs). @defaultValue game-persist */
  applicationName?: string;
  /** @defaultValue none */
  sessionLimits?: SessionLimits;
}

/**
 * pg's connection options for the pool. pg sends these as startup parameters: in force from the
 * first statement of every connection, reconnects included, with no extra round trip. `ssl` comes
 * from the URL's sslmode (./tls.ts): MikroORM reads only host, port, user, password and database
 * from `clientUrl`, so without it the pool ignored `sslmode` and connected in plaintext.
 */
function driverOptions(opts: OrmOptions, ssl: PgConnectionOptions['ssl']): Record<string, unknown> {
  const limits = opts.sessionLimits ?? {};
  const ms = (v: number | undefined) => (v && v > 0 ? Math.floor(v) : undefined);
  const entries = {
    application_name: opts.applicationName ?? 'game-persist',
    statement_timeout: ms(limits.statementTimeoutMs),
    lock_timeout: ms(limits.lockTimeoutMs),
    idle_in_transaction_session_timeout: ms(limits.idleInTransactionTimeoutMs),
  };
  return { ...Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined)), ssl };
}

export function ormConfig(opts: OrmOptions): Options {
  const { connectionString, ssl } = pgConnectionOptions(opts.databaseUrl);
  return defineConfig({
    clientUrl: connectionString,
    entities: ENTITIES,
    extensions: [Migrator],
    preferTs: FROM_SOURCE,
    ensureDatabase: false,
    allowGlobalContext: false,
    debug: opts.debug ?? false,
    pool: { min: 0, max: opts.poolMax ?? 4 },
    driverOptions: driverOptions(opts, ssl),
    migrations: {
      path: MIGRATIONS_DIR,
      pathTs: MIGRATIONS_DIR,
      glob: FROM_SOURCE ? '!(*.d).ts' : '!(*.d).js',
      tableName: MIGRATIONS_TABLE,
      silent: true,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      emit: 'ts',
      fileName: (timestamp: string, name?: string) => `Migration${timestamp}${name ? `_${name}` : ''}`,
    },
    schemaGenerator: {
      // BullMQ's PostgreSQL backend and pg-boss own these schemas, and the dashboard views are hand-written
      // (a migration of their own); never diff or drop them.
      ignoreSchema: ['bullmq', 'pgboss', 'gp_dashboards'],
      // The leaderboard rank functions are hand-written in the aggregates migration.
      ignoreRoutines: true,
    },
  });
}

export async function openOrm(opts: OrmOptions): Promise<MikroORM> {
  return MikroORM.init(ormConfig(opts));
}

export type { MikroORM };
