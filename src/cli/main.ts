/**
 * `game-persist` command line (commander). Thin: parses each command's own options, loads the config,
 * calls the library, prints either for people or (`--json`) for machines. Exit codes: 0 ok, 1 a check
 * or command failed, 2 usage or configuration error. Every command is declared once, in COMMANDS:
 * its arguments, options, help and examples.
 */
import { Command, CommanderError } from 'commander';
import { loadConfig, type Config } from '../config.ts';
import { EMBEDDED_DEFAULTS, chooseServices } from '../embedded/services.ts';
import { ConfigError, GamePersistError, errorMessage } from '../errors.ts';
import { VERSION } from '../version.ts';
import { UsageError, type Flags } from './args.ts';
import { connectionHint } from './hints.ts';
import { runDemo } from './demo.ts';
import { runDlq } from './dlq.ts';
import { runDoctor } from './doctor.ts';
import { applyMigrations, runMigrate } from './migrate.ts';
import { runSessions } from './sessions.ts';
import { runSnapshots } from './snapshots.ts';
import { runBoard } from './board.ts';
import { runLeaderboard, runPlayers, runRebuild, runStats, runTenants, runVerify } from './analytics.ts';
import { runWorker } from './worker.ts';
import { runKeys, runServe } from './serve.ts';
import { runContract } from './contract.ts';
import { runErase } from './erase.ts';
import { runExport } from './export.ts';
import { runRetentionCommand } from './retention.ts';

type Run = (cfg: Readonly<Config>, flags: Flags, args: string[]) => Promise<number>;

interface Spec {
  /** Name and arguments, as commander spells them: `show <id>`. */
  use: string;
  summary: string;
  options?: readonly (readonly [flags: string, description: string])[];
  examples?: readonly string[];
  run?: Run;
  /** A group's subcommands (`sessions list`, `sessions show` …). */
  sub?: readonly Spec[];
  /**
   * Zero-service mode (src/embedded/services.ts): every command takes `--embedded` (an embedded
   * PostgreSQL, started or joined, and PostgreSQL queues); `auto` also falls back to them by itself for
   * what is neither configured nor running (the demo).
   */
  services?: 'auto';
}

const JSON_OPT = ['--json', 'print JSON for machines'] as const;
const EMBEDDED_OPTS = [
  ['--embedded', "zero-service mode: the embedded PostgreSQL of --data-dir (started here unless another process runs it, migrated), queues on BullMQ's PostgreSQL backend, no Redis"],
  ['--data-dir <dir>', `the embedded PostgreSQL's folder (GP_EMBEDDED_DIR, default ${EMBEDDED_DEFAULTS.dir})`],
] as const;
const LIMIT = (n: number) => ['--limit <n>', `at most this many (default ${n})`] as const;

