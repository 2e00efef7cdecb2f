/**
 * The analytics read API. Every function takes a ReadSource: the ORM, or a Reader on a read replica
 * (createReader(DATABASE_READ_URL)), which is what the CLI uses when DATABASE_READ_URL is set.
 */
import { asReader, type ReadSource } from '../db/reader.ts';
import { METRIC_NAMES, type Metric } from '../db/sql/aggregates.ts';
import {
  aroundSql, ARCHIVE_SQL, boardSizeSql, DAILY_STATS_SQL, PLAYER_SQL, PLAYER_STATS_SQL, RECENT_SESSIONS_SQL, SESSION_HEAD_SQL,
  SESSION_LEADERBOARD_SQL, TENANT_STATS_SQL, topSql,
} from '../db/sql/analytics.ts';
import { currentPeriodScope, PERIOD_KINDS, type PeriodKind } from './periods.ts';
import { AnalyticsError } from '../errors.ts';
import { systemClock, type Clock } from '../clock.ts';

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : v === null || v === undefined ? null : String(v));

export interface ScopeStats {
  scope: string;
  games: number;
  wins: number;
  losses: number;
  draws: number;
  winRate: number | null;
  xp: number;
  tasks: number;
  fakeTasks: number;
  votes: number;
  lastPlayedAt: string | null;
  rating: number | null;
  mu: number | null;
  sigma: number | null;
  ratedGames: number;
}

export interface PlayerStats {
  playerId: string;
  name: string | null;
  firstSeenAt: string | null;
  /** All games together. */
  all: ScopeStats | null;
  /** Per game type. */
  games: Record<string, ScopeStats>;
  /** Rank on the global XP board. */
  xpRank: number | null;
}

export async function playerStats(src: ReadSource, playerId: string): Promise<PlayerStats | null> {
  const r = asReader(src);
  const [players, rows] = await Promise.all([r.read(PLAYER_SQL, [playerId]), r.read(PLAYER_STATS_SQL, [playerId])]);
  if (!players.length && !rows.length) return null;
  const out: PlayerStats = { playerId, name: players[0]?.name ?? null, firstSeenAt: iso(players[0]?.first_seen_at), all: null, games: {}, xpRank: null };
  for (const x of rows) {
    const s: ScopeStats = {
      scope: x.scope, games: x.games, wins: x.wins, losses: x.losses, draws: x.draws, winRate: num(x.win_rate), xp: Number(x.xp),
      tasks: x.tasks, fakeTasks: x.fake_tasks, votes: x.votes, lastPlayedAt: iso(x.last_played_at), rating: num(x.rating), mu: num(x.mu),
      sigma: num(x.sigma), ratedGames: x.rated_games,
    };
    if (x.scope === 'all') {
      out.all = s;
      out.xpRank = num(x.xp_rank);
    } else out.games[String(x.scope).slice(5)] = s;
  }
  return out;
}

export interface LeaderboardOptions {
  by?: Metric;
  /** all (default), day, week, month (the current one), or a period scope such as day:2026-11-21. */
  period?: string;
  /** Restrict to one game type (all-time boards only). */
  game?: string;
  limit?: number;
  /** Show the players around this one instead of the top. */
  around?: string;
  /** Time zone of the periods (GP_STATS_TZ). */
  timeZone?: string;
  /** What "the current day, week, month" means. @defaultValue the system clock */
  clock?: Clock;
}

export interface LeaderboardRow {
  rank: number;
  playerId: string;
  name: string | null;
  value: number;
  games: number;
  wins: number;
  me?: boolean;
}

export interface Leaderboard {
  scope: string;
  by: Metric;
  players: number;
  rows: LeaderboardRow[];
}

/** The board's scope for a period and game. */
export function leaderboardScope(opts: Pick<LeaderboardOptions, 'period' | 'game' | 'timeZone' | 'clock'>): string {
  const period = opts.period ?? 'all';
  if (opts.game !== undefined && period !== 'all') throw new AnalyticsError('a game type can only be combined with the all-time board');
  if (period === 'all') return opts.game === undefined ? 'all' : `game:${opts.game}`;
  if ((PERIOD_KINDS as readonly string[]).includes(period)) return currentPeriodScope(period as PeriodKind, opts.timeZone ?? 'UTC', (opts.clock ?? systemClock).now());
  if (/^(day|week):\d{4}-\d{2}-\d{2}$|^month:\d{4}-\d{2}$/.test(period)) return period;
  throw new AnalyticsError(`unknown period "${period}": use all, day, week, month, or day:YYYY-MM-DD, week:YYYY-MM-DD (a Monday), month:YYYY-MM`);
}

