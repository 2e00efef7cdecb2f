/**
 * Least-privilege PostgreSQL roles (`game-persist migrate --create-roles`): an owner that owns the
 * schemas and runs `migrate` (our migrations, pg-boss's schema and queues, BullMQ's PostgreSQL schema), a
 * worker with DML only (workers and the write commands; the audit insert-only), a reader with SELECT only
 * (the API's and the analytics commands' reads), the API's own role (`serve`: reads, and only the writes
 * the API makes) and Grafana's (the dashboard views only). The statements are in ./sql/roles.ts and
 * ./sql/grants.ts; this module prints them or runs them in one transaction, and `applyGrants` runs the
 * grants alone (every `migrate`).
 *
 * Passwords come from the environment only. Applied, a role's password is sent as a SCRAM-SHA-256
 * verifier computed here (PostgreSQL stores a verifier as given): the plain password never reaches the
 * server, so it cannot show in its logs (log_statement) or pg_stat_activity. Printed, the script reads
 * psql variables instead (`psql -v owner_password=…`), so no secret is ever printed.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import pg from 'pg';
import { ConfigError } from '../errors.ts';
import { pgConnectionOptions } from './tls.ts';
import { ROLE_KINDS, passwordVariable, roleStatements, type RoleNames } from './sql/roles.ts';
import { grantsStatement, type GrantRoles } from './sql/grants.ts';
import type { TxQuery } from './query.ts';

export type { RoleNames };

/** PostgreSQL's own iteration count for SCRAM-SHA-256 (scram_iterations' default). */
const SCRAM_ITERATIONS = 4096;

/**
 * The SCRAM-SHA-256 verifier PostgreSQL would store for `password` (RFC 5802/7677; the format of
 * pg_authid.rolpassword). Passwords are printable ASCII (src/config.ts), which SASLprep leaves as is.
 */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16)): string {
  const salted = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, SCRAM_ITERATIONS, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${SCRAM_ITERATIONS}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

export interface RolesRequest {
  roles: RoleNames;
  /** Per role, from GP_<ROLE>_PASSWORD; null leaves the password as it is (applied) . */
  passwords: Record<keyof RoleNames, string | null>;
  /** The superuser's URL (DATABASE_URL of the run); its database is the one granted. */
  databaseUrl: string;
  pgbossSchema: string;
}

/** The database named in a PostgreSQL URL. */
export function databaseName(url: string, variable = 'DATABASE_URL'): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  if (!name) throw new ConfigError(variable, 'names no database');
  return name;
}

/** The script for psql: passwords as psql variables, and how to run it. */
export function printRolesScript(req: RolesRequest): string {
  const database = databaseName(req.databaseUrl);
  const psql = Object.fromEntries(ROLE_KINDS.map((k) => [k, 'psql'])) as Record<keyof RoleNames, 'psql'>;
  const statements = roleStatements({ roles: req.roles, database, pgbossSchema: req.pgbossSchema, passwords: psql });
  const v = (k: keyof RoleNames) => `-v ${passwordVariable(k)}="$GP_${k.toUpperCase()}_PASSWORD"`;
  return [
    `-- game-persist least-privilege roles for database ${pg.escapeIdentifier(database)}:`,
    `--   owner ${req.roles.owner} (runs migrate), worker ${req.roles.worker} (DML), reader ${req.roles.reader} (reads only),`,
    `--   api ${req.roles.api} (serve: reads and the API's own writes), grafana ${req.roles.grafana} (dashboard views only).`,
    `-- Idempotent: run it again after every migrate that another role ran. Run it as a superuser:`,
    `--   psql "$ADMIN_DATABASE_URL" -v ON_ERROR_STOP=1 ${ROLE_KINDS.map(v).join(' ')} -f roles.sql`,
    `-- or let game-persist run it: DATABASE_URL=<superuser URL> game-persist migrate --create-roles --apply`,
    'BEGIN;',
    ...statements.map((s) => `${s};`),
    'COMMIT;',
    '',
  ].join('\n');
}

export interface RolesApplied {
  database: string;
  roles: RoleNames;
  /** Roles whose password was set (the others kept theirs). */
  passwordsSet: (keyof RoleNames)[];
}

/** Key of the transaction-level advisory lock that makes concurrent runs take turns (CREATE ROLE races). */
const ROLES_LOCK_KEY = 7_346_120_113;

/** Runs the script in one transaction as the URL's (super)user. */
export async function applyRoles(req: RolesRequest): Promise<RolesApplied> {
  const database = databaseName(req.databaseUrl);
  const passwords = Object.fromEntries(ROLE_KINDS.map((k) => [k, req.passwords[k] === null ? null : scramVerifier(req.passwords[k]!)])) as Record<keyof RoleNames, string | null>;
  const client = new pg.Client({ ...pgConnectionOptions(req.databaseUrl), application_name: 'game-persist:create-roles' });
  await client.connect();
  try {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock($1)', [ROLES_LOCK_KEY]);
      for (const sql of roleStatements({ roles: req.roles, database, pgbossSchema: req.pgbossSchema, passwords })) await client.query(sql);
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    }
  } finally {
    await client.end();
  }
  return { database, roles: req.roles, passwordsSet: ROLE_KINDS.filter((k) => passwords[k] !== null) };
}

/**
 * The grants block alone (src/db/sql/grants.ts), as the connected role: `migrate` runs it after migrating,
 * so the table-specific rights hold for tables it just created. Roles that do not exist are skipped.
 */
export async function applyGrants(q: TxQuery, roles: GrantRoles, pgbossSchema: string): Promise<void> {
  await q(grantsStatement(roles, pgbossSchema));
}
