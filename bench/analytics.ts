/**
 * npm run bench:analytics — analytics reads over a large history, and what aggregates cost ingest:
 *   - a history of 1M players and 11M events (500k finished 4-player sessions of 22 events: created,
 *     per player joined, task, vote, move, outcome, then finished) generated straight into the tables
 *     by SQL, with participants, player_stats in every scope (all, game, day, week, month) and the
 *     leaderboard buckets as the pipeline keeps them;
 *   - leaderboard_top100_p99_ms, around_player_p99_ms, player_stats_p99_ms: the read API through a
 *     prepared-statement reader, random boards, metrics and players;
 *   - ingest_ratio_with_aggregates: one worker draining the same game-mix queue (players drawn from the
 *     history) with aggregates on vs off, alternating, in this run; "on" counts until every stat delta
 *     is folded into the boards (ingest_ratio_committed: until the events and their deltas are committed).
 * Prints a table, then one JSON line. Options: --players N (default 1000000), --sessions N (default
 * 500000), --reads N (per measure, default 1000), --drain N (events per drain run, default 60000),
 * --keep (leave the database for inspection), --db NAME (measure a kept database again, no generation).
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { ensureDatabase, migrateUp } from '../src/db/migrate.ts';
import { migrateJobs } from '../src/jobs/install.ts';
import { JOBS_SCHEMA } from '../src/jobs/boss.ts';
import { openOrm } from '../src/db/orm.ts';
import { createReader, type Reader } from '../src/db/reader.ts';
import { REBUILD_BUCKETS_SQL, periodScopesSql } from '../src/db/sql/aggregates.ts';
import { leaderboard, playerStats } from '../src/aggregates/read.ts';
import { verifyAggregates } from '../src/aggregates/verify.ts';
import { createLogger } from '../src/log.ts';
import { createProducer } from '../src/producers/index.ts';
import { deletePrefix } from '../src/redis.ts';
import { startWorker } from '../src/process/worker.ts';
import { dropDatabase, emitWindow, pct, printFigures, round } from './lib.ts';

const { values: args } = parseArgs({
  options: {
    players: { type: 'string', default: '1000000' },
    sessions: { type: 'string', default: '500000' },
    reads: { type: 'string', default: '1000' },
    drain: { type: 'string', default: '60000' },
    keep: { type: 'boolean', default: false },
    db: { type: 'string' },
  },
});
const PLAYERS = Number(args.players);
const SESSIONS = Number(args.sessions);
const READS = Number(args.reads);
const DRAIN = Number(args.drain);
const ADMIN = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** --db NAME: measure a database kept by an earlier --keep run instead of generating one (kept again). */
const dbName = args.db ?? `gp_bench_analytics_${process.pid}`;
const dbUrl = Object.assign(new URL(ADMIN), { pathname: `/${dbName}` }).toString();
const log = (s: string) => process.stderr.write(`${s}\n`);
const GAMES = ['impostor', 'hokm', 'liap-tui'];
const DAYS = 14;

/**
 * Slots of sessions [$1, $2): the first PLAYERS/4 sessions seat every player once; later sessions draw
 * players with a skew (a few play a lot), four distinct per session. Every event of a session's slot
 * shares the session's start time (so the stats below, built from participants, are exactly what the
 * events imply); the finished event comes `dur` later.
 */
const SLOTS = `
WITH s AS (
  SELECT s, 'b-' || s AS id, (ARRAY['impostor','hokm','liap-tui'])[1 + s % 3] AS game, $4::int AS np,
    now() - make_interval(secs => ${DAYS} * 86400 * (1 - s::float8 / $3::int)) AS t, make_interval(secs => 300 + s % 900) AS dur
  FROM generate_series($1::int, $2::int - 1) AS s),
slots AS (
  SELECT s.*, k,
    'p' || CASE WHEN s.s < s.np / 4 THEN s.s * 4 + k
      ELSE (floor(s.np * power((hashint4(s.s)::int8 + 2147483648)::float8 / 4294967296, 3))::int8 + k * 250007) % s.np END AS player,
    CASE WHEN (s.s + k) % 2 = 0 THEN 'win' ELSE 'loss' END AS outcome,
    CASE WHEN (s.s + k) % 2 = 0 THEN 50 ELSE 10 END + (s.s * 7 + k * 13) % 40 AS xp,
    (s.s * 3 + k) % 30 AS task_xp, 2 + k * 5 AS seq0
  FROM s CROSS JOIN generate_series(0, 3) AS k)`;

