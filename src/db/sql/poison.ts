/**
 * The poison run's reads (src/loadgen/poison.ts): what became of events it sent, by id.
 */

/** $1: event ids (text[]), $2: job ids (text[]). Result: the dead letters of those events or jobs. */
export const POISON_DEAD_LETTERS_SQL = `
SELECT event_id, reason_code, reason, field, job_id, truncated
  FROM dead_letters
 WHERE event_id = ANY($1::text[]) OR job_id = ANY($2::text[])`;

/** $1: event ids (uuid[]). Result: the stored chat messages among them, with their meta (stored in the data column). */
export const POISON_CHAT_SQL = `SELECT id::text AS id, data AS meta FROM chat_messages WHERE id = ANY($1::uuid[])`;
