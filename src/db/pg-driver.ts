/**
 * node-postgres, loaded on first use. The producer SDK (packages/sdk) declares `pg` an optional peer
 * dependency, as BullMQ does: a game server whose queue is on Redis never loads it and need not install
 * it; one on the PostgreSQL queue backend installs it beside the SDK. The server always has it.
 *
 * Loaded with `require` (pg is CommonJS; its ESM entry re-exports the same module object, so this and
 * `import pg from 'pg'` elsewhere share one driver and one type-parser registry) so that synchronous
 * callers (a constructor, a type parser) can use it.
 */
import { createRequire } from 'node:module';
import type pg from 'pg';
import { PreconditionError } from '../errors.ts';

let driver: typeof pg | undefined;

export function pgDriver(): typeof pg {
  if (driver) return driver;
  try {
    driver = createRequire(import.meta.url)('pg') as typeof pg;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw e;
    throw new PreconditionError('pg_not_installed', 'the PostgreSQL queue backend (a postgres:// connection) needs the pg package, which is not installed: npm install pg');
  }
  return driver;
}