const GENERATE = [
  `${SLOTS.replace(/,\nslots AS[\s\S]*$/, '')}
   INSERT INTO sessions (id, tenant, game_type, status, created_at, started_at, ended_at, first_event_at, last_event_at,
     last_seq, event_count, applied_seq, rated_at, updated_at, created_seq, created_id, end_seq, end_id, end_type, final_at)
   SELECT id, 'chat-' || (s % 1000), game, 'finished', t, NULL::timestamptz, t + dur, t, t + dur, 22, 22, 22, now(), now(),
     1, md5(id || '/created')::uuid, 22, md5(id || '/end')::uuid, 'finished', t + dur FROM s`,
  `${SLOTS.replace(/,\nslots AS[\s\S]*$/, '')}
   INSERT INTO session_events (session_id, id, seq, type, at, data)
   SELECT id, md5(id || '/created')::uuid, 1, 'session.created', t, jsonb_build_object('gameType', game, 'tenant', 'chat-' || (s % 1000)) FROM s
   UNION ALL SELECT id, md5(id || '/end')::uuid, 22, 'session.finished', t + dur, '{}'::jsonb FROM s`,
  `${SLOTS}
   INSERT INTO participant_events (session_id, id, seq, type, at, player_id, role, outcome, xp, data)
   SELECT id, md5(id || '/j/' || k)::uuid, seq0, 'player.joined', t, player, CASE WHEN k = 0 THEN 'impostor' ELSE 'crewmate' END, NULL::text, NULL::int, NULL::jsonb FROM slots
   UNION ALL SELECT id, md5(id || '/' || k)::uuid, seq0 + 4, 'player.outcome', t, player, NULL, outcome, xp::int, NULL FROM slots`,
  `${SLOTS}
   INSERT INTO task_logs (session_id, id, seq, type, at, player_id, task_type, xp, fake)
   SELECT id, gen_random_uuid(), seq0 + 1, 'task.completed', t, player, 'wires', task_xp, k = 0 FROM slots`,
  `${SLOTS}
   INSERT INTO votes (session_id, id, seq, type, at, player_id, target_id, round)
   SELECT id, gen_random_uuid(), seq0 + 2, 'vote', t, player, 'p' || ((s * 4) % np), 1 FROM slots`,
  `${SLOTS}
   INSERT INTO moves (session_id, id, seq, type, at, player_id, action, turn)
   SELECT id, gen_random_uuid(), seq0 + 3, 'move', t, player, 'step', 1 FROM slots`,
  `${SLOTS}
   INSERT INTO session_participants (session_id, player_id, role, joined_at, last_joined_at, present, outcome, xp, outcome_at,
     eff_outcome, eff_xp, eff_at, pos, tasks, fake_tasks, task_xp, votes, last_at)
   SELECT id, player, CASE WHEN k = 0 THEN 'impostor' ELSE 'crewmate' END, t, t, true, outcome, xp, t, outcome, xp, t,
     jsonb_build_object('role', jsonb_build_array(seq0, md5(id || '/j/' || k)::uuid), 'join', jsonb_build_array(seq0, md5(id || '/j/' || k)::uuid),
       'joinLast', jsonb_build_array(seq0, md5(id || '/j/' || k)::uuid), 'outcome', jsonb_build_array(seq0 + 4, md5(id || '/' || k)::uuid)),
     (k <> 0)::int, (k = 0)::int, task_xp, 1, t FROM slots`,
];

const PLAYERS_SQL = `
INSERT INTO players (id, first_seen_at, last_seen_at)
SELECT player_id, min(joined_at), max(last_at) FROM session_participants GROUP BY player_id`;

