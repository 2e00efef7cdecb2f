import { Migration } from '@mikro-orm/migrations';

export class Migration20261207173418_tenants extends Migration {

  override name = 'Migration20261207173418_tenants';

  override up(): void | Promise<void> {
    this.addSql(`alter table "rated_sessions" add "tenant" text null;`);

    this.addSql(`alter table "sessions" add "confined" boolean not null default false;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "rated_sessions" drop column "tenant";`);

    this.addSql(`alter table "sessions" drop column "confined";`);
  }

}