const COMMANDS: readonly Spec[] = [
  {
    use: 'migrate',
    summary: 'apply pending migrations (ours, pg-boss\'s schema and queues); or print/apply the least-privilege roles',
    options: [
      ['--create-db', 'create the database first if it does not exist'],
      ['--create-roles', 'instead of migrating: print the SQL creating the owner, worker, reader, api and grafana roles (idempotent; passwords as psql variables)'],
      ['--apply', 'with --create-roles: run it as DATABASE_URL\'s superuser, passwords from GP_OWNER_PASSWORD, GP_WORKER_PASSWORD, GP_READER_PASSWORD, GP_API_PASSWORD, GP_GRAFANA_PASSWORD'],
      ['--owner-role <name>', 'with --create-roles: the owner role (GP_OWNER_ROLE, default gp_owner)'],
      ['--worker-role <name>', 'with --create-roles: the worker role (GP_WORKER_ROLE, default gp_worker)'],
      ['--reader-role <name>', 'with --create-roles: the read-only role (GP_READER_ROLE, default gp_reader)'],
      ['--api-role <name>', 'with --create-roles: the role `serve` connects as (GP_API_ROLE, default gp_api)'],
      ['--grafana-role <name>', 'with --create-roles: the role Grafana\'s datasource connects as (GP_GRAFANA_ROLE, default gp_grafana)'],
      JSON_OPT,
    ],
    examples: [
      'game-persist migrate',
      'DATABASE_URL=postgres://gp:secret@db/game_persist game-persist migrate --create-db',
      'game-persist migrate --create-roles > roles.sql',
      'DATABASE_URL=postgres://postgres:…@db/game_persist GP_OWNER_PASSWORD=… GP_WORKER_PASSWORD=… GP_READER_PASSWORD=… game-persist migrate --create-roles --apply',
    ],
    run: (cfg, f) => runMigrate(cfg, f),
  },
  {
    use: 'worker',
    summary: 'consume the events queue until SIGTERM/SIGINT',
    options: [
      ['--concurrency <n>', 'jobs fetched at once (GP_WORKER_CONCURRENCY)'],
      ['--batch-rows <n>', 'events per database transaction (GP_BATCH_ROWS)'],
      ['--batch-ms <n>', 'longest wait to fill a batch (GP_BATCH_MS)'],
      ['--allow-eviction', 'start even if Redis may evict keys (jobs could be lost)'],
    ],
    examples: ['game-persist worker', 'GP_METRICS_PORT=9464 game-persist worker --concurrency 32', 'game-persist worker --embedded --data-dir ./gp-data'],
    run: (cfg, f) => runWorker(cfg, f),
  },
  {
    use: 'doctor',
    summary: 'check PostgreSQL, migrations, the queue (Redis and its eviction policy, or the PostgreSQL queue schema) and job counts',
    options: [JSON_OPT],
    examples: ['game-persist doctor'],
    run: (cfg, f) => runDoctor(cfg, f),
  },
  {
    use: 'dlq',
    summary: 'dead letters: events refused by workers, with their reasons',
    sub: [
      {
        use: 'list',
        summary: 'list dead letters, oldest first (--after <id> pages on)',
        options: [['--reason <code>', 'only this reason code'], ['--all', 'include replayed ones'], LIMIT(100), ['--after <id>', 'the page after this id'], JSON_OPT],
        examples: ['game-persist dlq list --reason invalid_event'],
        run: (cfg, f) => runDlq(cfg, 'list', f),
      },
      {
        use: 'replay',
        summary: 'send dead letters back to the queue',
        options: [['--id <n...>', 'these ids'], ['--all', 'every one not replayed yet'], ['--reason <code>', 'with --all: only this reason code'], JSON_OPT],
        examples: ['game-persist dlq replay --id 12 --id 13', 'game-persist dlq replay --all --reason db_rejected'],
        run: (cfg, f) => runDlq(cfg, 'replay', f),
      },
    ],
  },
  {
    use: 'sessions',
    summary: 'list, show, recover, replay and wait for sessions',
    sub: [
      {
        use: 'list',
        summary: 'sessions, newest first',
        options: [['--active', 'only those not ended'], ['--tenant <t>', 'only this tenant'], LIMIT(50), JSON_OPT],
        examples: ['game-persist sessions list --active --tenant chat-1'],
        run: (cfg, f) => runSessions(cfg, 'list', undefined, f),
      },
      { use: 'show <id>', summary: "a session's status, sequence, participants and snapshot", options: [JSON_OPT], examples: ['game-persist sessions show room-42'], run: (cfg, f, [id]) => runSessions(cfg, 'show', id, f) },
      {
        use: 'recover <id>',
        summary: 'what a restarted game server needs (JSON)',
        options: [['--issued <seq>', 'the last seq your server issued: says how many are not stored yet'], ['--tail-limit <n>', 'events after the state at most'], ['--documents <which>', '`all`, or collections separated by commas']],
        examples: ['game-persist sessions recover room-42 --documents all'],
        run: (cfg, f, [id]) => runSessions(cfg, 'recover', id, f),
      },
      {
        use: 'replay <id>',
        summary: "a session's events in sequence order",
        options: [['--from <seq>', 'from this seq'], ['--to <seq>', 'through this seq'], ['--after <cursor>', 'after this cursor'], JSON_OPT],
        examples: ['game-persist sessions replay room-42 --from 10 --json'],
        run: (cfg, f, [id]) => runSessions(cfg, 'replay', id, f),
      },
      {
        use: 'wait <id>',
        summary: 'wait until the session is stored and folded through a seq',
        options: [['--seq <seq>', 'this seq (default: the last one issued)'], ['--timeout-ms <ms>', 'give up after (default 10000)'], JSON_OPT],
        examples: ['game-persist sessions wait room-42 --seq 17'],
        run: (cfg, f, [id]) => runSessions(cfg, 'wait', id, f),
      },
      { use: 'leaderboard <id>', summary: "a session's players by outcome, xp and score", options: [JSON_OPT], run: (cfg, f, [id]) => runSessions(cfg, 'leaderboard', id, f) },
      {
        use: 'agents <id>',
        summary: "a session's LLM/agent calls per player, model and provider: tokens, latency",
        options: [JSON_OPT],
        examples: ['game-persist sessions agents game-7 --json'],
        run: (cfg, f, [id]) => runSessions(cfg, 'agents', id, f),
      },
      { use: 'recent', summary: 'the latest sessions', options: [['--tenant <t>', 'only this tenant'], LIMIT(10), JSON_OPT], run: (cfg, f) => runSessions(cfg, 'recent', undefined, f) },
    ],
  },
  {
    use: 'snapshots',
    summary: 'snapshot checks',
    sub: [
      {
        use: 'verify',
        summary: 'recompute every snapshot hash; exit 1 on a mismatch',
        options: [['--session <id>', 'only this session'], JSON_OPT],
        run: (cfg, f) => runSnapshots(cfg, 'verify', f),
      },
    ],
  },
  {
    use: 'players',
    summary: 'player statistics',
    sub: [
      {
        use: 'stats <id>',
        summary: "a player's totals, per game type, rating and ranks",
        options: [['--tenant <t>', "within this tenant (its confined sessions)"], JSON_OPT],
        examples: ['game-persist players stats 11111', 'game-persist players stats 11111 --tenant guild-42'],
        run: (cfg, f, [id]) => runPlayers(cfg, 'stats', id, f),
      },
      { use: 'agents <id>', summary: "a player's LLM/agent calls across sessions per model and provider", options: [JSON_OPT], run: (cfg, f, [id]) => runPlayers(cfg, 'agents', id, f) },
    ],
  },
  {
    use: 'leaderboard',
    summary: 'the top players, or the players around one',
    options: [
      ['--by <metric>', 'xp, wins, win_rate, rating or best_score (default xp)'],
      ['--period <p>', 'all, day, week, month, or day:YYYY-MM-DD / week:… / month:…'],
      ['--game <type>', 'one game type'],
      ['--around <player>', 'the players around this one'],
      ['--tenant <t>', "this tenant's board (its confined sessions)"],
      LIMIT(10),
      JSON_OPT,
    ],
    examples: ['game-persist leaderboard --by wins --period week', 'game-persist leaderboard --around 11111 --game impostor'],
    run: (cfg, f) => runLeaderboard(cfg, f),
  },
  {
    use: 'tenants',
    summary: 'tenant (chat, guild) statistics',
    sub: [
      { use: 'stats <id>', summary: "a tenant's sessions of the last days and its completion rate", options: [['--days <n>', 'days back (default 7)'], JSON_OPT], run: (cfg, f, [id]) => runTenants(cfg, 'stats', id, f) },
      {
        use: 'chat <id>',
        summary: "a tenant's chat messages of the last days, per player and channel",
        options: [['--days <n>', 'days back (default 7)'], JSON_OPT],
        examples: ['game-persist tenants chat chat-1 --days 30'],
        run: (cfg, f, [id]) => runTenants(cfg, 'chat', id, f),
      },
    ],
  },
  {
    use: 'stats',
    summary: 'daily statistics',
    sub: [
      {
        use: 'daily',
        summary: 'sessions created, started, finished and abandoned per day, mean duration, players',
        options: [['--days <n>', 'days back (default 7)'], ['--game <type>', 'only this game type'], JSON_OPT],
        examples: ['game-persist stats daily --days 14 --game hokm'],
        run: (cfg, f) => runStats(cfg, 'daily', f),
      },
    ],
  },
  {
    use: 'erase-player <id>',
    summary:
      "erase a player's personal data: names, chat, prompts, move and game-event data, documents, dead letters, queued jobs; the id becomes a pseudonym (needs GP_ERASURE_KEY; audited, idempotent; exit 1 while jobs are in flight)",
    options: [JSON_OPT],
    examples: ['GP_ERASURE_KEY=… game-persist erase-player 11111', 'game-persist erase-player 11111 --json'],
    run: (cfg, f, [id]) => runErase(cfg, id, f),
  },
  {
    use: 'export-player <id>',
    summary: 'every row about a player (stats, participations, events of every type, documents, queue entries, dead letters, ratings) as NDJSON on stdout, ending with a trailer line',
    examples: ['game-persist export-player 11111 > 11111.ndjson'],
    run: (cfg, _f, [id]) => runExport(cfg, id),
  },
  {
    use: 'retention',
    summary: "delete what GP_RETAIN_*_DAYS no longer keep (finished sessions' chat, moves, agent logs, other events; dead letters), as the hourly schedule does",
    options: [['--dry-run', 'count what would be deleted, delete nothing'], JSON_OPT],
    examples: ['GP_RETAIN_CHAT_DAYS=30 game-persist retention --dry-run', 'game-persist retention --json'],
    run: (cfg, f) => runRetentionCommand(cfg, f),
  },
  { use: 'verify', summary: 'recompute the aggregates from the events; exit 1 on any drift', options: [['--sample <n>', 'check this many players (default: all)'], JSON_OPT], run: (cfg, f) => runVerify(cfg, f) },
  { use: 'rebuild', summary: 'recompute the aggregates from the events (safe while workers run)', options: [JSON_OPT], run: (cfg, f) => runRebuild(cfg, f) },
  {
    use: 'serve',
    summary: 'the HTTP API (GP_API_PORT, GP_API_HOST; docs/http.md) until SIGTERM/SIGINT',
    examples: ['GP_API_PORT=8080 game-persist serve', 'game-persist serve --embedded   # beside `worker --embedded`: the same folder, the same server'],
    run: (cfg) => runServe(cfg),
  },
  {
    use: 'keys',
    summary: 'API keys of the HTTP API',
    sub: [
      {
        use: 'create <name>',
        summary: 'a key, printed once',
        options: [['--scope <scope...>', 'ingest, read or admin (repeatable)'], ['--tenant <t>', 'restrict the key to this tenant'], ['--rate-limit <n>', 'requests per minute (default GP_API_RATE_LIMIT)'], JSON_OPT],
        examples: ['game-persist keys create bot-eu --scope ingest --scope read', 'game-persist keys create guild-42 --scope read --tenant guild-42 --rate-limit 600'],
        run: (cfg, f, [name]) => runKeys(cfg, 'create', name, f),
      },
      { use: 'list', summary: 'the keys (not their secrets)', options: [['--all', 'include revoked keys'], JSON_OPT], run: (cfg, f) => runKeys(cfg, 'list', undefined, f) },
      { use: 'revoke <id>', summary: 'revoke a key (running servers notice within 5 s)', options: [JSON_OPT], run: (cfg, f, [id]) => runKeys(cfg, 'revoke', id, f) },
    ],
  },
  {
    use: 'contract',
    summary: "the JSON Schemas of a game's own event types (x.<game>.<name>)",
    sub: [
      {
        use: 'add-type <type>',
        summary: 'register (or replace) the JSON Schema of a game event type',
        options: [['--schema <file>', 'the schema, a JSON file (- for standard input)'], ['--description <text>', 'what the type is'], JSON_OPT],
        examples: ['game-persist contract add-type x.adventure.story_choice --schema story_choice.json'],
        run: (cfg, f, [type]) => runContract(cfg, 'add-type', type, f),
      },
      { use: 'types', summary: 'the registered game types', options: [JSON_OPT], run: (cfg, f) => runContract(cfg, 'types', undefined, f) },
      { use: 'remove-type <type>', summary: "remove a game type's schema (its events stay)", options: [JSON_OPT], run: (cfg, f, [type]) => runContract(cfg, 'remove-type', type, f) },
    ],
  },
  {
    use: 'board',
    summary: 'Bull Board for the events queue, behind basic auth (GP_BOARD_PASSWORD)',
    options: [['--write', 'allow retrying and removing jobs (read-only without it)']],
    run: (cfg, f) => runBoard(cfg, f),
  },
  {
    use: 'demo',
    summary: 'the five seed games at once through crashes, with live progress and a verified summary',
    options: [['--sessions <n>', 'sessions of each game (default 3)'], ['--seed <n>', 'the games\' random seed (default: a new one, printed)'], JSON_OPT],
    examples: ['npm start', 'game-persist demo --sessions 20', 'game-persist demo --embedded --data-dir /tmp/gp-demo'],
    services: 'auto',
    run: (cfg, f) => runDemo(cfg, f),
  },
];

