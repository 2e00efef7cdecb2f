import { Migration } from '@mikro-orm/migrations';

/** Operations: the last verify runs (exported as a metric) and an index for the open-gaps gauge. */
export class Migration20261122032903_ops extends Migration {

  override name = 'Migration20261122032903_ops';

  override up(): void | Promise<void> {
    this.addSql(`create table "verify_runs" ("id" bigserial primary key, "at" timestamptz not null default now(), "drift" int not null, "players_checked" int null);`);

    this.addSql(`create index "sessions_gap_idx" on "sessions" ("gap_since") where "gap_since" is not null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "verify_runs" cascade;`);

    this.addSql(`drop index "sessions_gap_idx";`);
  }

}
