import { Migration } from '@mikro-orm/migrations';

export class Migration20261122013404_turns_waiting extends Migration {

  override name = 'Migration20261122013404_turns_waiting';

  override up(): void | Promise<void> {
    this.addSql(`alter table "sessions" add "turns_waiting" boolean not null default false;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "sessions" drop column "turns_waiting";`);
  }

}
