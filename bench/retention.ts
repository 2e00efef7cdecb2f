/**
 * npm run bench:retention — a first retention run over a large table, measured in one run:
 *   - run_ms / rows_per_s: deleting the chat messages of finished sessions (GP_RETAIN_CHAT_DAYS=30),
 *   - longest_tx_s: the longest transaction of the database while it runs (sampled every 20 ms from
 *     pg_stat_activity): the bounded chunks keep it short however many rows go,
 *   - unfinished_kept: the rows of unfinished sessions beside them, all still there (must be all),
 *   - dry_ms, again_ms: a dry run before, and the next run (nothing left to delete).
 * Rows are inserted by SQL (written in 2000), not ingested. Prints a table, then one JSON line.
 * Options: --rows N chat messages of finished sessions (default 1000000), --sessions N finished sessions
 * (default 2000); unfinished sessions get a tenth of each.
 */
import { parseArgs } from 'node:util';
import { ensureDatabase, migrateUp } from '../src/db/migrate.ts';
import { openOrm } from '../src/db/orm.ts';
import { query } from '../src/db/query.ts';
import { runRetention } from '../src/ops/retention.ts';
import { dropDatabase, printFigures, round } from './lib.ts';

const { values: args } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, sessions: { type: 'string', default: '2000' } } });
const ROWS = Number(args.rows);
const SESSIONS = Number(args.sessions);
const ADMIN = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `gp_bench_retention_${process.pid}`;
const dbUrl = Object.assign(new URL(ADMIN), { pathname: `/${dbName}` }).toString();
const log = (s: string) => process.stderr.write(`${s}\n`);
const cfg = { retentionDays: { chat: 30, moves: 0, agent_logs: 0, events: 0, idle: 0, dead_letters: 0 } };

await ensureDatabase(dbUrl);
const orm = await openOrm({ databaseUrl: dbUrl, poolMax: 2 });
const monitor = await openOrm({ databaseUrl: dbUrl, poolMax: 1 });
try {
  await migrateUp(orm);
  const q = <R = Record<string, any>>(sql: string, params: unknown[] = []) => query<R>(orm.em.fork(), sql, params);
  log(`inserting ${ROWS} + ${ROWS / 10} chat messages in ${SESSIONS} finished and ${SESSIONS / 10} unfinished sessions…`);
  const sessions = `INSERT INTO sessions (id, status, final_at, end_seq, game_type, first_event_at, last_event_at, applied_seq)
    SELECT $1 || g, $2, $3::timestamptz, $4::bigint, 'bench', '2000-01-01', '2000-01-01', $5::bigint FROM generate_series(1, $6::int) g`;
  await q(sessions, ['f-', 'finished', '2000-01-01', 1, ROWS, SESSIONS]);
  await q(sessions, ['o-', 'started', null, null, ROWS, SESSIONS / 10]);
  const chat = `INSERT INTO chat_messages (session_id, id, seq, type, at, player_id, recorded_at, text)
    SELECT $1 || (g % $2::int + 1), gen_random_uuid(), g, 'chat.message', '2000-01-01', 'p', '2000-01-01', 'hello there ' || g FROM generate_series(1, $3::int) g`;
  await q(chat, ['f-', SESSIONS, ROWS]);
  await q(chat, ['o-', SESSIONS / 10, ROWS / 10]);
  await q('VACUUM ANALYZE chat_messages');
  await q('ANALYZE sessions');

  let longest = 0;
  let stop = false;
  const watch = (async () => {
    while (!stop) {
      const [r] = await query<{ s: number }>(
        monitor.em.fork(),
        `SELECT coalesce(max(extract(epoch FROM clock_timestamp() - xact_start)), 0)::float8 AS s FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'`,
      );
      longest = Math.max(longest, r!.s);
      await new Promise((res) => setTimeout(res, 20));
    }
  })();
  let t = performance.now();
  const dry = await runRetention(orm, cfg, undefined, { dryRun: true });
  const dryMs = performance.now() - t;
  longest = 0;
  t = performance.now();
  const run = await runRetention(orm, cfg);
  const runMs = performance.now() - t;
  const longestTx = longest;
  t = performance.now();
  const again = await runRetention(orm, cfg);
  const againMs = performance.now() - t;
  stop = true;
  await watch;
  const [left] = await q<{ finished: number; unfinished: number }>(
    `SELECT count(*) FILTER (WHERE session_id LIKE 'f-%')::int AS finished, count(*) FILTER (WHERE session_id LIKE 'o-%')::int AS unfinished FROM chat_messages`,
  );
  const result = {
    rows: ROWS, sessions: SESSIONS, dry_counted: dry.classes.chat.deleted, deleted: run.classes.chat.deleted, run_ms: Math.round(runMs),
    rows_per_s: Math.round(run.classes.chat.deleted / (runMs / 1000)), longest_tx_s: round(longestTx, 3), dry_ms: Math.round(dryMs),
    again_ms: Math.round(againMs), again_deleted: again.classes.chat.deleted, finished_left: left!.finished, unfinished_kept: left!.unfinished,
  };
  printFigures(
    [
      ['deleted (finished sessions)', String(result.deleted), `of ${ROWS}`],
      ['first run (ms)', String(result.run_ms), `${result.rows_per_s} rows/s`],
      ['longest transaction (s)', String(result.longest_tx_s), 'bounded by the chunk, not the table'],
      ['unfinished sessions rows kept', String(result.unfinished_kept), `of ${ROWS / 10}`],
      ['dry run (ms)', String(result.dry_ms), ''],
      ['next run (ms)', String(result.again_ms), `${result.again_deleted} deleted`],
    ],
    result,
  );
  if (result.deleted !== ROWS || result.finished_left !== 0 || result.unfinished_kept !== ROWS / 10 || result.again_deleted !== 0) process.exitCode = 1;
} finally {
  await monitor.close();
  await orm.close();
  await dropDatabase(ADMIN, dbName);
}
