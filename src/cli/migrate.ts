import type { Config } from '../config.ts';
import { redactUrl } from '../config.ts';
import { ensureDatabase, migrateUp } from '../db/migrate.ts';
import { openOrm } from '../db/orm.ts';
import { migrateQueueSchema } from '../queue/backend.ts';
import type { Flags } from './args.ts';

export interface MigrationRun {
  created: boolean;
  applied: string[];
  queueSchema: { schema: string; version: number } | null;
}

/**
 * Applies our migrations and, with GP_QUEUE_BACKEND=postgres, creates or upgrades the BullMQ queue
 * schema of GP_QUEUE_PREFIX: the one step that needs DDL rights (workers and producers never migrate).
 * Concurrent runs take turns (migrateUp's advisory lock; BullMQ's migrator has its own).
 */
export async function applyMigrations(cfg: Readonly<Config>, opts: { createDb: boolean }): Promise<MigrationRun> {
  const created = opts.createDb ? await ensureDatabase(cfg.databaseUrl) : false;
  const orm = await openOrm({ databaseUrl: cfg.databaseUrl, poolMax: 1 });
  try {
    const applied = await migrateUp(orm, cfg.databaseUrl);
    const queueSchema = cfg.queueBackend === 'postgres' ? await migrateQueueSchema(cfg.databaseUrl, cfg.queuePrefix) : null;
    return { created, applied, queueSchema };
  } finally {
    await orm.close();
  }
}

export async function runMigrate(cfg: Readonly<Config>, flags: Flags): Promise<number> {
  const { created, applied, queueSchema: queue } = await applyMigrations(cfg, { createDb: !!flags['create-db'] });
  if (flags.json) console.log(JSON.stringify({ database: redactUrl(cfg.databaseUrl), created, applied, ...(queue ? { queueSchema: queue } : {}) }));
  else {
    if (created) console.log(`created database ${redactUrl(cfg.databaseUrl)}`);
    console.log(applied.length ? `applied ${applied.length} migration(s):\n  ${applied.join('\n  ')}` : 'database is up to date');
    if (queue) console.log(`queue schema ${queue.schema} at BullMQ schema version ${queue.version}`);
  }
  return 0;
}