const ENVIRONMENT = `
Configuration comes from the environment (README, "Configuration"): DATABASE_URL, REDIS_URL,
GP_QUEUE_PREFIX, GP_QUEUE_NAME, the worker's GP_* settings, GP_API_* for serve, GP_LOG_LEVEL.
Exit codes: 0 ok, 1 a check or command failed, 2 usage or configuration error.`;

/** commander's camelCase option names back to their command-line spelling (`tailLimit` → `tail-limit`). */
function toFlags(opts: Record<string, unknown>): Flags {
  return Object.fromEntries(Object.entries(opts).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), v])) as Flags;
}

interface Outcome {
  code: number;
}

function declare(parent: Command, spec: Spec, outcome: Outcome): void {
  const cmd = parent.command(spec.use).description(spec.summary);
  for (const [flags, description] of [...(spec.options ?? []), ...(spec.run ? EMBEDDED_OPTS : [])]) cmd.option(flags, description);
  if (spec.examples?.length) cmd.addHelpText('after', `\nExamples:\n${spec.examples.map((e) => `  $ ${e}`).join('\n')}`);
  for (const s of spec.sub ?? []) declare(cmd, s, outcome);
  const run = spec.run;
  if (run) {
    cmd.action(async (...args: unknown[]) => {
      // commander passes the declared arguments, then the options, then the command.
      const positional = args.slice(0, -2).map((a) => (a === undefined ? undefined : String(a))) as string[];
      const flags = toFlags((args[args.length - 2] ?? {}) as Record<string, unknown>);
      const services =
        spec.services === 'auto' || flags.embedded
          ? await chooseServices(process.env, flags.embedded ? 'embedded' : 'auto', { dataDir: flags['data-dir'] })
          : null;
      try {
        for (const note of services?.notes ?? []) console.error(note);
        const cfg = loadConfig(services?.env);
        // An embedded database is ours to keep current: nobody else would run `migrate` on it.
        if (services?.embedded) {
          const m = await applyMigrations(cfg, { createDb: false });
          if (m.applied.length) console.error(`embedded PostgreSQL: applied ${m.applied.length} migration(s)`);
        }
        outcome.code = await run(cfg, flags, positional);
      } finally {
        await services?.stop();
      }
    });
  }
}

