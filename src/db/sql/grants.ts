/**
 * What each least-privilege role may do on the objects that exist, as one idempotent PL/pgSQL block
 * (README, "Least privilege: database roles"). Run by the roles script (src/db/sql/roles.ts, as a
 * superuser) and by every `migrate` after it migrated (src/cli/migrate.ts, as the owner, who owns what it
 * grants on), so the table-specific rights below hold from the first migration on, whatever order the
 * roles script and `migrate` ran in. A role that does not exist (yet) is skipped; a table that does not
 * exist (yet) too.
 *
 * Per schema, after revoking whatever each role held there (a re-run converges):
 * - worker: USAGE; SELECT, INSERT, UPDATE, DELETE on tables; sequences; EXECUTE on routines — in ours
 *   (public), pg-boss's and BullMQ's schemas;
 * - reader: USAGE; SELECT; EXECUTE — in the same schemas;
 * - api: USAGE and EXECUTE in public and BullMQ's schemas; SELECT on public's tables; DML and sequences
 *   in BullMQ's (the PostgreSQL queue backend: the API adds jobs); nothing in pg-boss's;
 * - grafana: USAGE and SELECT in DASHBOARD_SCHEMA only (aggregate views; src/metrics/dashboards.ts).
 * Then the exceptions of EXCEPTIONS, in public.
 */
import pg from 'pg';

/** The schema of the views Grafana's role reads (created by a migration, owned by the owner role). */
export const DASHBOARD_SCHEMA = 'gp_dashboards';

export interface GrantRoles {
  worker: string;
  reader: string;
  api: string;
  grafana: string;
}

type Kind = keyof GrantRoles;

/**
 * The rights that differ from the per-schema rule, in public: [role, GRANT or REVOKE, privileges, object].
 * - Audit and migrations are append-only for the roles that run: the worker inserts into `erasures` and
 *   reads it (a repeated erasure finds its pseudonym), never updates or deletes it; it only reads
 *   `gp_migrations` (the pending-migrations check). Neither the reader nor the API reads the audit.
 * - erasure_requests (src/ops/erasure-requests.ts): the API inserts and reads, the worker reads and
 *   completes; the reader has no business there.
 * - api_keys: the API reads keys, never writes them (a compromised API server cannot mint a key: `keys
 *   create` runs as the worker or the owner); the reader does not read their hashes.
 * - What `serve` writes: idempotency records and tenant claims (api_records) and sequence counters on
 *   the PostgreSQL queue backend, registered game types (admin routes), a join-queue entry's notified
 *   mark (POST /v1/tenants/{tenant}/queue/notify), erasure requests.
 */
export const EXCEPTIONS: readonly (readonly [kind: Kind, verb: 'GRANT' | 'REVOKE', privileges: string, kind: 'TABLE' | 'SEQUENCE', object: string])[] = [
  ['worker', 'REVOKE', 'INSERT, UPDATE, DELETE', 'TABLE', 'gp_migrations'],
  ['worker', 'REVOKE', 'UPDATE, DELETE', 'TABLE', 'erasures'],
  ['worker', 'REVOKE', 'DELETE', 'TABLE', 'erasure_requests'],
  ['reader', 'REVOKE', 'SELECT', 'TABLE', 'erasures'],
  ['reader', 'REVOKE', 'SELECT', 'TABLE', 'erasure_requests'],
  ['reader', 'REVOKE', 'SELECT', 'TABLE', 'api_keys'],
  ['api', 'REVOKE', 'SELECT', 'TABLE', 'erasures'],
  ['api', 'GRANT', 'INSERT', 'TABLE', 'erasure_requests'],
  ['api', 'GRANT', 'USAGE', 'SEQUENCE', 'erasure_requests_id_seq'],
  ['api', 'GRANT', 'INSERT, UPDATE, DELETE', 'TABLE', 'api_records'],
  ['api', 'GRANT', 'INSERT, UPDATE', 'TABLE', 'sequence_counters'],
  ['api', 'GRANT', 'INSERT, UPDATE, DELETE', 'TABLE', 'event_types'],
  ['api', 'GRANT', 'UPDATE (notified_at, updated_at)', 'TABLE', 'join_queue_entries'],
];

/** A PL/pgSQL condition true for the schemas game-persist manages (`n` is pg_namespace). */
export function managedSchema(pgbossSchema: string): string {
  return `(n.nspname IN ('public', ${pg.escapeLiteral(pgbossSchema)}, '${DASHBOARD_SCHEMA}') OR n.nspname = 'bullmq' OR n.nspname LIKE 'bullmq\\_%')`;
}

/** The block. Role names are checked identifiers (src/config.ts ROLE_NAME), quoted here as literals. */
export function grantsStatement(roles: GrantRoles, pgbossSchema: string): string {
  const lit = (k: Kind) => pg.escapeLiteral(roles[k]);
  const role = (k: Kind) => `(SELECT rolname::text FROM pg_roles WHERE rolname = ${lit(k)})`;
  const exceptions = EXCEPTIONS.map(([k, verb, privileges, kind, object]) => {
    const fmt = `${verb} ${privileges} ON ${kind} public.${object} ${verb === 'GRANT' ? 'TO' : 'FROM'} %I`;
    return `  IF ${k} IS NOT NULL AND to_regclass('public.${object}') IS NOT NULL THEN EXECUTE format('${fmt}', ${k}); END IF;`;
  });
  return `DO $gp$
DECLARE
  s text;
  r text;
  worker text := ${role('worker')};
  reader text := ${role('reader')};
  api text := ${role('api')};
  grafana text := ${role('grafana')};
BEGIN
  FOR s IN SELECT n.nspname FROM pg_namespace n WHERE ${managedSchema(pgbossSchema)} LOOP
    FOREACH r IN ARRAY array_remove(ARRAY[worker, reader, api, grafana], NULL) LOOP
      EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM %I', s, r);
      EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM %I', s, r);
      EXECUTE format('REVOKE ALL ON SCHEMA %I FROM %I', s, r);
    END LOOP;
    IF s = '${DASHBOARD_SCHEMA}' THEN
      IF grafana IS NOT NULL THEN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', s, grafana);
        EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO %I', s, grafana);
      END IF;
      CONTINUE;
    END IF;
    IF worker IS NOT NULL THEN
      EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', s, worker);
      EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I', s, worker);
      EXECUTE format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO %I', s, worker);
      EXECUTE format('GRANT EXECUTE ON ALL ROUTINES IN SCHEMA %I TO %I', s, worker);
    END IF;
    IF reader IS NOT NULL THEN
      EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', s, reader);
      EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO %I', s, reader);
      EXECUTE format('GRANT EXECUTE ON ALL ROUTINES IN SCHEMA %I TO %I', s, reader);
    END IF;
    IF api IS NOT NULL AND s <> ${pg.escapeLiteral(pgbossSchema)} THEN
      EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', s, api);
      EXECUTE format('GRANT EXECUTE ON ALL ROUTINES IN SCHEMA %I TO %I', s, api);
      IF s = 'public' THEN
        EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO %I', s, api);
      ELSE
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I', s, api);
        EXECUTE format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO %I', s, api);
      END IF;
    END IF;
  END LOOP;
${exceptions.join('\n')}
END
$gp$`;
}
