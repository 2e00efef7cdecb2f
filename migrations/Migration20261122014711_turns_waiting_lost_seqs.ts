import { Migration } from '@mikro-orm/migrations';

export class Migration20261122014711_turns_waiting_lost_seqs extends Migration {

  override name = 'Migration20261122014711_turns_waiting_lost_seqs';

  override up(): void | Promise<void> {
    this.addSql(`alter table "sessions" add "lost_seqs" bigint not null default '0', add "turns_waiting" boolean not null default false;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "sessions" drop column "lost_seqs", drop column "turns_waiting";`);
  }

}
