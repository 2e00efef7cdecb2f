import { Migration } from '@mikro-orm/migrations';

export class Migration20261207174912_issued_seq_rating_horizon extends Migration {

  override name = 'Migration20261207174912_issued_seq_rating_horizon';

  override up(): void | Promise<void> {
    this.addSql(`alter table "sessions" add "issued_seq" bigint not null default '0', add "rating_horizon" bigint null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "sessions" drop column "issued_seq", drop column "rating_horizon";`);
  }

}
