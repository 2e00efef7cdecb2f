/**
 * BullMQ's PostgreSQL backend creates a queue's job-id sequence on the first job added to it
 * (`CREATE SEQUENCE IF NOT EXISTS` inside its add functions, as the calling role). A producer, the API
 * or a worker connected as the least-privilege worker role (src/db/roles.ts) has no CREATE on the queue
 * schema, so `migrate` (the owner) creates it beforehand; BullMQ then only finds it.
 */
import pg from 'pg';
import { pgConnectionOptions } from '../db/tls.ts';
import { createQueueIdSequenceSql, lockQueueIdSequenceSql } from '../db/sql/bullmq-pg.ts';
import { queueSchema } from './backend.ts';

/** Creates the job-id sequence of `queueName` in the prefix's queue schema if missing; returns its name. */
export async function ensureQueueIdSequence(databaseUrl: string, prefix: string, queueName: string): Promise<string> {
  const schema = queueSchema(prefix);
  const c = new pg.Client({ ...pgConnectionOptions(databaseUrl), application_name: 'game-persist:queue-schema' });
  await c.connect();
  try {
    await c.query('BEGIN');
    const { rows } = await c.query<{ seq: string }>(lockQueueIdSequenceSql(schema), [queueName]);
    const sequence = rows[0]!.seq;
    await c.query(createQueueIdSequenceSql(schema, sequence));
    await c.query('COMMIT');
    return sequence;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    await c.end();
  }
}
