import { defineEntity, p } from '@mikro-orm/core';

/** An event (or a whole job) a worker could not store, with the reason. Replayable. */
export const DeadLetter = defineEntity({
  name: 'DeadLetter',
  tableName: 'dead_letters',
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    eventId: p.text().nullable(),
    sessionId: p.text().nullable(),
    type: p.text().nullable(),
    /** Machine-readable: invalid_event, malformed_job, unsupported_version, job_too_large, db_rejected, retries_exhausted, state_too_large. */
    reasonCode: p.text(),
    /** Human-readable, names the field for contract errors. */
    reason: p.text(),
    field: p.text().nullable(),
    /** The offending JSON as received (truncated past 1 MiB; text, since it may not be valid jsonb). */
    payload: p.text(),
    truncated: p.boolean().default(false),
    queue: p.text().nullable(),
    jobId: p.text().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
    replayedAt: p.datetime().nullable(),
    replayCount: p.integer().default(0),
  },
  indexes: [{ properties: ['createdAt'] }, { properties: ['reasonCode'] }, { properties: ['eventId'] }],
});

/** A `verify` run's result: the workers export the last one's drift as a metric. */
export const VerifyRun = defineEntity({
  name: 'VerifyRun',
  tableName: 'verify_runs',
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    at: p.datetime().defaultRaw('now()'),
    drift: p.integer(),
    /** Null when every player was checked. */
    playersChecked: p.integer().nullable(),
  },
});
