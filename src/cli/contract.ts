/**
 * `game-persist contract add-type|types|remove-type`: the JSON Schemas of a game's own event types
 * (x.<game>.<name>), enforced by the API and the workers from their next event on.
 */
import { readFileSync } from 'node:fs';
import type { Config } from '../config.ts';
import { openOrm } from '../db/orm.ts';
import { query } from '../db/query.ts';
import { listTypes, registerType, removeType } from '../db/event-types.ts';
import { UsageError, type Flags } from './args.ts';
import { esc } from './output.ts';

const USAGE = 'contract add-type <x.game.name> --schema FILE|- [--description TEXT] | contract types [--json] | contract remove-type <x.game.name>';

/** The schema file (or stdin with `-`) as JSON. */
function readSchema(path: string | undefined): unknown {
  if (!path) throw new UsageError(`--schema is required: ${USAGE}`);
  const text = readFileSync(path === '-' ? 0 : path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--schema ${path} is not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export async function runContract(cfg: Readonly<Config>, sub: string | undefined, arg: string | undefined, flags: Flags): Promise<number> {
  if (sub !== 'add-type' && sub !== 'types' && sub !== 'remove-type') throw new UsageError(`unknown contract command "${sub ?? ''}": ${USAGE}`);
  if (sub !== 'types' && !arg) throw new UsageError(USAGE);
  const schema = sub === 'add-type' ? readSchema(flags.schema) : null;
  const orm = await openOrm({ databaseUrl: cfg.databaseUrl, poolMax: 1 });
  const q = <R>(sql: string, params: unknown[]) => query<R>(orm.em.fork(), sql, params);
  try {
    if (sub === 'add-type') {
      const row = await registerType(q, arg as string, schema, flags.description ?? null);
      if (flags.json) console.log(JSON.stringify(row));
      else console.log(esc`registered ${row.type} (version ${row.version}); the API and workers check it from their next event on`);
      return 0;
    }
    if (sub === 'remove-type') {
      const done = await removeType(q, arg as string);
      if (flags.json) console.log(JSON.stringify({ type: arg, removed: done }));
      else console.log(done ? esc`removed ${arg}` : esc`${arg} is not registered`);
      return done ? 0 : 1;
    }
    const rows = await listTypes(q);
    if (flags.json) console.log(JSON.stringify({ mode: cfg.customTypes, types: rows }));
    else {
      console.log(esc`unregistered x.<game>.<name> types are ${cfg.customTypes === 'open' ? 'accepted free-form' : 'refused'} (GP_CUSTOM_TYPES=${cfg.customTypes})`);
      for (const r of rows) console.log(esc`${r.type}  v${r.version}${r.description ? `  ${r.description}` : ''}`);
    }
    return 0;
  } finally {
    await orm.close();
  }
}
