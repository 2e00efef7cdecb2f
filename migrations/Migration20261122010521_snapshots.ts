import { Migration } from '@mikro-orm/migrations';

export class Migration20261122010521_snapshots extends Migration {

  override name = 'Migration20261122010521_snapshots';

  override up(): void | Promise<void> {
    this.addSql(`create table "session_snapshots" ("session_id" text not null, "seq" bigint not null, "turn" int null, "state" jsonb not null, "hash" text null, "server_hash" text null, "hash_matches" boolean null, "reason" text not null, "final" boolean not null default false, "taken_at" timestamptz not null default now(), primary key ("session_id", "seq"));`);
    this.addSql(`create index "session_snapshots_hash_matches_index" on "session_snapshots" ("hash_matches");`);

    this.addSql(`alter table "sessions" add "snapshot_turn" int null, add "snapshot_at" timestamptz null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "session_snapshots" cascade;`);

    this.addSql(`alter table "sessions" drop column "snapshot_turn", drop column "snapshot_at";`);
  }

}
