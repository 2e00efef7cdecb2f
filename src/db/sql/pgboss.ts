/**
 * Read-only checks of pg-boss's schema (src/jobs/install.ts): a worker verifies that `migrate` installed
 * it, instead of letting pg-boss migrate it (DDL). `schema` is our constant PGBOSS_SCHEMA, an identifier.
 */
import pg from 'pg';

/** $1 `<schema>.version`. Result: { installed } — whether pg-boss's version table exists. */
export const PGBOSS_INSTALLED_SQL = `SELECT to_regclass($1) IS NOT NULL AS installed`;

/** Result: { version } — pg-boss's schema version. */
export const pgbossVersionSql = (schema: string): string => `SELECT version FROM ${pg.escapeIdentifier(schema)}.version`;

/** $1 queue names. Result: { name } of those that exist. */
export const pgbossQueuesSql = (schema: string): string => `SELECT name FROM ${pg.escapeIdentifier(schema)}.queue WHERE name = ANY($1)`;
