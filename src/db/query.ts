/**
 * Runs our SQL on MikroORM's connection with real bind parameters ($1, $2 ...).
 *
 * `em.execute()` formats parameters into the SQL text on the client; we never want that (values must
 * be bound, and a 500 KB JSON batch should not be escaped and re-parsed as a literal). Kysely, which
 * MikroORM 7 drives underneath, sends a CompiledQuery's parameters as a prepared statement's binds,
 * and `em.getKysely()` is bound to the em's transaction when there is one.
 */
import { CompiledQuery, type Kysely } from 'kysely';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';

export async function query<R = Record<string, unknown>>(em: EntityManager, sql: string, params: readonly unknown[] = []): Promise<R[]> {
  return run<R>(em.getKysely(), sql, params);
}

async function run<R>(db: Kysely<any>, sql: string, params: readonly unknown[]): Promise<R[]> {
  const res = await db.executeQuery<R>(CompiledQuery.raw(sql, params as unknown[]));
  return res.rows;
}

/** A transaction's query function. */
export type TxQuery = <R = Record<string, unknown>>(sql: string, params?: readonly unknown[]) => Promise<R[]>;

/**
 * One transaction on MikroORM's pool. Why not `em.transactional()`: it ends a failed transaction with
 * Kysely's controlled-transaction rollback, which never returns the connection to the pool when the
 * rollback itself fails, as it does on a connection PostgreSQL terminated (57P01, a failover, a
 * restart). Each such failure leaked a pooled connection until the worker hung (found by the
 * "backends terminated mid-load" test). Kysely's callback transaction releases the connection in all
 * cases, and runs on the same MikroORM-configured pool.
 */
export async function transaction<T>(orm: MikroORM, fn: (q: TxQuery) => Promise<T>): Promise<T> {
  return orm.em.getKysely().transaction().execute((trx) => fn((sql, params = []) => run(trx, sql, params)));
}
