import { Migration } from '@mikro-orm/migrations';

/**
 * Storage settings the entity metadata cannot express (hand-written; the schema diff ignores them).
 * sessions and session_participants rows are updated by nearly every batch: leaving free space in each
 * page lets PostgreSQL keep those updates HOT (same page, no index writes).
 */
export class Migration20261122000600_storage extends Migration {
  override name = 'Migration20261122000600_storage';

  override up(): void | Promise<void> {
    this.addSql(`alter table "sessions" set (fillfactor = 50);`);
    this.addSql(`alter table "session_participants" set (fillfactor = 70);`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "sessions" reset (fillfactor);`);
    this.addSql(`alter table "session_participants" reset (fillfactor);`);
  }
}
