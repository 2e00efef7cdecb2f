import { Migration } from '@mikro-orm/migrations';

/**
 * The views Grafana's PostgreSQL datasource reads (src/metrics/dashboards.ts), in a schema of their own
 * (src/db/sql/grants.ts DASHBOARD_SCHEMA): its role gets SELECT on these and nothing else, so a Grafana
 * editor's SQL cannot read chat, prompts, documents or the erasure audit. A view runs with its owner's
 * rights (the owner role), so the datasource needs none on the tables below. Written by hand: entities
 * cannot express a view (MikroORM ignores the schema, src/db/orm.ts).
 */
export class Migration20261207190000_dashboard_views extends Migration {

  override name = 'Migration20261207190000_dashboard_views';

  override up(): void | Promise<void> {
    this.addSql(`create schema if not exists "gp_dashboards";`);
    // The all-time top 100 by XP: what the "Top players by XP" panel shows the first rows of.
    this.addSql(`create view "gp_dashboards"."top_players" as
      select p.player_id, coalesce(pl.name, p.player_id) as name, p.xp, p.games, p.wins
      from player_stats p left join players pl on pl.id = p.player_id
      where p.scope = 'all' order by p.xp desc, p.player_id limit 100;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop schema if exists "gp_dashboards" cascade;`);
  }

}
