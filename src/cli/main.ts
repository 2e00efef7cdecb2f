/**
 * `game-persist` command line. Thin: parses flags, loads the config once, calls the library, prints
 * either for people or (`--json`) for machines. Exit codes: 0 ok, 1 a check or command failed,
 * 2 usage or configuration error.
 */
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../config.ts';
import { ConfigError, GamePersistError, errorMessage } from '../errors.ts';
import { runDemo } from './demo.ts';
import { runDlq } from './dlq.ts';
import { runDoctor } from './doctor.ts';
import { runMigrate } from './migrate.ts';
import { runSessions } from './sessions.ts';
import { runSnapshots } from './snapshots.ts';
import { runBoard } from './board.ts';
import { runLeaderboard, runPlayers, runRebuild, runStats, runTenants, runVerify } from './analytics.ts';
import { runWorker } from './worker.ts';
import { runKeys, runServe } from './serve.ts';
import { runContract } from './contract.ts';

const USAGE = `usage: game-persist <command> [options]

commands:
  migrate [--create-db]              apply pending migrations (optionally create the database)
  worker [--concurrency N] [--batch-rows N] [--batch-ms N] [--allow-eviction]
                                     consume the events queue until SIGTERM/SIGINT
  doctor [--json]                    check PostgreSQL, migrations, Redis and its eviction policy
  dlq list [--reason CODE] [--all] [--limit N] [--after ID] [--json]
  dlq replay (--id N ... | --all) [--reason CODE] [--json]
  sessions list [--active] [--tenant T] [--limit N] [--json]
  sessions show <id> | sessions recover <id> [--issued SEQ] [--tail-limit N] [--documents all|C1,C2] (JSON)
  sessions replay <id> [--from SEQ] [--to SEQ] [--after CURSOR] [--json]
  sessions wait <id> [--seq SEQ] [--timeout-ms MS]   until stored and folded through SEQ (default: the last seq issued)
  sessions leaderboard <id> | sessions recent [--tenant T] [--limit N] [--json]
  snapshots verify [--session ID] [--json]   recompute every snapshot hash; exit 1 on a mismatch
  players stats <id> [--json]        a player's totals, per game type, rating and ranks
  leaderboard [--by xp|wins|win_rate|rating] [--period all|day|week|month|day:YYYY-MM-DD] [--game T]
              [--around PLAYER] [--limit N] [--json]
  tenants stats <id> [--days N] [--json]     sessions of a chat/guild: total, active, completed, rate
  stats daily [--days N] [--json]    sessions started/finished, mean duration, players per day
  verify [--sample N] [--json]       recompute the aggregates from the events; exit 1 on any drift
  rebuild [--json]                   recompute the aggregates from the events (safe while workers run)
  serve                              the HTTP API (GP_API_PORT, GP_API_HOST; docs/http.md) until SIGTERM/SIGINT
  keys create <name> --scope S [--scope S] [--tenant T] [--rate-limit N] [--json]
                                     an API key (scopes ingest, read, admin), printed once
  keys list [--all] [--json] | keys revoke <id>
  contract add-type <x.game.name> --schema FILE|- [--description TEXT] [--json]
                                     register the JSON Schema of a game's own event type (docs/contract.md)
  contract types [--json] | contract remove-type <x.game.name>
  board [--write]                    Bull Board for the events queue, behind basic auth (GP_BOARD_PASSWORD);
                                     read-only unless --write
  demo [--sessions N] [--json]       migrate, start a worker, play a few sessions, print what landed

configuration comes from the environment: DATABASE_URL, REDIS_URL, GP_QUEUE_PREFIX, GP_QUEUE_NAME,
GP_WORKER_CONCURRENCY, GP_BATCH_ROWS, GP_BATCH_BYTES, GP_BATCH_MS, GP_WORKER_HEAP_MB, GP_LOCK_MS, GP_DB_POOL_MAX, GP_ALLOW_EVICTION,
GP_WRITE_RETRIES, GP_JOBS, GP_LIVE_STATE, GP_GAP_TIMEOUT_S, GP_SNAPSHOT_EVERY_TURNS, GP_SNAPSHOT_INTERVAL_S, GP_SNAPSHOT_KEEP, GP_ABANDON_AFTER_S, GP_MAX_EVENT_BYTES,
GP_MAX_DEPTH, GP_MAX_STRING_LENGTH, GP_LOG_LEVEL, GP_AGGREGATES, GP_STATS_TZ, GP_WIN_RATE_MIN_GAMES, GP_RATING_DELAY_S,
GP_STATS_FOLD_MS, GP_METRICS_PORT, GP_METRICS_HOST, GP_BOARD_USER, GP_BOARD_PASSWORD, GP_BOARD_PORT,
GP_BOARD_HOST, GP_API_PORT, GP_API_HOST, GP_API_BODY_LIMIT, GP_API_RATE_LIMIT, GP_API_TLS_CERT, GP_API_TLS_KEY, GP_API_CORS_ORIGIN,
GP_MAX_DOCUMENT_BYTES, GP_MAX_OWNER_DOCUMENT_BYTES, GP_CUSTOM_TYPES, GP_CONTRACT_REFRESH_S,
DATABASE_READ_URL (see README).`;

