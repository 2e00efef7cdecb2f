import { Migration } from '@mikro-orm/migrations';

export class Migration20261207174912_issued_seq_rating_horizon extends Migration {

  override name = 'Migration20261207174912_issued_seq_rating_horizon';

  override up(): void | Promise<void> {
    this.addSql(`alter table "sessions" add "issued_seq" bigint not null default '0', add "rating_horizon" bigint null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "sessions" drop column "issued_seq", drop column "rating_horizon";`);

    this.addSql(`create or replace function "gp_bucket"("metric" integer, "v" double precision) returns integer security invoker immutable language sql as \$\$ select case
    when metric in (1, 2) then case
      when abs(v) < 4096 then v::int
      when v > 0 then 4096 + floor(64 * ln(v / 4096) / ln(2))::int
      else -4097 - floor(64 * ln(-v / 4096) / ln(2))::int end
    when metric = 3 then floor(v * 1000)::int
    when metric = 5 then case
      when abs(v) < 4096 then floor(v)::int
      when v > 0 then 4096 + floor(64 * ln(v / 4096) / ln(2))::int
      else -4097 - floor(64 * ln(-v / 4096) / ln(2))::int end
    else floor(v * 10)::int end \$\$;`);

    this.addSql(`create or replace function "gp_bucket_top"("metric" integer, "v" double precision) returns double precision security invoker immutable language sql as \$\$ select case
    when metric in (1, 2) then case when abs(v) < 4096 then v when v > 0 then v * 1.0109 else v / 1.0109 end
    when metric = 3 then v + 0.0011
    when metric = 5 then case
      when abs(v) < 4096 then floor(v) + 1
      when v > 0 then v * 1.0109
      else v / 1.0109 end
    else v + 0.11 end \$\$;`);

    this.addSql(`create or replace function "gp_rank"("p_scope" text, "p_metric" integer, "v" double precision) returns bigint security invoker language plpgsql as \$\$ begin declare
  b int := gp_bucket(p_metric, v);   top float8 := gp_bucket_top(p_metric, v);   above bigint;   inside bigint; begin
  select coalesce(sum(n), 0) into above from leaderboard_buckets where scope = p_scope and metric = p_metric and bucket > b;   if p_metric = 1 then
    select count(*) into inside from player_stats where scope = p_scope and xp > v::bigint and xp <= floor(top)::bigint and gp_bucket(1, xp) = b;   elsif p_metric = 2 then
    select count(*) into inside from player_stats where scope = p_scope and wins > v::int and wins <= floor(top)::int and gp_bucket(2, wins) = b;   elsif p_metric = 3 then
    select count(*) into inside from player_stats where scope = p_scope and win_rate > v and win_rate <= top and gp_bucket(3, win_rate) = b;   elsif p_metric = 5 then
    select count(*) into inside from player_stats where scope = p_scope and best_score > v and best_score <= top and gp_bucket(5, best_score) = b;   else
    select count(*) into inside from player_stats where scope = p_scope and rating > v and rating <= top and gp_bucket(4, rating) = b;   end if;   return 1 + above + inside; end; end \$\$;`);
  }

}
