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

/**
 * How far the queue's jobs have been worked off, for holding a rating back (src/queue/horizon.ts).
 * $1 queue name, $2 the queue schema (as text). Result: { newest, oldest }, bigint as text: the last id
 * the queue's job-id sequence handed out (0: none yet), and the lowest id of a job not finished
 * (waiting, active, delayed, waiting-children; null: none; 0: a job added with an id of its own).
 */
export const queueHorizonSql = (schema: string): string => {
  const s = pg.escapeIdentifier(schema);
  return `SELECT coalesce(pg_sequence_last_value(to_regclass(format('%I.%I', $2::text, ${s}.job_id_seq_name($1)))), 0) AS newest,
  (SELECT min(CASE WHEN id ~ '^[0-9]{1,18}$' THEN id::bigint ELSE 0 END) FROM ${s}.job
   WHERE queue = $1 AND state IN ('waiting', 'active', 'delayed', 'waiting-children')) AS oldest`;
};
