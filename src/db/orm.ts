/**
 * MikroORM set-up. One ORM per process, passed explicitly; units of work use `orm.em.fork()`.
 */
import { fileURLToPath } from 'node:url';
import { Migrator } from '@mikro-orm/migrations';
import { MikroORM, defineConfig, type Options } from '@mikro-orm/postgresql';
import { ENTITIES } from '../entities/index.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));
/** Run from source (Node strips types) or from the compiled package (dist/): migrations follow suit. */
const FROM_SOURCE = import.meta.url.endsWith('.ts');
export const MIGRATIONS_TABLE = 'gp_migrations';

export interface OrmOptions {
  databaseUrl: string;
  poolMax?: number;
  debug?: boolean;
}

export function ormConfig(opts: OrmOptions): Options {
  return defineConfig({
    clientUrl: opts.databaseUrl,
    entities: ENTITIES,
    extensions: [Migrator],
    preferTs: FROM_SOURCE,
    ensureDatabase: false,
    allowGlobalContext: false,
    debug: opts.debug ?? false,
    pool: { min: 0, max: opts.poolMax ?? 4 },
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
      // BullMQ's PostgreSQL backend and pg-boss own these schemas; never diff or drop them.
      ignoreSchema: ['bullmq', 'pgboss'],
      // The leaderboard rank functions are hand-written in the aggregates migration.
      ignoreRoutines: true,
    },
  });
}

export async function openOrm(opts: OrmOptions): Promise<MikroORM> {
  return MikroORM.init(ormConfig(opts));
}

export type { MikroORM };