/** player_stats in every scope, from the participants (each session's events share its start time). $1 time zone, $2 min games. */
const STATS_SQL = `
INSERT INTO player_stats (player_id, scope, games, wins, losses, draws, xp, tasks, fake_tasks, votes, last_played_at, win_rate)
SELECT p.player_id, sc.scope, count(*)::int, count(*) FILTER (WHERE outcome = 'win')::int, count(*) FILTER (WHERE outcome = 'loss')::int,
  count(*) FILTER (WHERE outcome = 'draw')::int, sum(coalesce(p.xp, 0) + p.task_xp), sum(tasks)::int, sum(fake_tasks)::int, sum(votes)::int,
  max(p.last_at), CASE WHEN count(*) >= $2 THEN (count(*) FILTER (WHERE outcome = 'win'))::float8 / count(*) END
FROM session_participants p JOIN sessions s ON s.id = p.session_id
CROSS JOIN LATERAL (VALUES ('all'), ('game:' || s.game_type), ${periodScopesSql('p.last_at', '$1::text')}) AS sc(scope)
GROUP BY 1, 2`;

const PERIODS_SQL = `
INSERT INTO stat_periods (scope, kind, starts_at, ends_at, closed_at)
SELECT scope, split_part(scope, ':', 1), now(), now(), now() FROM (SELECT DISTINCT scope FROM player_stats WHERE scope ~ '^(day|week|month):') x
ON CONFLICT DO NOTHING`;

