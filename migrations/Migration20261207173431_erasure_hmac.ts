import { Migration } from '@mikro-orm/migrations';

export class Migration20261207173431_erasure_hmac extends Migration {

  override name = 'Migration20261207173431_erasure_hmac';

  override up(): void | Promise<void> {
    this.addSql(`create table "erasure_requests" ("id" bigserial primary key, "player_id" text null, "requested_by" text not null, "requested_at" timestamptz not null default now(), "done_at" timestamptz null, "audit_id" bigint null, "report" jsonb null, "error" text null);`);
    this.addSql(`create index "erasure_requests_pending_idx" on "erasure_requests" ("id") where "done_at" is null;`);

    // The unsalted SHA-256 of each erased id let anyone re-link a candidate id: blanked first (so no live
    // row version keeps it; the dead ones go at the next vacuum), then dropped. Those rows keep no link.
    this.addSql(`update "erasures" set "id_hash" = '' where "id_hash" <> '';`);
    this.addSql(`drop index "erasures_id_hash_index";`);
    this.addSql(`alter table "erasures" drop column "id_hash";`);
    this.addSql(`alter table "erasures" add "id_hmac" text null;`);
    this.addSql(`create index "erasures_id_hmac_index" on "erasures" ("id_hmac");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "erasure_requests" cascade;`);

    this.addSql(`drop index "erasures_id_hmac_index";`);
    this.addSql(`alter table "erasures" drop column "id_hmac";`);
    this.addSql(`alter table "erasures" add "id_hash" text not null default '';`);
    this.addSql(`create index "erasures_id_hash_index" on "erasures" ("id_hash");`);

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
