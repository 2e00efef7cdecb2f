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
  }

}