async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const t = performance.now();
  const r = await fn();
  log(`${what}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return r;
}

async function generate(c: pg.Client) {
  const chunk = 50_000;
  for (let a = 0; a < SESSIONS; a += chunk) {
    const b = Math.min(a + chunk, SESSIONS);
    await c.query('BEGIN');
    for (const sql of GENERATE) await c.query(sql, [a, b, SESSIONS, PLAYERS]);
    await c.query('COMMIT');
    log(`  sessions ${b}/${SESSIONS}`);
  }
  await timed('players', () => c.query(PLAYERS_SQL));
  // Bulk load: build the board indexes once after the rows are in (as CREATE INDEX does), not row by row.
  const defs = (await c.query(`SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'player_stats' AND indexname <> 'player_stats_pkey'`)).rows;
  for (const d of defs) await c.query(`DROP INDEX ${pg.escapeIdentifier(d.indexname)}`);
  await timed('player_stats (all scopes)', () => c.query(STATS_SQL, ['UTC', 10]));
  await timed('player_stats indexes', async () => {
    for (const d of defs) await c.query(d.indexdef);
  });
  await timed('periods', () => c.query(PERIODS_SQL));
  await timed('leaderboard buckets', async () => {
    for (const sql of REBUILD_BUCKETS_SQL) await c.query(sql);
  });
  await timed('vacuum analyze', () => c.query('VACUUM ANALYZE'));
}

async function count(c: pg.Client, sql: string): Promise<number> {
  return Number((await c.query(sql)).rows[0].n);
}

async function measure(what: string, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < 50; i++) await fn(i); // warm plans and buffers
  const xs: number[] = [];
  for (let i = 0; i < READS; i++) {
    const t = performance.now();
    await fn(i);
    xs.push(performance.now() - t);
  }
  log(`${what}: p50 ${round(pct(xs, 0.5))} ms, p99 ${round(pct(xs, 0.99))} ms`);
  return xs;
}

/**
 * A game-mix load on players from the history, played the way a server with many rooms produces it:
 * 200 rooms at a time, each round of every room before the next round (4 players; per round a move, a
 * chat message, a task and a vote each, and a turn result), then outcomes and the end.
 */
async function drain(c: pg.Client, aggregates: boolean, tag: string): Promise<{ committed: number; folded: number }> {
  tag = `${tag}x${process.pid}`;
  const prefix = `gpbenchan${tag}`;
  const p = createProducer({ connection: REDIS_URL, prefix });
  const perRoom = 1 + 4 + 6 * (4 * 4 + 1) + 4 + 1;
  const rooms = Math.ceil(DRAIN / perRoom);
  const em = emitWindow();
  const push = em.push;
  const flush = () => em.flush();
  for (let first = 0; first < rooms; first += 200) {
    const group = Array.from({ length: Math.min(200, rooms - first) }, (_, i) => {
      const r = first + i;
      const players = [0, 1, 2, 3].map((k) => `p${(Math.floor(Math.random() * PLAYERS) + k * 250007) % PLAYERS}`);
      return { r, sessionId: `${tag}-${r}`, players };
    });
    for (const { r, sessionId, players } of group) {
      push(p.sessionCreated({ sessionId, gameType: GAMES[r % 3] as string, tenant: `chat-${r % 1000}` }));
      for (const pl of players) push(p.playerJoined({ sessionId, player: pl }));
    }
    for (let round = 0; round < 6; round++) {
      for (const { sessionId, players } of group) {
        for (const pl of players) {
          push(p.move({ sessionId, player: pl, action: 'step', turn: round }));
          push(p.chatMessage({ sessionId, player: pl, text: 'I saw them vent', channel: 'discussion', round }));
          push(p.taskCompleted({ sessionId, player: pl, taskType: 'wires', xp: 5 }));
          push(p.vote({ sessionId, player: pl, target: players[0] as string, round }));
        }
        push(p.turnResult({ sessionId, turn: round, patch: { round } }));
        await flush();
      }
    }
    for (const { sessionId, players } of group) {
      for (const [i, pl] of players.entries()) push(p.playerOutcome({ sessionId, player: pl, outcome: i % 2 ? 'loss' : 'win', xp: 20 }));
      push(p.sessionFinished({ sessionId }));
      await flush();
    }
  }
  await em.flush(true);
  const sent = em.sent;
  await p.close();
  const cfg = loadConfig({
    DATABASE_URL: dbUrl, REDIS_URL, GP_QUEUE_PREFIX: prefix, GP_LOG_LEVEL: 'error', GP_JOBS: 'false', GP_AGGREGATES: String(aggregates),
    GP_STATS_FOLD_MS: process.env.GP_STATS_FOLD_MS,
  });
  const t0 = performance.now();
  const w = await startWorker(cfg, { log: createLogger('error') });
  // Two clocks: every event (and its stat deltas) committed; then, aggregates on, every delta folded into the boards.
  const stored = async () =>
    Number((await c.query('SELECT coalesce(sum(event_count), 0)::bigint AS n FROM sessions WHERE id LIKE $1', [`${tag}-%`])).rows[0].n) >= sent;
  while (!(await stored())) await new Promise((r) => setTimeout(r, 20));
  const committedS = (performance.now() - t0) / 1000;
  while (aggregates && Number((await c.query('SELECT count(*) AS n FROM stat_deltas')).rows[0].n) > 0) await new Promise((r) => setTimeout(r, 20));
  const foldedS = (performance.now() - t0) / 1000;
  await w.close();
  await deletePrefix(REDIS_URL, prefix);
  log(`  drain ${tag} (aggregates ${aggregates ? 'on' : 'off'}): ${sent} events, committed at ${Math.round(sent / committedS)}/s, on the boards at ${Math.round(sent / foldedS)}/s`);
  return { committed: sent / committedS, folded: sent / foldedS };
}

async function main() {
  await ensureDatabase(dbUrl);
  const orm = await openOrm({ databaseUrl: dbUrl, poolMax: 6 });
  await migrateUp(orm, dbUrl);
  await migrateJobs(dbUrl, JOBS_SCHEMA);
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  let reader: Reader | null = null;
  try {
    if (!args.db) await timed('history generated', () => generate(c));
    const players = await count(c, 'SELECT count(*) AS n FROM players');
    const events =
      (await count(c, 'SELECT count(*) AS n FROM session_events')) + (await count(c, 'SELECT count(*) AS n FROM participant_events')) +
      (await count(c, 'SELECT count(*) AS n FROM task_logs')) + (await count(c, 'SELECT count(*) AS n FROM votes')) + (await count(c, 'SELECT count(*) AS n FROM moves'));
    const statRows = await count(c, 'SELECT count(*) AS n FROM player_stats');
    log(`history: ${players} players, ${events} events, ${statRows} player_stats rows`);
    // The generated aggregates are what the pipeline would keep: verify a sample against the events.
    // (Not on a reused database: its earlier drains with aggregates off stored events the aggregates never saw.)
    if (!args.db) {
      const check = await timed('verify --sample 200', () => verifyAggregates(orm, { timeZone: 'UTC', winRateMinGames: 10, sample: 200 }));
      if (check.drift.length) throw new Error(`generated history has drift: ${JSON.stringify(check.drift.slice(0, 3))}`);
    }

    reader = createReader(dbUrl, { max: 2 });
    const r = reader;
    await c.query('CHECKPOINT');
    const boards = [
      { by: 'xp' as const }, { by: 'wins' as const }, { by: 'win_rate' as const }, { by: 'xp' as const, game: 'hokm' }, { by: 'xp' as const, period: 'week' },
    ];
    const rp = () => `p${Math.floor(Math.random() * PLAYERS)}`;
    const top = await measure('leaderboard top 100', (i) => leaderboard(r, { ...boards[i % boards.length], limit: 100 }));
    const winRatePlayers = (await c.query(`SELECT player_id FROM player_stats WHERE scope = 'all' AND win_rate IS NOT NULL ORDER BY random() LIMIT 200`)).rows.map((x) => x.player_id as string);
    const around = await measure('around a player (5 either side)', (i) =>
      i % 3 === 2
        ? leaderboard(r, { by: 'win_rate', around: winRatePlayers[i % winRatePlayers.length], limit: 5 })
        : leaderboard(r, { by: i % 3 ? 'wins' : 'xp', around: rp(), limit: 5 }),
    );
    const stats = await measure('player stats', () => playerStats(r, rp()));

    // Same check of the answers against SQL over the whole table, for one random player.
    const probe = rp();
    const ar = await leaderboard(r, { by: 'xp', around: probe, limit: 1 });
    const want = Number((await c.query(`SELECT 1 + count(*) AS n FROM player_stats WHERE scope = 'all' AND xp > (SELECT xp FROM player_stats WHERE scope = 'all' AND player_id = $1)`, [probe])).rows[0].n);
    if (ar.rows.find((x) => x.me)?.rank !== want) throw new Error(`around ${probe}: rank ${ar.rows.find((x) => x.me)?.rank}, SQL says ${want}`);

    // Three alternating pairs, each drain after a CHECKPOINT (a checkpoint landing in one drain and not
    // the other swung single pairs by 2x here); medians of each side.
    log('ingest with aggregates on vs off (same load, three alternating pairs, medians):');
    const offs: number[] = [];
    const ons: number[] = [];
    const onsCommitted: number[] = [];
    for (let i = 1; i <= 3; i++) {
      await c.query('CHECKPOINT');
      offs.push((await drain(c, false, `off${i}`)).committed);
      await c.query('CHECKPOINT');
      const r = await drain(c, true, `on${i}`);
      ons.push(r.folded);
      onsCommitted.push(r.committed);
    }
    const on = pct(ons, 0.5);
    const onCommitted = pct(onsCommitted, 0.5);
    const off = pct(offs, 0.5);

    const result = {
      leaderboard_top100_p50_ms: round(pct(top, 0.5)),
      leaderboard_top100_p99_ms: round(pct(top, 0.99)),
      around_player_p50_ms: round(pct(around, 0.5)),
      around_player_p99_ms: round(pct(around, 0.99)),
      player_stats_p50_ms: round(pct(stats, 0.5)),
      player_stats_p99_ms: round(pct(stats, 0.99)),
      ingest_with_aggregates_per_s: Math.round(on),
      ingest_without_aggregates_per_s: Math.round(off),
      ingest_ratio_with_aggregates: round(on / off, 3),
      ingest_committed_with_aggregates_per_s: Math.round(onCommitted),
      ingest_ratio_committed: round(onCommitted / off, 3),
      players,
      events,
      player_stats_rows: statRows,
    };
    printFigures(
      [
        ['leaderboard top 100 p99', `${result.leaderboard_top100_p99_ms} ms`, 'target <= 10'],
        ['around a player p99', `${result.around_player_p99_ms} ms`, 'target <= 10'],
        ['player stats p99', `${result.player_stats_p99_ms} ms`, 'target <= 5'],
        ['ingest with / without aggregates', `${result.ingest_ratio_with_aggregates}`, 'target >= 0.8'],
      ],
      result,
    );
  } finally {
    await reader?.close();
    await c.end();
    await orm.close();
    if (!args.keep && !args.db) await dropDatabase(ADMIN, dbName);
    else log(`kept database ${dbName}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
