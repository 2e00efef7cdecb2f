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
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

export async function query<R = Record<string, unknown>>(em: EntityManager, sql: string, params: readonly unknown[] = []): Promise<R[]> {
  return run<R>(em.getKysely(), sql, params);
}

async function run<R>(db: Kysely<any>, sql: string, params: readonly unknown[]): Promise<R[]> {
  const res = await db.executeQuery<R>(CompiledQuery.raw(sql, params as unknown[]));
  return res.rows;
}

/** A transaction's query function. */
export type TxQuery = <R = Record<string, unknown>>(sql: string, params?: readonly unknown[]) => Promise<R[]>;

/** Streams `text` (COPY text format) into the transaction through `sql` (a COPY … FROM STDIN); resolves with the rows copied. */
export type TxCopy = (sql: string, text: string) => Promise<number>;

/** MikroORM's pg pool per ORM: the connections it owns (size, TLS, session limits, type parsers). */
const pools = new WeakMap<MikroORM, Promise<pg.Pool>>();

function poolOf(orm: MikroORM): Promise<pg.Pool> {
  let p = pools.get(orm);
  if (!p) {
    // One statement through Kysely first: its driver adopts the pool on its first query only, and only
    // a pool it adopted is ended by orm.close(). Without it a command whose every statement ran here
    // (verify, rebuild) waited for pg's idle timeout (10 s) before it could exit.
    p = query(orm.em.fork(), 'SELECT 1').then(() => orm.em.getConnection().getNativeClient() as unknown as Promise<pg.Pool>);
    // A database that did not answer is asked again by the next transaction, not remembered as down.
    p.catch(() => pools.delete(orm));
    pools.set(orm, p);
  }
  return p;
}

/**
 * One transaction on one connection of MikroORM's pool: `fn` gets its query function and a COPY
 * function (the write path streams event rows with it, src/db/copy.ts). The connection is taken from
 * the pool MikroORM opened and configured, so MikroORM stays the owner of every connection; the
 * transaction is ours because COPY needs the driver's client, which neither `em.transactional()` nor
 * Kysely's transaction hands out.
 *
 * A failed transaction is rolled back; when the rollback fails too (a connection PostgreSQL terminated:
 * 57P01, a failover, a restart) the connection is destroyed instead of going back to the pool. Before,
 * `em.transactional()` leaked such a connection until the worker hung (the "backends terminated
 * mid-load" test). Nothing of the session outlives the transaction: no session settings, no named
 * statements (fit for a pooler in transaction mode).
 */
export async function transaction<T>(orm: MikroORM, fn: (q: TxQuery, copy: TxCopy) => Promise<T>): Promise<T> {
  const client = await (await poolOf(orm)).connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const q: TxQuery = async <R>(sql: string, params: readonly unknown[] = []) => (await client.query(sql, params as unknown[])).rows as R[];
    const copy: TxCopy = (sql, text) =>
      new Promise<number>((resolve, reject) => {
        const stream = copyFrom(sql);
        client.query(stream);
        stream.on('finish', () => resolve(stream.rowCount));
        stream.on('error', reject);
        stream.end(text);
      });
    const result = await fn(q, copy);
    await client.query('COMMIT');
    return result;
  } catch (e) {
    await client.query('ROLLBACK').catch((r: unknown) => {
      broken = r instanceof Error ? r : new Error(String(r));
    });
    throw e;
  } finally {
    client.release(broken);
  }
}
