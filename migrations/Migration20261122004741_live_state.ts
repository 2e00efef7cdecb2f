import { Migration } from '@mikro-orm/migrations';

export class Migration20261122004741_live_state extends Migration {

  override name = 'Migration20261122004741_live_state';

  override up(): void | Promise<void> {
    this.addSql(`create table "session_states" ("session_id" text not null, "state" jsonb not null, "turn" int null, "seq" bigint not null, "updated_at" timestamptz not null default now(), primary key ("session_id"));`);

    this.addSql(`create index "queue_events_session_seq_idx" on "queue_events" ("session_id", "seq");`);

    this.addSql(`alter table "sessions" add "applied_seq" bigint not null default '0', add "gap_since" timestamptz null, add "last_turn_seq" bigint not null default '0', add "state_seq" bigint not null default '0';`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "session_states" cascade;`);

    this.addSql(`drop index "queue_events_session_seq_idx";`);

    this.addSql(`alter table "sessions" drop column "applied_seq", drop column "gap_since", drop column "last_turn_seq", drop column "state_seq";`);
  }

}
