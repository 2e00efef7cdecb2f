/**
 * The analytics read API. Every function takes a ReadSource: the ORM, or a Reader on a read replica
 * (createReader(DATABASE_READ_URL)), which is what the CLI uses when DATABASE_READ_URL is set.
 */
import { asReader, type ReadSource } from '../db/reader.ts';
import { METRIC_NAMES, type Metric } from '../db/sql/aggregates.ts';
import {
  aroundSql, ARCHIVE_SQL, boardSizeSql, DAILY_STATS_SQL, PLAYER_SQL, PLAYER_STATS_SQL, RECENT_SESSIONS_SQL, SESSION_HEAD_SQL,
  SESSION_LEADERBOARD_SQL, TENANT_CHAT_SQL, TENANT_PLAYER_SQL, TENANT_STATS_SQL, topSql,
} from '../db/sql/analytics.ts';
import { PLAYER_AGENT_USAGE_SQL, SESSION_AGENT_USAGE_SQL, type AgentUsageRow } from '../db/sql/agent-usage.ts';
import { currentPeriodScope, PERIOD_KINDS, type PeriodKind } from './periods.ts';
import { tenantScope } from '../derive/scopes.ts';
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
  /** The highest `score` of the player's results (latest player.outcome per session) in the scope; null without one. */
  bestScore: number | null;
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
  /** Within a tenant: the tenant's (only with `tenant`). */
  tenant?: string;
  /** The global player's name; within a tenant, the latest name the tenant's sessions gave. */
  name: string | null;
  firstSeenAt: string | null;
  /** All games together. */
  all: ScopeStats | null;
  /** Per game type. */
  games: Record<string, ScopeStats>;
  /** Rank on the global XP board (within a tenant, on the tenant's). */
  xpRank: number | null;
}

/**
 * A player's statistics: global, or with `tenant` within that tenant (its confined sessions, docs/http.md
 * "Tenants"). Null when the player is unknown there.
 */
