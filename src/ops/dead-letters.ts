/**
 * Dead-letter inspection and replay. Replay re-enqueues each stored payload as its own job on the
 * events queue and marks the row replayed in the same transaction that locked it; a payload that is
 * still invalid simply comes back as a new dead letter, and one that now passes lands (deduplicated
 * by event id if it somehow landed before).
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { openQueue, type QueueConnection } from '../queue/backend.ts';
import { EVENT_JOB_NAME } from '../contract/limits.ts';
import { query, transaction } from '../db/query.ts';
import { LIST_DEAD_LETTERS_SQL, MARK_REPLAYED_SQL, SELECT_FOR_REPLAY_SQL } from '../db/sql/dead-letters.ts';

export interface DeadLetterSummary {
  id: number;
  eventId: string | null;
  sessionId: string | null;
  type: string | null;
  reasonCode: string;
  reason: string;
  field: string | null;
  truncated: boolean;
  jobId: string | null;
  createdAt: string;
  replayedAt: string | null;
  replayCount: number;
  payloadHead: string;
}

export async function listDeadLetters(
  orm: MikroORM,
  opts: { reason?: string; includeReplayed?: boolean; limit?: number; afterId?: number } = {},
): Promise<DeadLetterSummary[]> {
  const rows = await query<Record<string, any>>(orm.em.fork(), LIST_DEAD_LETTERS_SQL, [
    opts.reason ?? null,
    opts.includeReplayed ?? false,
    opts.afterId ?? 0,
    opts.limit ?? 100,
  ]);
  return rows.map((r) => ({
    id: Number(r.id),
    eventId: r.event_id,
    sessionId: r.session_id,
    type: r.type,
    reasonCode: r.reason_code,
    reason: r.reason,
    field: r.field,
    truncated: r.truncated,
    jobId: r.job_id,
    createdAt: new Date(r.created_at).toISOString(),
    replayedAt: r.replayed_at ? new Date(r.replayed_at).toISOString() : null,
    replayCount: Number(r.replay_count),
    payloadHead: r.payload_head,
  }));
}

export interface ReplayResult {
  replayed: number[];
  skipped: { id: number; why: string }[];
}

/**
 * `connection` is the queue's: an ioredis client or a redis:// URL, or a postgres:// URL for the
 * PostgreSQL queue backend (see src/queue/backend.ts).
 */
export async function replayDeadLetters(
  orm: MikroORM,
  connection: QueueConnection,
  q: { queueName: string; prefix: string },
  ids: number[],
): Promise<ReplayResult> {
  const result: ReplayResult = { replayed: [], skipped: [] };
  if (!ids.length) return result;
  const queue = openQueue({ connection, prefix: q.prefix, queueName: q.queueName }, {}, { max: 1, applicationName: 'game-persist:dlq' });
  try {
    await transaction(orm, async (q) => {
      const rows = await q<{ id: string; payload: string; truncated: boolean }>(SELECT_FOR_REPLAY_SQL, [ids]);
      const found = new Set(rows.map((r) => Number(r.id)));
      for (const id of ids) if (!found.has(id)) result.skipped.push({ id, why: 'no such dead letter' });
      const jobs: { name: string; data: unknown; opts: Record<string, unknown> }[] = [];
      const ok: number[] = [];
      for (const r of rows) {
        if (r.truncated) {
          result.skipped.push({ id: Number(r.id), why: 'payload was truncated when stored' });
          continue;
        }
        let data: unknown;
        try {
          data = JSON.parse(r.payload);
        } catch {
          result.skipped.push({ id: Number(r.id), why: 'payload is not JSON' });
          continue;
        }
        jobs.push({ name: EVENT_JOB_NAME, data, opts: { removeOnComplete: true, attempts: 5, backoff: { type: 'exponential', delay: 1000 } } });
        ok.push(Number(r.id));
      }
      if (!jobs.length) return;
      await queue.addBulk(jobs);
      await q(MARK_REPLAYED_SQL, [ok]);
      result.replayed = ok;
    });
  } finally {
    await queue.close();
  }
  return result;
}
