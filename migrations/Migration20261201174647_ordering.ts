import { Migration } from '@mikro-orm/migrations';

/**
 * Sequence order is the truth (docs/contract.md, "The ordering rule"): sessions and participants
 * remember the position (seq, id) of the event behind each value; participants carry the outcome the
 * statistics count (explicit or derived from the finish); sequence conflicts are recorded.
 * Existing rows are backfilled from the stored events; outcomes derived from a finish start counting
 * after `game-persist rebuild`.
 */
export class Migration20261201174647_ordering extends Migration {

  override name = 'Migration20261201174647_ordering';

  override up(): void | Promise<void> {
    this.addSql(`create table "seq_conflicts" ("session_id" text not null, "event_id" uuid not null, "seq" bigint not null, "type" text not null, "detected_at" timestamptz not null default now(), primary key ("session_id", "event_id"));`);

    this.addSql(`alter table "players" add "name_at" timestamptz null;`);
    this.addSql(`alter table "stat_deltas" add "reset_last" boolean not null default false;`);

    this.addSql(`alter table "sessions" add "created_seq" bigint null, add "created_id" uuid null, add "started_seq" bigint null, add "started_id" uuid null, add "settings_seq" bigint null, add "settings_id" uuid null, add "end_seq" bigint null, add "end_id" uuid null, add "end_type" text null, add "idle_timeout_s" int null, add "idle_at" timestamptz null, add "final_at" timestamptz null, add "seq_conflicts" int not null default 0, add "rating_stale" boolean not null default false, add "ahead_seqs" bigint[] null default '{}';`);
    this.addSql(`alter table "sessions" drop column "typed_tx";`);
    this.addSql(`create index "sessions_rating_stale_idx" on "sessions" ("id") where "rating_stale";`);

    this.addSql(`alter table "session_participants" add "present" boolean not null default false, add "eff_outcome" text null, add "eff_xp" int null, add "eff_at" timestamptz null, add "pos" jsonb null;`);
    this.addSql(`alter table "session_participants" add constraint "session_participants_eff_outcome_check" check ("eff_outcome" in ('win', 'loss', 'draw'));`);

    // Backfill: the positions of the events behind the stored values.
    for (const [group, where, order] of [
      ['created', `type = 'session.created'`, 'seq, id'],
      ['started', `type = 'session.started'`, 'seq, id'],
      ['settings', `type IN ('session.created', 'session.started') AND data ? 'settings'`, 'seq DESC, id DESC'],
      ['end', `type IN ('session.finished', 'session.abandoned')`, 'seq, id'],
    ] as const)
      this.addSql(`update "sessions" s set "${group}_seq" = e.seq, "${group}_id" = e.id from (select distinct on (session_id) session_id, seq, id, type from "session_events" where ${where} order by session_id, ${order}) e where s.id = e.session_id;`);
    this.addSql(`update "sessions" set "end_type" = case when status in ('finished', 'abandoned') and end_seq is not null then status end, "final_at" = case when end_seq is not null and applied_seq >= end_seq then coalesce(ended_at, now()) end;`);
    this.addSql(`update "sessions" s set "idle_timeout_s" = (settings->>'idleTimeoutS')::int where jsonb_typeof(settings->'idleTimeoutS') = 'number';`);
    // Sessions with a gap open: the seqs stored beyond it are not known yet (read from the tables once).
    this.addSql(`update "sessions" set "ahead_seqs" = null where applied_seq < last_seq;`);
    const latest = (key: string, cond: string) =>
      `(select jsonb_build_array(e.seq, e.id) from "participant_events" e where e.session_id = p.session_id and e.player_id = p.player_id and ${cond} order by e.seq desc, e.id desc limit 1)`;
    const first = (cond: string) =>
      `(select jsonb_build_array(e.seq, e.id) from "participant_events" e where e.session_id = p.session_id and e.player_id = p.player_id and ${cond} order by e.seq, e.id limit 1)`;
    this.addSql(`update "session_participants" p set "pos" = jsonb_strip_nulls(jsonb_build_object(
      'role', ${latest('role', 'e.role is not null')}, 'team', ${latest('team', 'e.team is not null')},
      'position', ${latest('position', 'e.position is not null')}, 'name', ${latest('name', `e.data ? 'name'`)},
      'join', ${first(`e.type = 'player.joined'`)}, 'joinLast', ${latest('joinLast', `e.type = 'player.joined'`)},
      'left', ${latest('left', `e.type = 'player.left'`)}, 'outcome', ${latest('outcome', `e.type = 'player.outcome'`)}));`);
    this.addSql(`update "session_participants" set "present" = coalesce(pos ? 'join' and (not pos ? 'left' or (pos->'joinLast'->>0)::bigint > (pos->'left'->>0)::bigint), false), "eff_outcome" = "outcome", "eff_xp" = case when outcome is not null then coalesce(xp, 0) end, "eff_at" = "outcome_at";`);

    this.addSql(`alter table "session_participants" drop column "info_seq", drop column "outcome_seq", drop column "outcome_id";`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "seq_conflicts" cascade;`);

    this.addSql(`alter table "players" drop column "name_at";`);
    this.addSql(`alter table "stat_deltas" drop column "reset_last";`);

    this.addSql(`alter table "session_participants" drop constraint "session_participants_eff_outcome_check";`);
    this.addSql(`alter table "session_participants" drop column "present", drop column "eff_outcome", drop column "eff_xp", drop column "eff_at", drop column "pos";`);
    this.addSql(`alter table "session_participants" add "info_seq" int8 not null default '0', add "outcome_seq" int8 not null default '0', add "outcome_id" text null;`);

    this.addSql(`alter table "sessions" drop column "created_seq", drop column "created_id", drop column "started_seq", drop column "started_id", drop column "settings_seq", drop column "settings_id", drop column "end_seq", drop column "end_id", drop column "end_type", drop column "idle_timeout_s", drop column "idle_at", drop column "final_at", drop column "seq_conflicts", drop column "rating_stale", drop column "ahead_seqs";`);
    this.addSql(`drop index "sessions_rating_stale_idx";`);
    this.addSql(`alter table "sessions" add "typed_tx" text null;`);
  }

}
