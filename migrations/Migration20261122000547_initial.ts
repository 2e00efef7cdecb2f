import { Migration } from '@mikro-orm/migrations';

export class Migration20261122000547_initial extends Migration {

  override name = 'Migration20261122000547_initial';

  override up(): void | Promise<void> {
    this.addSql(`create table "agent_logs" ("session_id" text not null, "id" uuid not null, "seq" bigint not null, "type" text not null, "at" timestamptz not null, "player_id" text null, "recorded_at" timestamptz not null default now(), "model" text not null, "provider" text null, "agent" text null, "turn" int null, "prompt" text null, "response" text null, "prompt_chars" int null, "response_chars" int null, "prompt_tokens" int null, "completion_tokens" int null, "thinking_tokens" int null, "latency_ms" double precision null, "data" jsonb null, primary key ("session_id", "id"));`);
    this.addSql(`create index "agent_logs_session_seq_idx" on "agent_logs" ("session_id", "seq");`);

    this.addSql(`create table "chat_messages" ("session_id" text not null, "id" uuid not null, "seq" bigint not null, "type" text not null, "at" timestamptz not null, "player_id" text null, "recorded_at" timestamptz not null default now(), "channel" text null, "round" int null, "text" text not null, "data" jsonb null, primary key ("session_id", "id"));`);
    this.addSql(`create index "chat_messages_session_seq_idx" on "chat_messages" ("session_id", "seq");`);

    this.addSql(`create table "dead_letters" ("id" bigserial primary key, "event_id" text null, "session_id" text null, "type" text null, "reason_code" text not null, "reason" text not null, "field" text null, "payload" text not null, "truncated" boolean not null default false, "queue" text null, "job_id" text null, "created_at" timestamptz not null default now(), "replayed_at" timestamptz null, "replay_count" int not null default 0);`);
    this.addSql(`create index "dead_letters_created_at_index" on "dead_letters" ("created_at");`);
    this.addSql(`create index "dead_letters_reason_code_index" on "dead_letters" ("reason_code");`);
    this.addSql(`create index "dead_letters_event_id_index" on "dead_letters" ("event_id");`);

    this.addSql(`create table "join_queue_entries" ("tenant" text not null, "player_id" text not null, "session_id" text null, "entered_at" timestamptz null, "left_at" timestamptz null, "expires_at" timestamptz null, "data" jsonb null, "updated_at" timestamptz not null default now(), primary key ("tenant", "player_id"));`);
    this.addSql(`create index "join_queue_entries_tenant_entered_at_index" on "join_queue_entries" ("tenant", "entered_at");`);
    this.addSql(`create index "join_queue_entries_session_id_index" on "join_queue_entries" ("session_id");`);

    this.addSql(`create table "moves" ("session_id" text not null, "id" uuid not null, "seq" bigint not null, "type" text not null, "at" timestamptz not null, "player_id" text null, "recorded_at" timestamptz not null default now(), "action" text not null, "round" int null, "turn" int null, "data" jsonb null, primary key ("session_id", "id"));`);
    this.addSql(`create index "moves_session_seq_idx" on "moves" ("session_id", "seq");`);

    this.addSql(`create table "participant_events" ("session_id" text not null, "id" uuid not null, "seq" bigint not null, "type" text not null, "at" timestamptz not null, "player_id" text null, "recorded_at" timestamptz not null default now(), "role" text null, "team" text null, "position" int null, "outcome" text null, "xp" int null, "score" double precision null, "data" jsonb null, primary key ("session_id", "id"));`);
    this.addSql(`create index "participant_events_session_seq_idx" on "participant_events" ("session_id", "seq");`);
    this.addSql(`create index "participant_events_player_id_index" on "participant_events" ("player_id");`);

    this.addSql(`create table "players" ("id" text not null, "name" text null, "first_seen_at" timestamptz not null, "last_seen_at" timestamptz not null, primary key ("id"));`);

    this.addSql(`create table "queue_events" ("tenant" text not null, "id" uuid not null, "session_id" text null, "seq" bigint null, "type" text not null, "at" timestamptz not null, "player_id" text null, "expires_at" timestamptz null, "reason" text null, "recorded_at" timestamptz not null default now(), "data" jsonb null, primary key ("tenant", "id"));`);

    this.addSql(`create table "sessions" ("id" text not null, "tenant" text null, "game_type" text null, "name" text null, "created_by" text null, "status" text not null default 'created', "settings" jsonb null, "winners" jsonb null, "final_scores" jsonb null, "result" text null, "end_reason" text null, "created_at" timestamptz null, "started_at" timestamptz null, "ended_at" timestamptz null, "first_event_at" timestamptz not null, "last_event_at" timestamptz not null, "last_seq" bigint not null default '0', "event_count" bigint not null default '0', "updated_at" timestamptz not null default now(), primary key ("id"));`);
    this.addSql(`create index "sessions_tenant_status_index" on "sessions" ("tenant", "status");`);
    this.addSql(`create index "sessions_status_index" on "sessions" ("status");`);

    this.addSql(`create table "session_events" ("session_id" text not null, "id" uuid not null, "seq" bigint not null, "type" text not null, "at" timestamptz not null, "player_id" text null, "recorded_at" timestamptz not null default now(), "data" jsonb not null, primary key ("session_id", "id"));`);
    this.addSql(`create index "session_events_session_seq_idx" on "session_events" ("session_id", "seq");`);

    this.addSql(`create table "session_participants" ("session_id" text not null, "player_id" text not null, "role" text null, "team" text null, "position" int null, "name" text null, "info_seq" bigint not null default '0', "joined_at" timestamptz null, "last_joined_at" timestamptz null, "left_at" timestamptz null, "outcome" text null, "xp" int null, "score" double precision null, "outcome_seq" bigint not null default '0', "updated_at" timestamptz not null default now(), primary key ("session_id", "player_id"));`);
    this.addSql(`create index "session_participants_player_id_index" on "session_participants" ("player_id");`);

    this.addSql(`create table "task_logs" ("session_id" text not null, "id" uuid not null, "seq" bigint not null, "type" text not null, "at" timestamptz not null, "player_id" text null, "recorded_at" timestamptz not null default now(), "task_type" text not null, "xp" int not null default 0, "fake" boolean not null default false, "description" text null, "data" jsonb null, primary key ("session_id", "id"));`);
    this.addSql(`create index "task_logs_session_seq_idx" on "task_logs" ("session_id", "seq");`);
    this.addSql(`create index "task_logs_player_id_index" on "task_logs" ("player_id");`);

    this.addSql(`create table "turn_results" ("session_id" text not null, "id" uuid not null, "seq" bigint not null, "type" text not null, "at" timestamptz not null, "player_id" text null, "recorded_at" timestamptz not null default now(), "turn" int not null, "round" int null, "results" jsonb null, "state" jsonb null, "patch" jsonb null, "state_hash" text null, primary key ("session_id", "id"));`);
    this.addSql(`create index "turn_results_session_seq_idx" on "turn_results" ("session_id", "seq");`);

    this.addSql(`create table "votes" ("session_id" text not null, "id" uuid not null, "seq" bigint not null, "type" text not null, "at" timestamptz not null, "player_id" text null, "recorded_at" timestamptz not null default now(), "target_id" text null, "round" int null, "kind" text null, "data" jsonb null, primary key ("session_id", "id"));`);
    this.addSql(`create index "votes_session_seq_idx" on "votes" ("session_id", "seq");`);
    this.addSql(`create index "votes_player_id_index" on "votes" ("player_id");`);

    this.addSql(`alter table "sessions" add constraint "sessions_status_check" check ("status" in ('created', 'started', 'finished', 'abandoned'));`);

    this.addSql(`alter table "session_participants" add constraint "session_participants_outcome_check" check ("outcome" in ('win', 'loss', 'draw'));`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "agent_logs" cascade;`);
    this.addSql(`drop table if exists "chat_messages" cascade;`);
    this.addSql(`drop table if exists "dead_letters" cascade;`);
    this.addSql(`drop table if exists "join_queue_entries" cascade;`);
    this.addSql(`drop table if exists "moves" cascade;`);
    this.addSql(`drop table if exists "participant_events" cascade;`);
    this.addSql(`drop table if exists "players" cascade;`);
    this.addSql(`drop table if exists "queue_events" cascade;`);
    this.addSql(`drop table if exists "sessions" cascade;`);
    this.addSql(`drop table if exists "session_events" cascade;`);
    this.addSql(`drop table if exists "session_participants" cascade;`);
    this.addSql(`drop table if exists "task_logs" cascade;`);
    this.addSql(`drop table if exists "turn_results" cascade;`);
    this.addSql(`drop table if exists "votes" cascade;`);
  }

}
