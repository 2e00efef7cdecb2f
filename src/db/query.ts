/**
 * Runs our SQL on MikroORM's connection with real bind parameters ($1, $2 ...).
 *
 * `em.execute()` formats parameters into the SQL text on the client; we never want that (values must
 * be bound, and a 500 KB JSON batch should not be escaped and re-parsed as a literal). Kysely, which
 * MikroORM 7 drives underneath, sends a CompiledQuery's parameters as a prepared statement's binds,
 * and `em.getKysely()` is bound to the em's transaction when there is one.
 */
import { CompiledQuery } from 'kysely';
import type { EntityManager } from '@mikro-orm/postgresql';

export async function query<R = Record<string, unknown>>(em: EntityManager, sql: string, params: readonly unknown[] = []): Promise<R[]> {
  const res = await em.getKysely().executeQuery<R>(CompiledQuery.raw(sql, params as unknown[]));
  return res.rows;
}
