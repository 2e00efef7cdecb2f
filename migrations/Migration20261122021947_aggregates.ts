import { Migration } from '@mikro-orm/migrations';

/**
 * Leaderboard rank functions (hand-written; the schema diff does not see functions).
 * gp_bucket maps a metric value to a bucket, monotonically: xp and wins exactly below 4096 (where most
 * players are, and share values), 64 buckets per doubling above; win rate by 0.001, rating by 0.1.
 * gp_bucket_top bounds the values that can share a bucket with v (above 4096, x shares v's bucket only if
 * x < v * 2^(1/64) = v * 1.010889; 1.0109 is just above).
 * gp_rank = 1 + players in higher buckets (leaderboard_buckets) + players above v inside v's bucket.
 */
const RANK_FUNCTIONS = `
create function gp_bucket(metric int, v float8) returns int language sql immutable parallel safe as $$
  select case
    when metric in (1, 2) then case
      when abs(v) < 4096 then v::int
      when v > 0 then 4096 + floor(64 * ln(v / 4096) / ln(2))::int
      else -4097 - floor(64 * ln(-v / 4096) / ln(2))::int end
    when metric = 3 then floor(v * 1000)::int
    else floor(v * 10)::int end
$$;
create function gp_bucket_top(metric int, v float8) returns float8 language sql immutable parallel safe as $$
  select case
    when metric in (1, 2) then case when abs(v) < 4096 then v when v > 0 then v * 1.0109 else v / 1.0109 end
    when metric = 3 then v + 0.0011
    else v + 0.11 end
$$;
create function gp_rank(p_scope text, p_metric int, v float8) returns bigint language plpgsql stable as $$
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

export class Migration20261122021947_aggregates extends Migration {

  override name = 'Migration20261122021947_aggregates';

  override up(): void | Promise<void> {
    this.addSql(`create table "leaderboard_archive" ("scope" text not null, "metric" text not null, "position" int not null, "rank" int not null, "player_id" text not null, "value" double precision not null, "archived_at" timestamptz not null default now(), primary key ("scope", "metric", "position"));`);

    this.addSql(`create table "leaderboard_buckets" ("scope" text not null, "metric" smallint not null, "bucket" int not null, "n" bigint not null default '0', primary key ("scope", "metric", "bucket"));`);

    this.addSql(`create table "player_stats" ("player_id" text not null, "scope" text not null, "games" int not null default 0, "wins" int not null default 0, "losses" int not null default 0, "draws" int not null default 0, "xp" bigint not null default '0', "tasks" int not null default 0, "fake_tasks" int not null default 0, "votes" int not null default 0, "last_played_at" timestamptz null, "win_rate" double precision null, "mu" double precision null, "sigma" double precision null, "rating" double precision null, "rated_games" int not null default 0, primary key ("player_id", "scope"));`);
    this.addSql(`create index "player_stats_xp_idx" on "player_stats" ("scope", "xp" desc, "player_id");`);
    this.addSql(`create index "player_stats_wins_idx" on "player_stats" ("scope", "wins" desc, "player_id");`);
    this.addSql(`create index "player_stats_win_rate_idx" on "player_stats" ("scope", "win_rate" desc, "player_id") where "win_rate" is not null;`);
    this.addSql(`create index "player_stats_rating_idx" on "player_stats" ("scope", "rating" desc, "player_id") where "rating" is not null;`);

    this.addSql(`create table "rated_sessions" ("session_id" text not null, "ord" bigserial, "game_type" text null, "teams" jsonb null, "ranks" jsonb null, "skipped" text null, "rated_at" timestamptz not null default now(), primary key ("session_id"));`);
    this.addSql(`alter table "rated_sessions" add constraint "rated_sessions_ord_unique" unique ("ord");`);

    this.addSql(`create table "stat_deltas" ("id" bigserial primary key, "player_id" text not null, "scopes" text[] not null, "games" int not null, "wins" int not null, "losses" int not null, "draws" int not null, "xp" bigint not null, "tasks" int not null, "fake_tasks" int not null, "votes" int not null, "last_at" timestamptz null);`);

    this.addSql(`create table "stat_periods" ("scope" text not null, "kind" text not null, "starts_at" timestamptz not null, "ends_at" timestamptz not null, "closed_at" timestamptz null, primary key ("scope"));`);
    this.addSql(`create index "stat_periods_closed_at_ends_at_index" on "stat_periods" ("closed_at", "ends_at");`);

    this.addSql(`alter table "sessions" add "typed_tx" text null, add "rated_at" timestamptz null;`);
    this.addSql(`create index "sessions_unrated_idx" on "sessions" ("ended_at") where "status" = 'finished' and "rated_at" is null;`);
    this.addSql(`create index "sessions_tenant_first_event_at_index" on "sessions" ("tenant", "first_event_at");`);
    this.addSql(`create index "sessions_first_event_at_index" on "sessions" ("first_event_at");`);
    this.addSql(`create index "sessions_started_at_index" on "sessions" ("started_at");`);
    this.addSql(`create index "sessions_ended_at_index" on "sessions" ("ended_at");`);

    this.addSql(`alter table "session_participants" add "outcome_id" text null, add "outcome_at" timestamptz null, add "tasks" int not null default 0, add "fake_tasks" int not null default 0, add "task_xp" bigint not null default '0', add "votes" int not null default 0, add "last_at" timestamptz null;`);

    this.addSql(RANK_FUNCTIONS);
    // Stats rows of active players are rewritten by most batches.
    this.addSql(`alter table "player_stats" set (fillfactor = 80);`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop function if exists gp_rank(text, int, float8); drop function if exists gp_bucket_top(int, float8); drop function if exists gp_bucket(int, float8);`);
    this.addSql(`drop table if exists "leaderboard_archive" cascade;`);
    this.addSql(`drop table if exists "leaderboard_buckets" cascade;`);
    this.addSql(`drop table if exists "player_stats" cascade;`);
    this.addSql(`drop table if exists "rated_sessions" cascade;`);
    this.addSql(`drop table if exists "stat_periods" cascade;`);
    this.addSql(`drop table if exists "stat_deltas" cascade;`);

    this.addSql(`alter table "session_participants" drop column "outcome_id", drop column "outcome_at", drop column "tasks", drop column "fake_tasks", drop column "task_xp", drop column "votes", drop column "last_at";`);

    this.addSql(`drop index "sessions_tenant_first_event_at_index";`);
    this.addSql(`drop index "sessions_first_event_at_index";`);
    this.addSql(`drop index "sessions_started_at_index";`);
    this.addSql(`drop index "sessions_ended_at_index";`);
    this.addSql(`drop index "sessions_unrated_idx";`);
    this.addSql(`alter table "sessions" drop column "typed_tx", drop column "rated_at";`);
  }

}
