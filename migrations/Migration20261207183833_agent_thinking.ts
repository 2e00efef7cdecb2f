import { Migration } from '@mikro-orm/migrations';

export class Migration20261207183833_agent_thinking extends Migration {

  override name = 'Migration20261207183833_agent_thinking';

  override up(): void | Promise<void> {
    this.addSql(`alter table "agent_logs" add "thinking" text null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "agent_logs" drop column "thinking";`);
  }

}
