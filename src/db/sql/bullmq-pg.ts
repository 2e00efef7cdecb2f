/**
 * BullMQ's PostgreSQL backend, as `migrate` prepares it for roles without DDL rights
 * (src/queue/id-sequence.ts). `schema` is a queue schema (`bullmq_<prefix>`), an identifier.
 */
import pg from 'pg';

/**
 * $1 queue name. Result: { seq } — the name of the queue's job-id sequence, from BullMQ's own function
 * (`bullmq_jid_<md5>`), after taking BullMQ's lock for creating it (held to the end of the transaction).
 */
export const lockQueueIdSequenceSql = (schema: string): string =>
  `SELECT pg_advisory_xact_lock(hashtext('bullmq:jidseq:' || $1)), ${pg.escapeIdentifier(schema)}.job_id_seq_name($1) AS seq`;

/** Creates the queue's job-id sequence when missing (what BullMQ would do on the first add, as the adding role). */
export const createQueueIdSequenceSql = (schema: string, sequence: string): string =>
  `CREATE SEQUENCE IF NOT EXISTS ${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(sequence)}`;