export class UsageError extends GamePersistError {
  constructor(message: string) {
    super('usage', message);
  }
}

const OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  'create-db': { type: 'boolean' },
  concurrency: { type: 'string' },
  'batch-rows': { type: 'string' },
  'batch-ms': { type: 'string' },
  'allow-eviction': { type: 'boolean' },
  reason: { type: 'string' },
  all: { type: 'boolean' },
  limit: { type: 'string' },
  after: { type: 'string' },
  id: { type: 'string', multiple: true },
  sessions: { type: 'string' },
  active: { type: 'boolean' },
  tenant: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  session: { type: 'string' },
  by: { type: 'string' },
  period: { type: 'string' },
  game: { type: 'string' },
  around: { type: 'string' },
  days: { type: 'string' },
  sample: { type: 'string' },
  write: { type: 'boolean' },
  seq: { type: 'string' },
  issued: { type: 'string' },
  'timeout-ms': { type: 'string' },
  'tail-limit': { type: 'string' },
  scope: { type: 'string', multiple: true },
  'rate-limit': { type: 'string' },
  schema: { type: 'string' },
  documents: { type: 'string' },
  description: { type: 'string' },
} as const;

export type Flags = ReturnType<typeof parse>['values'];

function parse(argv: string[]) {
  return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
}

/** A flag that must be a positive integer; names the flag when it is not. */
export function intFlag(flags: Flags, name: keyof Flags, def: number): number {
  const raw = flags[name];
  return raw === undefined ? def : positiveInt(String(name), raw);
}

export function positiveInt(name: string, raw: unknown): number {
  const n = Number(raw);
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got "${String(raw)}"`);
  return n;
}

export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    console.error(`${errorMessage(e)}\n\n${USAGE}`);
    return 2;
  }
  const { values: flags, positionals } = parsed;
  const [cmd, sub, arg] = positionals;
  if (flags.help || !cmd) {
    console.log(USAGE);
    return cmd || flags.help ? 0 : 2;
  }
  try {
    const cfg: Readonly<Config> = loadConfig();
    switch (cmd) {
      case 'migrate':
        return await runMigrate(cfg, flags);
      case 'worker':
        return await runWorker(cfg, flags);
      case 'doctor':
        return await runDoctor(cfg, flags);
      case 'dlq':
        return await runDlq(cfg, sub, flags);
      case 'demo':
        return await runDemo(cfg, flags);
      case 'sessions':
        return await runSessions(cfg, sub, arg, flags);
      case 'snapshots':
        return await runSnapshots(cfg, sub, flags);
      case 'players':
        return await runPlayers(cfg, sub, arg, flags);
      case 'leaderboard':
        return await runLeaderboard(cfg, flags);
      case 'tenants':
        return await runTenants(cfg, sub, arg, flags);
      case 'stats':
        return await runStats(cfg, sub, flags);
      case 'verify':
        return await runVerify(cfg, flags);
      case 'rebuild':
        return await runRebuild(cfg, flags);
      case 'board':
        return await runBoard(cfg, flags);
      case 'serve':
        return await runServe(cfg);
      case 'keys':
        return await runKeys(cfg, sub, arg, flags);
      case 'contract':
        return await runContract(cfg, sub, arg, flags);
      default:
        throw new UsageError(`unknown command "${cmd}"`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`${e.message}\n\n${USAGE}`);
      return 2;
    }
    if (e instanceof ConfigError) {
      console.error(`configuration error: ${e.message}`);
      return 2;
    }
    const code = e instanceof GamePersistError ? ` [${e.code}]` : '';
    console.error(`game-persist ${cmd}: ${errorMessage(e)}${code}`);
    return 1;
  }
}