export async function playerStats(src: ReadSource, playerId: string, opts: { tenant?: string } = {}): Promise<PlayerStats | null> {
  const r = asReader(src);
  const tenant = opts.tenant ?? null;
  const all = tenantScope(tenant, 'all');
  const gamePrefix = tenantScope(tenant, 'game:');
  const [players, rows] = await Promise.all([
    tenant === null ? r.read(PLAYER_SQL, [playerId]) : r.read(TENANT_PLAYER_SQL, [playerId, tenant]).then((x) => x.filter((p) => p.first_seen_at !== null)),
    r.read(PLAYER_STATS_SQL, [playerId, all, gamePrefix]),
  ]);
  if (!players.length && !rows.length) return null;
  const out: PlayerStats = {
    playerId, ...(tenant === null ? {} : { tenant }), name: players[0]?.name ?? null, firstSeenAt: iso(players[0]?.first_seen_at), all: null, games: {}, xpRank: null,
  };
  for (const x of rows) {
    const s: ScopeStats = {
      scope: x.scope, games: x.games, wins: x.wins, losses: x.losses, draws: x.draws, winRate: num(x.win_rate), bestScore: num(x.best_score), xp: Number(x.xp),
      tasks: x.tasks, fakeTasks: x.fake_tasks, votes: x.votes, lastPlayedAt: iso(x.last_played_at), rating: num(x.rating), mu: num(x.mu),
      sigma: num(x.sigma), ratedGames: x.rated_games,
    };
    if (x.scope === all) {
      out.all = s;
      out.xpRank = num(x.xp_rank);
    } else out.games[String(x.scope).slice(gamePrefix.length)] = s;
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
  /** A tenant's board (its confined sessions, docs/http.md "Tenants") instead of the global one. */
  tenant?: string;
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
  const base = leaderboardScope(opts);
  if (by === 'rating' && base !== 'all' && !base.startsWith('game:')) throw new AnalyticsError('ratings have no periods: use --period all');
  const tenant = opts.tenant ?? null;
  const scope = tenantScope(tenant, base);
  const t = tenant === null ? [] : [tenant];
  const limit = Math.min(Math.max(opts.limit ?? (opts.around ? 5 : 10), 1), 1000);
  const r = asReader(src);
  const rows =
    opts.around === undefined
      ? await r.read(topSql(by, tenant !== null), [scope, limit, ...t])
      : fillAroundRanks(await r.read(aroundSql(by, tenant !== null), [scope, opts.around, limit, ...t]));
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

/**
 * A tenant's sessions whose first event is within the last `days` days (by `clock`). The completion
 * rate is seed 000's /chatstats one, completed / total (sessions still active count as not completed);
 * null without sessions. The share of ended sessions that finished is completed / (completed + abandoned).
 */
export async function tenantStats(src: ReadSource, tenant: string, days = 7, clock: Clock = systemClock) {
  const [x] = await asReader(src).read(TENANT_STATS_SQL, [tenant, days, clock.now()]);
  return { tenant, days, total: x.total, active: x.active, completed: x.completed, abandoned: x.abandoned, completionRate: x.total ? x.completed / x.total : null };
}

export interface ChatCount {
  /** null: the messages without a channel. */
  channel: string | null;
  messages: number;
}

export interface TenantChat {
  tenant: string;
  days: number;
  /** Messages in the window, in all the tenant's sessions. */
  messages: number;
  /** Per player, most messages first (then by id), with their count per channel. */
  players: { playerId: string; name: string | null; messages: number; channels: ChatCount[] }[];
  /** Per channel, most messages first, with how many players wrote in it. */
  channels: (ChatCount & { players: number })[];
}

const byCount = <T extends { messages: number }>(key: (x: T) => string | null) => (a: T, b: T) => {
  const [x, y] = [key(a), key(b)];
  return b.messages - a.messages || (x === y ? 0 : x === null ? 1 : y === null ? -1 : x < y ? -1 : 1);
};

/** A tenant's chat messages (`chat.message`) of the last `days` days (by `clock`), per player and per channel (seed 000's /chatstats). */
export async function tenantChat(src: ReadSource, tenant: string, days = 7, clock: Clock = systemClock): Promise<TenantChat> {
  const rows = await asReader(src).read<{ player_id: string | null; name: string | null; channel: string | null; messages: number }>(TENANT_CHAT_SQL, [tenant, days, clock.now()]);
  const players = new Map<string, TenantChat['players'][number]>();
  const channels = new Map<string | null, TenantChat['channels'][number] & { who: Set<string> }>();
  let messages = 0;
  for (const r of rows) {
    messages += r.messages;
    const c = channels.get(r.channel) ?? channels.set(r.channel, { channel: r.channel, messages: 0, players: 0, who: new Set() }).get(r.channel)!;
    c.messages += r.messages;
    if (r.player_id === null) continue;
    c.who.add(r.player_id);
    const p = players.get(r.player_id) ?? players.set(r.player_id, { playerId: r.player_id, name: r.name, messages: 0, channels: [] }).get(r.player_id)!;
    p.messages += r.messages;
    p.channels.push({ channel: r.channel, messages: r.messages });
  }
  for (const p of players.values()) p.channels.sort(byCount((c) => c.channel));
  return {
    tenant, days, messages,
    players: [...players.values()].sort(byCount((p) => p.playerId)),
    channels: [...channels.values()].map(({ who, ...c }) => ({ ...c, players: who.size })).sort(byCount((c) => c.channel)),
  };
}

export interface AgentUsage {
  /** null: calls logged without a player. */
  playerId: string | null;
  model: string;
  provider: string | null;
  calls: number;
  /** Sessions the calls were made in. */
  sessions: number;
  /** Sums of what the calls reported (a call that reported no count adds 0). */
  promptTokens: number;
  completionTokens: number;
  thinkingTokens: number;
  /** Over the calls that reported `latencyMs`; nulls when none did. p95 is interpolated (percentile_cont). */
  latencyMs: { mean: number | null; max: number | null; p95: number | null };
}

const agentUsage = (r: AgentUsageRow): AgentUsage => ({
  playerId: r.player_id, model: r.model, provider: r.provider, calls: r.calls, sessions: r.sessions,
  promptTokens: Number(r.prompt_tokens), completionTokens: Number(r.completion_tokens), thinkingTokens: Number(r.thinking_tokens),
  latencyMs: { mean: r.latency_mean_ms, max: r.latency_max_ms, p95: r.latency_p95_ms },
});

/** A session's LLM/agent calls (`agent.log`) per player, model and provider; null when the session is unknown. */
export async function sessionAgentUsage(src: ReadSource, sessionId: string): Promise<{ sessionId: string; agents: AgentUsage[] } | null> {
  const r = asReader(src);
  const rows = await r.read<AgentUsageRow>(SESSION_AGENT_USAGE_SQL, [sessionId]);
  if (!rows.length && !(await r.read(SESSION_HEAD_SQL, [sessionId])).length) return null;
  return { sessionId, agents: rows.map(agentUsage) };
}

/** A player's LLM/agent calls across sessions per model and provider; null when the player is unknown. */
export async function playerAgentUsage(src: ReadSource, playerId: string): Promise<{ playerId: string; agents: AgentUsage[] } | null> {
  const r = asReader(src);
  const rows = await r.read<AgentUsageRow>(PLAYER_AGENT_USAGE_SQL, [playerId]);
  if (!rows.length && !(await r.read(PLAYER_SQL, [playerId])).length) return null;
  return { playerId, agents: rows.map(agentUsage) };
}

/** Per local day of the last `days` days up to `clock`'s today; only the sessions of `game` (a game type) when given. */
export async function dailyStats(src: ReadSource, days = 7, timeZone = 'UTC', clock: Clock = systemClock, opts: { game?: string } = {}) {
  const rows = await asReader(src).read(DAILY_STATS_SQL, [days, timeZone, clock.now(), opts.game ?? null]);
  return rows.map((x) => ({
    day: x.day as string, created: x.created, started: x.started, finished: x.finished, abandoned: x.abandoned,
    avgDurationS: num(x.avg_duration_s), players: x.players,
  }));
}

export interface RecentSession {
  id: string;
  tenant: string | null;
  gameType: string | null;
  name: string | null;
  status: string;
  players: number;
  firstEventAt: string | null;
  startedAt: string | null;
  endedAt: string | null;
  /** From the session's end when it is a session.finished (null otherwise): its `winners` (ids or teams, as text), `scores` and `result`, as sent. */
  winners: string[] | null;
  scores: Record<string, number> | null;
  result: string | null;
}

export async function recentSessions(src: ReadSource, opts: { tenant?: string; limit?: number } = {}): Promise<RecentSession[]> {
  const rows = await asReader(src).read(RECENT_SESSIONS_SQL, [opts.tenant ?? null, Math.min(opts.limit ?? 10, 1000)]);
  return rows.map((x) => ({
    id: x.id as string, tenant: x.tenant, gameType: x.game_type, name: x.name, status: x.status, players: x.players,
    firstEventAt: iso(x.first_event_at), startedAt: iso(x.started_at), endedAt: iso(x.ended_at), winners: x.winners, scores: x.final_scores,
    result: x.result,
  }));
}
