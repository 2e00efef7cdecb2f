/**
 * A read-only pool for the recovery and analytics read APIs: plain pg with named (prepared)
 * statements, so a recovery query is planned once per connection instead of on every call (about 4x
 * faster for a single-session recovery than going through the ORM's query path). Point it at a read
 * replica when there is one. Writes never go through it.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import { query } from './query.ts';
import { pgConnectionOptions } from './tls.ts';

export interface Reader {
  read<R = Record<string, any>>(sql: string, params: unknown[]): Promise<R[]>;
  close(): Promise<void>;
}

const names = new Map<string, string>();
/** A stable statement name per SQL text. */
function nameOf(sql: string): string {
  let n = names.get(sql);
  if (!n) {
    n = `gp_${createHash('sha1').update(sql).digest('hex').slice(0, 16)}`;
    names.set(sql, n);
  }
  return n;
}

export function createReader(databaseUrl: string, opts: { max?: number } = {}): Reader {
  const pool = new pg.Pool({ ...pgConnectionOptions(databaseUrl), max: opts.max ?? 6 });
  pool.on('error', () => {}); // an idle client's error; the next query reports it
  return {
    async read<R>(sql: string, params: unknown[]) {
      return (await pool.query({ name: nameOf(sql), text: sql, values: params })).rows as R[];
    },
    close: () => pool.end(),
  };
}

/** Reads through the ORM's connection when no dedicated reader is given. */
export function ormReader(orm: MikroORM): Reader {
  return { read: (sql, params) => query(orm.em.fork(), sql, params), close: async () => {} };
}

export type ReadSource = MikroORM | Reader;

export function asReader(src: ReadSource): Reader {
  return 'read' in src && typeof src.read === 'function' ? (src as Reader) : ormReader(src as MikroORM);
}
