/**
 * One table per event family: typed columns for what analytics reads, jsonb for the rest. The entities
 * are generated from the family registry (src/db/families.ts), so the migrations MikroORM generates
 * from them follow it. Every event table leads its primary key with its key column (the session id, or
 * the tenant for join-queue events), so it can later be partitioned or distributed by it.
 */
import { defineEntity, p } from '@mikro-orm/core';
import { FAMILIES, type Family } from '../contract/events.ts';
import { FAMILY_TABLES, defaultSql, type Column, type FamilyTable, type SqlType } from '../db/families.ts';

/** MikroORM's property name of a column: its underscore naming strategy maps it back to the column. */
const propertyName = (column: string) => column.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

/** The property builder of each SQL type: the builder's column type is that SQL type. */
const BUILDERS: Record<SqlType, () => any> = {
  text: () => p.text(),
  uuid: () => p.uuid(),
  bigint: () => p.bigint('number'),
  int: () => p.integer(),
  float8: () => p.double(),
  boolean: () => p.boolean(),
  timestamptz: () => p.datetime(),
  jsonb: () => p.json<unknown>(),
};

function property(t: FamilyTable, c: Column): any {
  let b = BUILDERS[c.type]();
  if (c.name === t.key || c.name === 'id') b = b.primary();
  if (c.nullable) b = b.nullable();
  // Value defaults as values, SQL ones as raw SQL: the metadata MikroORM's schema diff compares.
  if (typeof c.default === 'object') b = b.defaultRaw(defaultSql(c));
  else if (c.default !== undefined) b = b.default(c.default);
  return b;
}

function eventEntity(t: FamilyTable) {
  return defineEntity({
    name: t.entity,
    tableName: t.table,
    properties: Object.fromEntries(t.columns.map((c) => [propertyName(c.name), property(t, c)])),
    indexes: [
      // The history, recovery and sequence reads are range scans of (session_id, seq) in every table.
      { name: `${t.table}_session_seq_idx`, properties: ['sessionId', 'seq'] },
      // The aggregates' per-player reads, and the per-player read routes.
      ...(t.playerIndex ? [{ properties: ['playerId'] }] : []),
    ],
  });
}

/** The entity of each family. */
export const EVENT_ENTITIES = Object.fromEntries(FAMILIES.map((f) => [f, eventEntity(FAMILY_TABLES[f])])) as Record<Family, ReturnType<typeof eventEntity>>;

export const SessionEvent = EVENT_ENTITIES.session;
export const ParticipantEvent = EVENT_ENTITIES.participant;
export const Move = EVENT_ENTITIES.move;
export const Vote = EVENT_ENTITIES.vote;
export const ChatMessage = EVENT_ENTITIES.chat;
export const TaskLog = EVENT_ENTITIES.task;
export const TurnResult = EVENT_ENTITIES.turn;
export const AgentLog = EVENT_ENTITIES.agent;
export const QueueEvent = EVENT_ENTITIES.queue;
export const DocumentEvent = EVENT_ENTITIES.doc;
export const CustomEvent = EVENT_ENTITIES.custom;