/** The commands (`sessions list`, `doctor` …) that have an option spelt `flag`. */
function commandsWith(flag: string): string[] {
  const out: string[] = [];
  const walk = (specs: readonly Spec[], prefix: string) => {
    for (const s of specs) {
      const name = `${prefix}${s.use.split(' ')[0]}`;
      if (s.options?.some(([f]) => f.split(/[ ,]+/).includes(flag))) out.push(name);
      if (s.sub) walk(s.sub, `${name} `);
    }
  };
  walk(COMMANDS, '');
  return out;
}

export function buildProgram(outcome: Outcome, out: { out(s: string): void; err(s: string): void }): Command {
  const program = new Command('game-persist')
    .description('Durable game-server data: ingest workers, recovery, analytics and an HTTP API on BullMQ and PostgreSQL.')
    .version(VERSION, '-v, --version')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({ writeOut: out.out, writeErr: out.err })
    .addHelpText('after', ENVIRONMENT);
  for (const spec of COMMANDS) declare(program, spec, outcome);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const outcome: Outcome = { code: 0 };
  const program = buildProgram(outcome, { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) });
  const name = argv.find((a) => !a.startsWith('-')) ?? '';
  try {
    await program.parseAsync(argv, { from: 'user' });
    return outcome.code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and the version asked for exit 0; a command group without its subcommand shows its help
      // and is a usage error, as is every parse error (already printed, with a "did you mean").
      if (e.code === 'commander.unknownOption') {
        const flag = /'(--?[\w-]+)/.exec(e.message)?.[1];
        const owners = flag ? commandsWith(flag) : [];
        if (owners.length) console.error(`(${flag} is an option of: ${owners.slice(0, 6).join(', ')}${owners.length > 6 ? ', …' : ''})`);
      }
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : 2;
    }
    if (e instanceof UsageError) {
      console.error(`game-persist ${name}: ${e.message}\n(see game-persist ${name} --help)`);
      return 2;
    }
    if (e instanceof ConfigError) {
      console.error(`configuration error: ${e.message}`);
      return 2;
    }
    const code = e instanceof GamePersistError ? ` [${e.code}]` : '';
    const hint = connectionHint(e);
    console.error(`game-persist ${name}: ${errorMessage(e)}${code}${hint ? `\n${hint}` : ''}`);
    return 1;
  }
}
