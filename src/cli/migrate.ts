import type { Config } from '../config.ts';
import { redactUrl } from '../config.ts';
import { ensureDatabase, migrateUp } from '../db/migrate.ts';
import { openOrm } from '../db/orm.ts';
import type { Flags } from './args.ts';

export async function runMigrate(cfg: Readonly<Config>, flags: Flags): Promise<number> {
  const created = flags['create-db'] ? await ensureDatabase(cfg.databaseUrl) : false;
  const orm = await openOrm({ databaseUrl: cfg.databaseUrl, poolMax: 1 });
  try {
    const applied = await migrateUp(orm);
    if (flags.json) console.log(JSON.stringify({ database: redactUrl(cfg.databaseUrl), created, applied }));
    else {
      if (created) console.log(`created database ${redactUrl(cfg.databaseUrl)}`);
      console.log(applied.length ? `applied ${applied.length} migration(s):\n  ${applied.join('\n  ')}` : 'database is up to date');
    }
    return 0;
  } finally {
    await orm.close();
  }
}
