import { Migration } from '@mikro-orm/migrations';

export class Migration20261202031147_stand_ins extends Migration {

  override name = 'Migration20261202031147_stand_ins';

  override up(): void | Promise<void> {
    this.addSql(`create table "api_records" ("key" text not null, "value" text not null, "expires_at" timestamptz not null, primary key ("key"));`);
    this.addSql(`create index "api_records_expires_at_index" on "api_records" ("expires_at");`);

    this.addSql(`create table "sequence_counters" ("prefix" text not null, "session_id" text not null, "seq" bigint not null, "expires_at" timestamptz not null, primary key ("prefix", "session_id"));`);
    this.addSql(`create index "sequence_counters_expires_at_index" on "sequence_counters" ("expires_at");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "api_records" cascade;`);
    this.addSql(`drop table if exists "sequence_counters" cascade;`);
  }

}
