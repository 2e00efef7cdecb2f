import { Migration } from '@mikro-orm/migrations';

export class Migration20261201235021_documents_custom_types extends Migration {

  override name = 'Migration20261201235021_documents_custom_types';

  override up(): void | Promise<void> {
    this.addSql(`create table "custom_events" ("session_id" text not null, "id" uuid not null, "seq" bigint not null, "type" text not null, "at" timestamptz not null, "player_id" text null, "recorded_at" timestamptz not null default now(), "data" jsonb not null, primary key ("session_id", "id"));`);
    this.addSql(`create index "custom_events_session_seq_idx" on "custom_events" ("session_id", "seq");`);

    this.addSql(`create table "documents" ("session_id" text not null, "owner" text not null, "collection" text not null, "key" text collate "C" not null, "value" jsonb null, "version" int not null, "bytes" int not null, "seq" bigint not null, "event_id" uuid not null, "updated_at" timestamptz not null, primary key ("session_id", "owner", "collection", "key"));`);
    this.addSql(`create index "documents_owner_idx" on "documents" ("owner", "collection", "key");`);

    this.addSql(`create table "document_events" ("session_id" text not null, "id" uuid not null, "seq" bigint not null, "type" text not null, "at" timestamptz not null, "player_id" text null, "recorded_at" timestamptz not null default now(), "collection" text not null, "doc_key" text not null, "owner" text null, "expected_version" int null, "value" jsonb null, "outcome" text null, "version" int null, primary key ("session_id", "id"));`);
    this.addSql(`create index "document_events_session_seq_idx" on "document_events" ("session_id", "seq");`);

    this.addSql(`create table "event_types" ("type" text not null, "schema" jsonb not null, "description" text null, "version" int not null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), primary key ("type"));`);

    this.addSql(`alter table "sessions" add "last_doc_seq" bigint not null default '0';`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "custom_events" cascade;`);
    this.addSql(`drop table if exists "documents" cascade;`);
    this.addSql(`drop table if exists "document_events" cascade;`);
    this.addSql(`drop table if exists "event_types" cascade;`);

    this.addSql(`alter table "sessions" drop column "last_doc_seq";`);
  }

}
