/**
 * What must hold before a worker consumes: our migrations applied, and a queue that cannot lose jobs
 * (a Redis that does not evict keys, or on the PostgreSQL backend a queue schema `game-persist migrate`
 * created at this BullMQ's version). The worker creates no schema itself: it needs no DDL rights.
 * PostgreSQL evicts nothing.
 */
import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { MikroORM } from '../db/orm.ts';
import { pendingMigrations } from '../db/migrate.ts';
import { PreconditionError } from '../errors.ts';
import { evictionPolicy } from '../redis.ts';
import { queueSchemaState } from '../queue/backend.ts';

export async function preflight(cfg: Readonly<Config>, orm: MikroORM, redis: Redis | null): Promise<void> {
  const pending = await pendingMigrations(orm);
  if (pending.length) throw new PreconditionError('migrations_pending', `${pending.length} migration(s) not applied; run \`game-persist migrate\` first`);
  if (!redis) {
    const q = await queueSchemaState(cfg.databaseUrl, cfg.queuePrefix);
    if (q.version < q.latest)
      throw new PreconditionError(
        'queue_schema_pending',
        `the PostgreSQL queue schema ${q.schema} is ${q.version ? `at version ${q.version}, this BullMQ needs ${q.latest}` : 'missing'}; run \`game-persist migrate\` (with GP_QUEUE_BACKEND=postgres) first`,
      );
    return;
  }
  const policy = await evictionPolicy(redis);
  if (policy !== 'noeviction' && !cfg.allowEviction)
    throw new PreconditionError(
      'redis_eviction',
      `Redis maxmemory-policy is "${policy}": queued jobs could be evicted and lost. Set it to noeviction, or GP_ALLOW_EVICTION=true to accept the risk`,
    );
}
