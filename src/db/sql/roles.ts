/**
 * The least-privilege roles script (`game-persist migrate --create-roles`, src/db/roles.ts): statements
 * run by a superuser, in order, each idempotent, so the script is run again after every migration or
 * upgrade and converges. PostgreSQL's utility statements (CREATE ROLE, GRANT, ALTER … OWNER) take no bind
 * parameters: role, database and schema names are identifiers checked against ROLE_NAME (src/config.ts)
 * or named by this code, quoted with pg.escapeIdentifier / pg.escapeLiteral; passwords never appear here
 * in plain text (a SCRAM verifier, or a psql variable in the printed form).
 */
import pg from 'pg';
import { grantsStatement, managedSchema } from './grants.ts';

export interface RoleNames {
  /** Owns the schemas and objects; runs `migrate`. */
  owner: string;
  /** DML on every table and sequence (the audit and migrations excepted); no CREATE anywhere. */
  worker: string;
  /** SELECT only (not the audit, the erasure requests, the API keys). */
  reader: string;
  /** `serve`: reads, and writes only what the API writes (src/db/sql/grants.ts). */
  api: string;
  /** Grafana's PostgreSQL datasource: SELECT on the dashboard views only. */
  grafana: string;
}

export interface RoleScriptOptions {
  roles: RoleNames;
  /** The database the roles connect to (CONNECT is granted on it; TEMPORARY revoked from PUBLIC). */
  database: string;
  /** pg-boss's schema: transferred to the owner with BullMQ's `bullmq` / `bullmq_<prefix>` schemas. */
  pgbossSchema: string;
  /**
   * Per role: a SCRAM-SHA-256 verifier to set, `psql` for a psql variable (`:'owner_password'`, the
   * printed form), or null to leave the role's password as it is.
   */
  passwords: Record<keyof RoleNames, string | 'psql' | null>;
}

export const ROLE_KINDS = ['owner', 'worker', 'reader', 'api', 'grafana'] as const;

/** The psql variable holding a role's password in the printed script. */
export const passwordVariable = (kind: keyof RoleNames): string => `${kind}_password`;

/** Objects that belong to an extension are the extension's: never re-owned (`c` is the object's oid). */
const NOT_EXTENSION_MEMBER = (oid: string) => `NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = ${oid} AND d.deptype = 'e')`;