export async function leaderboard(src: ReadSource, opts: LeaderboardOptions = {}): Promise<Leaderboard> {
  const by = opts.by ?? 'xp';
  if (!METRIC_NAMES.includes(by)) throw new AnalyticsError(`unknown metric "${by}": use ${METRIC_NAMES.join(', ')}`);
  const scope = leaderboardScope(opts);
  if (by === 'rating' && scope !== 'all' && !scope.startsWith('game:')) throw new AnalyticsError('ratings have no periods: use --period all');
  const limit = Math.min(Math.max(opts.limit ?? (opts.around ? 5 : 10), 1), 1000);
  const r = asReader(src);
  const rows = opts.around === undefined ? await r.read(topSql(by), [scope, limit]) : fillAroundRanks(await r.read(aroundSql(by), [scope, opts.around, limit]));
  const [size] = await r.read<{ n: string }>(boardSizeSql(by), [scope]);
  return {
    scope,
    by,
    players: Number(size?.n ?? 0),
    rows: rows.map((x) => ({
      rank: Number(x.rank), playerId: x.player_id, name: x.name ?? null, value: Number(x.value), games: x.games, wins: x.wins,
      ...(opts.around === undefined ? {} : { me: x.me }),
    })),
  };
}

/**
 * Ranks of the rows around a player (sorted by value desc) from the three gp_rank gave: above the player,
 * rank(v') = rank(v) - players listed with a value in (v, v']; below the first lower value f,
 * rank(v'') = rank(f) + players listed with a value in (v'', f]. Every player in those ranges is listed.
 */
function fillAroundRanks(rows: Record<string, any>[]): Record<string, any>[] {
  const me = rows.find((x) => x.me);
  if (!me) return rows;
  const v = Number(me.value);
  const vals = rows.map((x) => Number(x.value));
  const first = rows.find((x) => Number(x.value) < v && x.rank !== null);
  for (const x of rows) {
    if (x.rank !== null) continue;
    const w = Number(x.value);
    if (w > v) x.rank = Number(me.rank) - vals.filter((y) => y > v && y <= w).length;
    else if (first) x.rank = Number(first.rank) + vals.filter((y) => y > w && y <= Number(first.value)).length;
  }
  return rows;
}

/** The standings archived when a period closed. */
export async function archivedLeaderboard(src: ReadSource, scope: string, by: Exclude<Metric, 'rating'> = 'xp', limit = 100) {
  const rows = await asReader(src).read(ARCHIVE_SQL, [scope, by, limit]);
  return rows.map((x) => ({ position: x.position, rank: x.rank, playerId: x.player_id, value: Number(x.value), archivedAt: iso(x.archived_at) }));
}

export interface SessionLeaderboardRow {
  rank: number;
  playerId: string;
  name: string | null;
  role: string | null;
  team: string | null;
  outcome: string | null;
  xp: number;
  score: number | null;
  tasks: number;
  fakeTasks: number;
  votes: number;
}

export async function sessionLeaderboard(src: ReadSource, sessionId: string) {
  const r = asReader(src);
  const [head] = await r.read(SESSION_HEAD_SQL, [sessionId]);
  if (!head) return null;
  const rows = await r.read(SESSION_LEADERBOARD_SQL, [sessionId]);
  return {
    sessionId, gameType: head.game_type as string | null, name: head.name as string | null, status: head.status as string,
    players: rows.map(
      (x): SessionLeaderboardRow => ({
        rank: x.rank, playerId: x.player_id, name: x.name, role: x.role, team: x.team, outcome: x.outcome, xp: Number(x.xp), score: num(x.score),
        tasks: x.tasks, fakeTasks: x.fake_tasks, votes: x.votes,
      }),
    ),
  };
}

/** A tenant's sessions whose first event is within the last `days` days (by `clock`). */
export async function tenantStats(src: ReadSource, tenant: string, days = 7, clock: Clock = systemClock) {
  const [x] = await asReader(src).read(TENANT_STATS_SQL, [tenant, days, clock.now()]);
  const ended = x.completed + x.abandoned;
  return { tenant, days, total: x.total, active: x.active, completed: x.completed, abandoned: x.abandoned, completionRate: ended ? x.completed / ended : null };
}

/** Per local day of the last `days` days up to `clock`'s today. */
export async function dailyStats(src: ReadSource, days = 7, timeZone = 'UTC', clock: Clock = systemClock) {
  const rows = await asReader(src).read(DAILY_STATS_SQL, [days, timeZone, clock.now()]);
  return rows.map((x) => ({
    day: x.day as string, created: x.created, started: x.started, finished: x.finished, abandoned: x.abandoned,
    avgDurationS: num(x.avg_duration_s), players: x.players,
  }));
}

export async function recentSessions(src: ReadSource, opts: { tenant?: string; limit?: number } = {}) {
  const rows = await asReader(src).read(RECENT_SESSIONS_SQL, [opts.tenant ?? null, Math.min(opts.limit ?? 10, 1000)]);
  return rows.map((x) => ({
    id: x.id as string, tenant: x.tenant, gameType: x.game_type, name: x.name, status: x.status, players: x.players,
    firstEventAt: iso(x.first_event_at), startedAt: iso(x.started_at), endedAt: iso(x.ended_at), winners: x.winners,
  }));
}
