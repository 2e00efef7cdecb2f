/**
 * Column builders shared by the event tables. Every event table leads its primary key with the
 * session id so it can later be partitioned or distributed by session.
 */
import { p } from '@mikro-orm/core';

export const eventColumns = () => ({
  sessionId: p.text().primary(),
  id: p.uuid().primary(),
  seq: p.bigint('number'),
  type: p.text(),
  at: p.datetime(),
  playerId: p.text().nullable(),
  /** When the worker's transaction wrote the row: `recorded_at - at` is the ingest lag. */
  recordedAt: p.datetime().defaultRaw('now()'),
});

export const meta = () => p.json<Record<string, unknown>>().nullable();
