import { Migration } from '@mikro-orm/migrations';

export class Migration20261201221002_api extends Migration {

  override name = 'Migration20261201221002_api';

  override up(): void | Promise<void> {
    this.addSql(`create table "api_keys" ("id" text not null, "name" text not null, "secret_hash" text not null, "scopes" text[] not null, "tenant" text null, "rate_limit" int null, "created_at" timestamptz not null default now(), "revoked_at" timestamptz null, primary key ("id"));`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "api_keys" cascade;`);
  }

}
