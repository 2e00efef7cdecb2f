import type { Config } from '../config.ts';
import { redactUrl } from '../config.ts';
import { ensureDatabase, migrateUp } from '../db/migrate.ts';
import { openOrm } from '../db/orm.ts';
import { migrateQueueSchema } from '../queue/backend.ts';
import { ensureQueueIdSequence } from '../queue/id-sequence.ts';
import { JOBS_SCHEMA, PGBOSS_SCHEMA } from '../jobs/boss.ts';
import { migrateJobs } from '../jobs/install.ts';
import { applyGrants, applyRoles, printRolesScript, type RoleNames } from '../db/roles.ts';
import { ROLE_KINDS } from '../db/sql/roles.ts';
import { transaction } from '../db/query.ts';
import { ROLE_NAME } from '../config.ts';
import { UsageError, type Flags } from './args.ts';

export interface MigrationRun {
  created: boolean;
  applied: string[];
  queueSchema: { schema: string; version: number } | null;
  /** pg-boss's schema and version (workers start pg-boss with its migrations off). */
  jobsSchema: { schema: string; version: number };
}

/**
 * Applies our migrations, creates or upgrades pg-boss's schema and our pg-boss queues, and, with
 * GP_QUEUE_BACKEND=postgres, the BullMQ queue schema of GP_QUEUE_PREFIX: the one step that needs DDL
 * rights (run as the owner role; workers, the API and producers never migrate).
 * Concurrent runs take turns (migrateUp's advisory lock; BullMQ's migrator has its own).
 */
export async function applyMigrations(cfg: Readonly<Config>, opts: { createDb: boolean }): Promise<MigrationRun> {
  const created = opts.createDb ? await ensureDatabase(cfg.databaseUrl) : false;
  const orm = await openOrm({ databaseUrl: cfg.databaseUrl, poolMax: 1 });
  try {
    const applied = await migrateUp(orm, cfg.databaseUrl);
    const jobsSchema = await migrateJobs(cfg.databaseUrl, JOBS_SCHEMA);
    const queueSchema = cfg.queueBackend === 'postgres' ? await migrateQueueSchema(cfg.databaseUrl, cfg.queuePrefix) : null;
    // BullMQ would create it on the first add, as the adding (DML-only) role.
    if (queueSchema) await ensureQueueIdSequence(cfg.databaseUrl, cfg.queuePrefix, cfg.queueName);
    // The least-privilege roles' rights on what now exists (those of the roles that exist; README "Least privilege").
    const r = cfg.dbRoles;
    await transaction(orm, (q) => applyGrants(q, { worker: r.worker.name, reader: r.reader.name, api: r.api.name, grafana: r.grafana.name }, PGBOSS_SCHEMA));
    return { created, applied, queueSchema, jobsSchema };
  } finally {
    await orm.close();
  }
}

export async function runMigrate(cfg: Readonly<Config>, flags: Flags): Promise<number> {
  if (flags['create-roles']) return runCreateRoles(cfg, flags);
  if (flags.apply || ROLE_KINDS.some((k) => flags[`${k}-role`])) throw new UsageError('--apply and --owner-role/--worker-role/--reader-role/--api-role/--grafana-role go with --create-roles');
  const { created, applied, queueSchema: queue, jobsSchema } = await applyMigrations(cfg, { createDb: !!flags['create-db'] });
  if (flags.json) console.log(JSON.stringify({ database: redactUrl(cfg.databaseUrl), created, applied, jobsSchema, ...(queue ? { queueSchema: queue } : {}) }));
  else {
    if (created) console.log(`created database ${redactUrl(cfg.databaseUrl)}`);
    console.log(applied.length ? `applied ${applied.length} migration(s):\n  ${applied.join('\n  ')}` : 'database is up to date');
    console.log(`pg-boss schema ${jobsSchema.schema} at version ${jobsSchema.version}`);
    if (queue) console.log(`queue schema ${queue.schema} at BullMQ schema version ${queue.version}`);
  }
  return 0;
}

/** The role names: flags over GP_<KIND>_ROLE. */
function roleNames(cfg: Readonly<Config>, flags: Flags): RoleNames {
  const pick = (kind: keyof RoleNames): string => {
    const v = flags[`${kind}-role`] ?? cfg.dbRoles[kind].name;
    if (!ROLE_NAME.test(v)) throw new UsageError(`--${kind}-role must be 1-63 of [a-z0-9_], starting with a letter or _, not pg_; got "${v.slice(0, 70)}"`);
    return v;
  };
  const roles = Object.fromEntries(ROLE_KINDS.map((k) => [k, pick(k)])) as unknown as RoleNames;
  if (new Set(Object.values(roles)).size !== ROLE_KINDS.length) throw new UsageError(`the ${ROLE_KINDS.join(', ')} roles must differ, got ${Object.values(roles).join(', ')}`);
  return roles;
}

/**
 * `migrate --create-roles`: prints the least-privilege roles script (psql variables for the passwords),
 * or with --apply runs it as DATABASE_URL's (super)user, passwords from GP_<ROLE>_PASSWORD. Migrates
 * nothing: `migrate` runs afterwards as the owner.
 */
async function runCreateRoles(cfg: Readonly<Config>, flags: Flags): Promise<number> {
  const roles = roleNames(cfg, flags);
  const passwords = Object.fromEntries(ROLE_KINDS.map((k) => [k, cfg.dbRoles[k].password])) as Record<keyof RoleNames, string | null>;
  const req = { roles, passwords, databaseUrl: cfg.databaseUrl, pgbossSchema: PGBOSS_SCHEMA };
  if (!flags.apply) {
    process.stdout.write(printRolesScript(req));
    return 0;
  }
  if (flags['create-db'] && (await ensureDatabase(cfg.databaseUrl)) && !flags.json) console.log(`created database ${redactUrl(cfg.databaseUrl)}`);
  const done = await applyRoles(req);
  const kept = ROLE_KINDS.filter((k) => !done.passwordsSet.includes(k));
  if (flags.json) console.log(JSON.stringify({ database: done.database, roles: done.roles, passwordsSet: done.passwordsSet, passwordsKept: kept }));
  else {
    console.log(`roles ready on database ${done.database}: ${ROLE_KINDS.map((k) => `${k} ${roles[k]}`).join(', ')}`);
    for (const k of kept) console.log(`GP_${k.toUpperCase()}_PASSWORD not set: the password of ${roles[k]} was left as it was`);
  }
  return 0;
}
