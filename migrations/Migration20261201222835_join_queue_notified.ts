import { Migration } from '@mikro-orm/migrations';

export class Migration20261201222835_join_queue_notified extends Migration {

  override name = 'Migration20261201222835_join_queue_notified';

  override up(): void | Promise<void> {
    this.addSql(`alter table "join_queue_entries" add "notified_at" timestamptz null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "join_queue_entries" drop column "notified_at";`);
  }

}