export function roleStatements(o: RoleScriptOptions): string[] {
  const { roles, database, pgbossSchema } = o;
  const id = (k: keyof RoleNames) => pg.escapeIdentifier(roles[k]);
  const lit = (k: keyof RoleNames) => pg.escapeLiteral(roles[k]);
  const db = pg.escapeIdentifier(database);
  const schemas = managedSchema(pgbossSchema);
  const out: string[] = [];

  // Refuse to demote the role running the script (GP_OWNER_ROLE=postgres would strip its superuser).
  out.push(`DO $gp$
BEGIN
  IF current_user IN (${ROLE_KINDS.map(lit).join(', ')}) THEN
    RAISE EXCEPTION 'the roles script must not run as one of the roles it creates (%); run it as a superuser', current_user USING ERRCODE = '42501';
  END IF;
${ROLE_KINDS.map((k) => `  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${lit(k)}) THEN CREATE ROLE ${id(k)}; END IF;`).join('\n')}
END
$gp$`);
  // Attributes are set on every run: a role that existed with more rights loses them.
  for (const k of ROLE_KINDS) out.push(`ALTER ROLE ${id(k)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT`);
  for (const k of ROLE_KINDS) {
    const p = o.passwords[k];
    if (p === 'psql') out.push(`ALTER ROLE ${id(k)} PASSWORD :'${passwordVariable(k)}'`);
    else if (p !== null) out.push(`ALTER ROLE ${id(k)} PASSWORD ${pg.escapeLiteral(p)}`);
  }

  // The database: everyone connects; only the owner creates schemas (pg-boss's, BullMQ's). Temporary
  // tables (private to a session, gone with it): the worker's and the API's too, because BullMQ's
  // PostgreSQL backend stages a bulk add in them; never the reader's or Grafana's (PUBLIC's default
  // TEMPORARY is revoked).
  out.push(`REVOKE CREATE, TEMPORARY ON DATABASE ${db} FROM PUBLIC`);
  out.push(`GRANT CONNECT, CREATE, TEMPORARY ON DATABASE ${db} TO ${id('owner')}`);
  out.push(`GRANT CONNECT, TEMPORARY ON DATABASE ${db} TO ${id('worker')}, ${id('api')}`);
  out.push(`GRANT CONNECT ON DATABASE ${db} TO ${id('reader')}, ${id('grafana')}`);
  // public stays owned by pg_database_owner (PostgreSQL 15's default); the owner creates in it, nobody else.
  out.push(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
  out.push(`GRANT USAGE, CREATE ON SCHEMA public TO ${id('owner')}`);

  // Ownership: objects created before the roles existed (a `migrate` run as the superuser) move to the
  // owner, so that its later migrations may alter them and the default privileges below cover them.
  // Sequences owned by a column follow their table; an extension's objects stay the extension's.
  out.push(`DO $gp$
DECLARE
  r record;
  owner_oid oid := (SELECT oid FROM pg_roles WHERE rolname = ${lit('owner')});
BEGIN
  FOR r IN SELECT n.nspname FROM pg_namespace n WHERE ${schemas} AND n.nspname <> 'public' AND n.nspowner <> owner_oid LOOP
    EXECUTE format('ALTER SCHEMA %I OWNER TO %I', r.nspname, ${lit('owner')});
  END LOOP;
  FOR r IN
    SELECT c.oid::regclass::text AS rel, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE ${schemas} AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S', 'c') AND c.relowner <> owner_oid AND ${NOT_EXTENSION_MEMBER('c.oid')}
      AND NOT (c.relkind = 'S' AND EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
  LOOP
    EXECUTE format('ALTER %s %s OWNER TO %I',
      CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'S' THEN 'SEQUENCE' WHEN 'c' THEN 'TYPE' ELSE 'TABLE' END,
      r.rel, ${lit('owner')});
  END LOOP;
  FOR r IN
    SELECT p.oid::regprocedure::text AS fn, p.prokind FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE ${schemas} AND p.proowner <> owner_oid AND ${NOT_EXTENSION_MEMBER('p.oid')}
  LOOP
    EXECUTE format('ALTER %s %s OWNER TO %I', CASE r.prokind WHEN 'a' THEN 'AGGREGATE' ELSE 'ROUTINE' END, r.fn, ${lit('owner')});
  END LOOP;
  FOR r IN
    SELECT t.oid::regtype::text AS typ FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE ${schemas} AND t.typtype IN ('e', 'd', 'r') AND t.typowner <> owner_oid AND ${NOT_EXTENSION_MEMBER('t.oid')}
  LOOP
    EXECUTE format('ALTER TYPE %s OWNER TO %I', r.typ, ${lit('owner')});
  END LOOP;
END
$gp$`);

  // Grants on what exists now (src/db/sql/grants.ts; `migrate` runs the same block after migrating).
  out.push(grantsStatement(roles, pgbossSchema));

  // What later migrations create (as the owner) is granted the same way without another run; the
  // table-specific rights are set by the grants block each `migrate` runs. Grafana gets nothing by default.
  const dp = `ALTER DEFAULT PRIVILEGES FOR ROLE ${id('owner')}`;
  out.push(`${dp} GRANT USAGE ON SCHEMAS TO ${id('worker')}, ${id('reader')}, ${id('api')}`);
  out.push(`${dp} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${id('worker')}`);
  out.push(`${dp} GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO ${id('worker')}`);
  out.push(`${dp} GRANT SELECT ON TABLES TO ${id('reader')}, ${id('api')}`);
  out.push(`${dp} GRANT EXECUTE ON ROUTINES TO ${id('worker')}, ${id('reader')}, ${id('api')}`);
  return out;
}
