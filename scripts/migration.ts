/**
 * Developer tool: `npm run migration:create [name]` generates a migration from the entities into
 * migrations/; `npm run migration:check` exits 1 when entities and committed migrations disagree.
 * Both work on a scratch database made fresh for the run, so a developer's data never matters.
 */
import pg from 'pg';
import { openOrm } from '../src/db/orm.ts';
import { pgConnectionOptions } from '../src/db/tls.ts';

const [cmd, name] = process.argv.slice(2);
const base = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
const scratch = `gp_migration_${process.pid}_${Date.now()}`;
const admin = new pg.Client(pgConnectionOptions(Object.assign(new URL(base), { pathname: '/postgres' }).toString()));
await admin.connect();
await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(scratch)}`);
let code = 0;
try {
  const orm = await openOrm({ databaseUrl: Object.assign(new URL(base), { pathname: `/${scratch}` }).toString() });
  try {
    await orm.migrator.up();
    if (cmd === 'create') {
      const res = await orm.migrator.create(undefined, false, false, name);
      console.log(res.fileName ? `created ${res.fileName}` : 'no changes: entities and migrations agree');
    } else if (cmd === 'check') {
      if (await orm.migrator.checkSchema()) {
        console.error('entities and migrations disagree: run `npm run migration:create <name>` and commit the file');
        code = 1;
      } else console.log('entities and migrations agree');
    } else {
      console.error('usage: migration.ts create [name] | check');
      code = 2;
    }
  } finally {
    await orm.close();
  }
} finally {
  await admin.query(`DROP DATABASE ${pg.escapeIdentifier(scratch)} WITH (FORCE)`);
  await admin.end();
}
process.exit(code);
