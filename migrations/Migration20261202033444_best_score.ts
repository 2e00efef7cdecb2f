import { Migration } from '@mikro-orm/migrations';

/**
 * The best-score board (metric 5): player_stats.best_score, its index, the deltas' recompute flag, and
 * the rank functions taught metric 5 (hand-written, as in the aggregates migration: the schema diff
 * does not see functions). Metrics 1–4 bucket exactly as before.
 *
 * Scores are any number within ±(2^53 − 1) (the contract's `score`), fractions included, so metric 5
 * never casts a scaled value to int the way the rating branch does (floor(v * 10)::int overflows past
 * 2^31 / 10): below 4096 in absolute value a bucket is floor(v), beyond it 64 buckets per doubling as
 * for xp, which stays within int for any finite double. gp_bucket_top(5, v) bounds the values sharing
 * v's bucket: floor(v) + 1 below 4096; above, v * 1.0109 (v / 1.0109 for negative v).
 */
const RANK_FUNCTIONS = `
create or replace function gp_bucket(metric int, v float8) returns int language sql immutable parallel safe as $$
  select case
    when metric in (1, 2) then case
      when abs(v) < 4096 then v::int
      when v > 0 then 4096 + floor(64 * ln(v / 4096) / ln(2))::int
      else -4097 - floor(64 * ln(-v / 4096) / ln(2))::int end
    when metric = 3 then floor(v * 1000)::int
    when metric = 5 then case
      when abs(v) < 4096 then floor(v)::int
      when v > 0 then 4096 + floor(64 * ln(v / 4096) / ln(2))::int
      else -4097 - floor(64 * ln(-v / 4096) / ln(2))::int end
    else floor(v * 10)::int end
$$;
create or replace function gp_bucket_top(metric int, v float8) returns float8 language sql immutable parallel safe as $$
  select case
    when metric in (1, 2) then case when abs(v) < 4096 then v when v > 0 then v * 1.0109 else v / 1.0109 end
    when metric = 3 then v + 0.0011
    when metric = 5 then case
      when abs(v) < 4096 then floor(v) + 1
      when v > 0 then v * 1.0109
      else v / 1.0109 end
    else v + 0.11 end
$$;
create or replace function gp_rank(p_scope text, p_metric int, v float8) returns bigint language plpgsql stable as $$
declare
  b int := gp_bucket(p_metric, v);
  top float8 := gp_bucket_top(p_metric, v);
  above bigint;
  inside bigint;
begin
  select coalesce(sum(n), 0) into above from leaderboard_buckets where scope = p_scope and metric = p_metric and bucket > b;
  if p_metric = 1 then
    select count(*) into inside from player_stats where scope = p_scope and xp > v::bigint and xp <= floor(top)::bigint and gp_bucket(1, xp) = b;
  elsif p_metric = 2 then
    select count(*) into inside from player_stats where scope = p_scope and wins > v::int and wins <= floor(top)::int and gp_bucket(2, wins) = b;
  elsif p_metric = 3 then
    select count(*) into inside from player_stats where scope = p_scope and win_rate > v and win_rate <= top and gp_bucket(3, win_rate) = b;
  elsif p_metric = 5 then
    select count(*) into inside from player_stats where scope = p_scope and best_score > v and best_score <= top and gp_bucket(5, best_score) = b;
  else
    select count(*) into inside from player_stats where scope = p_scope and rating > v and rating <= top and gp_bucket(4, rating) = b;
  end if;
  return 1 + above + inside;
end $$;`;

/** The functions as the aggregates migration created them. */
const PREVIOUS_RANK_FUNCTIONS = `
create or replace function gp_bucket(metric int, v float8) returns int language sql immutable parallel safe as $$
  select case
    when metric in (1, 2) then case
      when abs(v) < 4096 then v::int
      when v > 0 then 4096 + floor(64 * ln(v / 4096) / ln(2))::int
      else -4097 - floor(64 * ln(-v / 4096) / ln(2))::int end
    when metric = 3 then floor(v * 1000)::int
    else floor(v * 10)::int end
$$;
create or replace function gp_bucket_top(metric int, v float8) returns float8 language sql immutable parallel safe as $$
  select case
    when metric in (1, 2) then case when abs(v) < 4096 then v when v > 0 then v * 1.0109 else v / 1.0109 end
    when metric = 3 then v + 0.0011
    else v + 0.11 end
$$;
create or replace function gp_rank(p_scope text, p_metric int, v float8) returns bigint language plpgsql stable as $$
declare
  b int := gp_bucket(p_metric, v);
  top float8 := gp_bucket_top(p_metric, v);
  above bigint;
  inside bigint;
begin
  select coalesce(sum(n), 0) into above from leaderboard_buckets where scope = p_scope and metric = p_metric and bucket > b;
  if p_metric = 1 then
    select count(*) into inside from player_stats where scope = p_scope and xp > v::bigint and xp <= floor(top)::bigint and gp_bucket(1, xp) = b;
  elsif p_metric = 2 then
    select count(*) into inside from player_stats where scope = p_scope and wins > v::int and wins <= floor(top)::int and gp_bucket(2, wins) = b;
  elsif p_metric = 3 then
    select count(*) into inside from player_stats where scope = p_scope and win_rate > v and win_rate <= top and gp_bucket(3, win_rate) = b;
  else
    select count(*) into inside from player_stats where scope = p_scope and rating > v and rating <= top and gp_bucket(4, rating) = b;
  end if;
  return 1 + above + inside;
end $$;`;

export class Migration20261202033444_best_score extends Migration {

  override name = 'Migration20261202033444_best_score';

  override up(): void | Promise<void> {
    this.addSql(`create index "agent_logs_player_id_index" on "agent_logs" ("player_id");`);

    this.addSql(`alter table "stat_deltas" add "recompute_best" boolean not null default false;`);

    this.addSql(`alter table "player_stats" add "best_score" double precision null;`);
    this.addSql(`create index "player_stats_best_score_idx" on "player_stats" ("scope", "best_score" desc, "player_id") where "best_score" is not null;`);

    this.addSql(RANK_FUNCTIONS);
    // Existing data: `game-persist rebuild` fills the best scores (their periods need GP_STATS_TZ, which a
    // migration does not know) and recounts the buckets; until then verify reports the missing ones as drift.
  }

  override down(): void | Promise<void> {
    this.addSql(PREVIOUS_RANK_FUNCTIONS);
    this.addSql(`delete from "leaderboard_buckets" where "metric" = 5;`);

    this.addSql(`drop index "agent_logs_player_id_index";`);

    this.addSql(`drop index "player_stats_best_score_idx";`);
    this.addSql(`alter table "player_stats" drop column "best_score";`);

    this.addSql(`alter table "stat_deltas" drop column "recompute_best";`);
  }

}
