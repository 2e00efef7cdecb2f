/**
 * Aggregates, kept exact by the ingest transaction (see src/aggregates/). `player_stats` holds one row
 * per player per scope: `all`, `game:<type>`, `day:<YYYY-MM-DD>`, `week:<YYYY-MM-DD of Monday>`,
 * `month:<YYYY-MM>` (dates in the configured stats time zone), so every leaderboard is one index.
 */
import { defineEntity, p } from '@mikro-orm/core';

export const PlayerStat = defineEntity({
  name: 'PlayerStat',
  tableName: 'player_stats',
  properties: {
    playerId: p.text().primary(),
    scope: p.text().primary(),
    /** Sessions with an outcome. */
    games: p.integer().default(0),
    wins: p.integer().default(0),
    losses: p.integer().default(0),
    draws: p.integer().default(0),
    /** Outcome XP plus task XP. */
    xp: p.bigint('number').default(0),
    tasks: p.integer().default(0),
    fakeTasks: p.integer().default(0),
    votes: p.integer().default(0),
    lastPlayedAt: p.datetime().nullable(),
    /** wins / games once games reaches GP_WIN_RATE_MIN_GAMES, else null (off the win-rate board). */
    winRate: p.double().nullable(),
    /**
     * The highest `score` of the player's results in the scope (their latest player.outcome per session,
     * in the period of its time); null while none carries a score (off the best-score board).
     */
    bestScore: p.double().nullable(),
    /** OpenSkill (Plackett-Luce) rating; `rating` is the ordinal mu - 3 sigma. all and game: scopes only. */
    mu: p.double().nullable(),
    sigma: p.double().nullable(),
    rating: p.double().nullable(),
    ratedGames: p.integer().default(0),
  },
  indexes: [
    { name: 'player_stats_xp_idx', expression: 'create index "player_stats_xp_idx" on "player_stats" ("scope", "xp" desc, "player_id")' },
    { name: 'player_stats_wins_idx', expression: 'create index "player_stats_wins_idx" on "player_stats" ("scope", "wins" desc, "player_id")' },
    {
      name: 'player_stats_win_rate_idx',
      expression: 'create index "player_stats_win_rate_idx" on "player_stats" ("scope", "win_rate" desc, "player_id") where "win_rate" is not null',
    },
    {
      name: 'player_stats_rating_idx',
      expression: 'create index "player_stats_rating_idx" on "player_stats" ("scope", "rating" desc, "player_id") where "rating" is not null',
    },
    {
      name: 'player_stats_best_score_idx',
      expression: 'create index "player_stats_best_score_idx" on "player_stats" ("scope", "best_score" desc, "player_id") where "best_score" is not null',
    },
  ],
});

/**
 * Deltas of player_stats written by ingest transactions (append-only: cheap next to the events they come
 * from) and folded into player_stats and the buckets by the workers every GP_STATS_FOLD_MS, many batches
 * at a time. player_stats plus these rows is always exact; the boards lag by one fold.
 */
export const PendingStat = defineEntity({
  name: 'PendingStat',
  tableName: 'stat_deltas',
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    playerId: p.text(),
    /** all, game:<type>, and the periods of the contribution's time: expanded into rows by the fold. */
    scopes: p.array(),
    games: p.integer(),
    wins: p.integer(),
    losses: p.integer(),
    draws: p.integer(),
    xp: p.bigint('number'),
    tasks: p.integer(),
    fakeTasks: p.integer(),
    votes: p.integer(),
    lastAt: p.datetime().nullable(),
    /**
     * Recompute the scopes' last_played_at from the participants instead of taking a maximum (the
     * session behind this delta moved to another game type: its times leave the old game's scope).
     */
    resetLast: p.boolean().default(false),
    /**
     * Recompute the scopes' best_score from the participants: a score of the player's was added,
     * replaced or removed, or moved with its session to another game type. A maximum cannot be
     * subtracted, and a score carried here could be out of date by the time it is folded.
     */
    recomputeBest: p.boolean().default(false),
  },
});

/**
 * How many players of a scope have a metric value in each bucket (see gp_bucket in the aggregates
 * migration): a rank is the sum of the buckets above plus a short index count inside one bucket, so a
 * rank among a million players costs two small reads instead of counting half the table.
 */
export const LeaderboardBucket = defineEntity({
  name: 'LeaderboardBucket',
  tableName: 'leaderboard_buckets',
  properties: {
    scope: p.text().primary(),
    /** 1 xp, 2 wins, 3 win_rate, 4 rating, 5 best_score (METRICS in src/db/sql/aggregates.ts). */
    metric: p.smallint().primary(),
    bucket: p.integer().primary(),
    n: p.bigint('number').default(0),
  },
});

/** A leaderboard period (day, week, month in the stats time zone); closed and archived once it ends. */
export const StatPeriod = defineEntity({
  name: 'StatPeriod',
  tableName: 'stat_periods',
  properties: {
    scope: p.text().primary(),
    kind: p.text(),
    startsAt: p.datetime(),
    endsAt: p.datetime(),
    closedAt: p.datetime().nullable(),
  },
  indexes: [{ properties: ['closedAt', 'endsAt'] }],
});

/** The standings of a closed period (top N per metric), kept after the period ends. */
export const LeaderboardArchive = defineEntity({
  name: 'LeaderboardArchive',
  tableName: 'leaderboard_archive',
  properties: {
    scope: p.text().primary(),
    metric: p.text().primary(),
    position: p.integer().primary(),
    rank: p.integer(),
    playerId: p.text(),
    value: p.double(),
    archivedAt: p.datetime().defaultRaw('now()'),
  },
});

/**
 * A finished session whose outcome has updated ratings: written once (primary key) in the same
 * transaction as the rating update, with the exact input, so ratings can be verified and rebuilt by
 * replaying these rows in `ord` order.
 */
export const RatedSession = defineEntity({
  name: 'RatedSession',
  tableName: 'rated_sessions',
  properties: {
    sessionId: p.text().primary(),
    ord: p.bigint('number').autoincrement().unique(),
    gameType: p.text().nullable(),
    /** The tenant of a confined session, rated in that tenant's scopes; null: rated in the global ones. */
    tenant: p.text().nullable(),
    /** [[playerId, ...] per team], best team first by `ranks`. Null when the session could not be rated. */
    teams: p.json<string[][]>().nullable(),
    ranks: p.json<number[]>().nullable(),
    skipped: p.text().nullable(),
    ratedAt: p.datetime().defaultRaw('now()'),
  },
});
