/**
 * `game-persist erase-player <id>` and POST /v1/players/:id/erase: removes a player's personal data and
 * pseudonymises what the statistics need.
 *
 * What is personal, and what happens to it:
 * - the player id, everywhere it is a value (players, participants, every event table's player_id,
 *   votes' target_id, sessions' created_by, documents' owner, join queue, player_stats, stat_deltas,
 *   leaderboard_archive) and every JSON string equal to it in any jsonb column (session data, winners,
 *   final scores, rated_sessions' teams, states, snapshots, moves…): REPLACED by a pseudonym
 *   `erased-<random uuid>`. Replacing rather than deleting keeps everything derived consistent without
 *   recomputing it: a session's participants, sequence and recovery are the same with another name for
 *   the player, player_stats rows keep their values (so the leaderboard buckets do not move), ratings
 *   replay from rated_sessions' teams to the re-keyed rows, and `verify` stays at zero drift. The
 *   pseudonym is random (not derived from the id) and reused by a later run for the same id (looked up
 *   by the id's SHA-256 in `erasures`), so a re-run after late events lands them under the same one.
 * - names (players.name, participants' name, player.joined `name`), chat text and meta, agent prompts
 *   and responses (their sizes and token counts stay), task descriptions, vote and join-queue meta:
 *   BLANKED (NULL, or '' for chat text, a NOT NULL column). The player's own documents keep their key
 *   and version but lose their value (as after a doc.delete, so versions never repeat); the values of
 *   the player's doc events on them are nulled.
 * - dead letters and cached API answers (Idempotency-Key records) whose text names the id: DELETED
 *   (a refused event is the player's own payload; rewriting it would make a replay lie).
 * - queued jobs carrying the id (waiting or paused, delayed, prioritized, failed ones kept for days,
 *   completed ones kept): REMOVED, before the transaction, best effort; their count is reported.
 *   Snapshots whose state names the id are rewritten and re-hashed (recovery only trusts a snapshot
 *   whose state hashes to its recorded hash); the game server's own `server_hash` is left as recorded.
 *
 * The database part is one transaction holding the aggregates lock exclusively (ingest and folds hold it
 * shared, as `rebuild` does), so no batch or fold interleaves with the re-keying. The player's sessions
 * are found first, and session-keyed tables are searched in those only; the unindexed player_id columns
 * are still scanned once, so the lock is held for about one scan of the event tables.
 *
 * Events in flight: jobs a worker holds (active) cannot be removed; they are reported as `inFlight`, and
 * when they land (and whatever a game server sends later) they re-create the original id. We do not
 * consult an erased-ids table on ingest: it would put a lookup on every batch of the hot path for a rare
 * operation. Instead the command is idempotent and convergent: run it again once the game server no
 * longer sends the player (and `inFlight` was 0), and it pseudonymises the late rows to the same pseudonym.
 * A second run with nothing left changes nothing and reports `changed: false`.
 *
 * Audit: every request writes an `erasures` row (who asked, when, the id's SHA-256, the pseudonym,
 * counts per table.column and the queue report), a repeated one included. Names or ids written in free
 * text by others (another player's chat) and player names inside game-defined state are not found:
 * only exact JSON strings equal to the id are.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { transaction, type TxQuery } from '../db/query.ts';
import { AGGREGATES_EXCLUSIVE_LOCK_SQL } from '../db/sql/aggregates.ts';
import {
  BLANK_SQL, ERASABLE_COLUMNS_SQL, INSERT_ERASURE_SQL, PLAYER_SESSIONS_SQL, PREVIOUS_PSEUDONYM_SQL, REWRITE_SNAPSHOT_SQL, SNAPSHOTS_NAMING_SQL, rekeyJsonSql,
  rekeyTextSql,
} from '../db/sql/erase.ts';
import { EVENT_TABLES } from '../db/families.ts';
import { openQueue, type QueueConnection } from '../queue/backend.ts';
import { stateHash } from '../snapshots/hash.ts';

export interface QueueReport {
  /** Jobs carrying the id that were removed, by state. */
  removed: Record<string, number>;
  /** Jobs carrying the id that a worker holds (active) or that could not be removed: run again later. */
  inFlight: number;
  /** Why the queue part did not run or stopped (the database part runs anyway). */
  error?: string;
}

export interface ErasureReport {
  auditId: number;
  requestedAt: string;
  /** SHA-256 (hex) of the player id: what the audit keeps. */
  idHash: string;
  pseudonym: string;
  /** False when nothing was left to erase (a repeated request). */
  changed: boolean;
  /** Rows changed or deleted per `table.column` (only non-zero ones). */
  counts: Record<string, number>;
  queue: QueueReport;
}

export interface EraseOptions {
  /** `cli:<user>` or `api-key:<id>`: written to the audit row. */
  requestedBy: string;
  /** The events queue; absent: the queue part is skipped (reported as such). */
  queue?: { connection: QueueConnection; queueName: string; prefix: string };
}

export const idHash = (id: string) => createHash('sha256').update(id).digest('hex');

const JOB_STATES = ['waiting', 'delayed', 'prioritized', 'failed', 'completed', 'waiting-children'] as const;

/** Removes the queue's jobs whose data names the id (as a JSON string). Best effort: never throws. */
export async function eraseQueuedJobs(target: NonNullable<EraseOptions['queue']>, id: string): Promise<QueueReport> {
  const needle = JSON.stringify(id);
  const report: QueueReport = { removed: {}, inFlight: 0 };
  const queue = openQueue(target, {}, { max: 1, applicationName: 'game-persist:erase' });
  try {
    for (const state of JOB_STATES) {
      // Pages from the end backwards: removing a job does not shift the pages still to read.
      const total = (await queue.getJobCounts(state))[state] ?? 0;
      for (let end = total - 1; end >= 0; end -= 500) {
        for (const job of await queue.getJobs([state], Math.max(0, end - 499), end, true)) {
          if (!job || !JSON.stringify(job.data ?? null).includes(needle)) continue;
          try {
            await job.remove();
            report.removed[state] = (report.removed[state] ?? 0) + 1;
          } catch {
            report.inFlight++; // taken by a worker meanwhile
          }
        }
      }
    }
    for (const job of await queue.getJobs(['active'], 0, -1)) if (job && JSON.stringify(job.data ?? null).includes(needle)) report.inFlight++;
  } catch (e) {
    report.error = e instanceof Error ? e.message : String(e);
  } finally {
    await queue.close().catch(() => {});
  }
  return report;
}

/** Erases a player (see the header). Idempotent; every call is audited. */
export async function erasePlayer(orm: MikroORM, id: string, opts: EraseOptions): Promise<ErasureReport> {
  if (!id) throw new TypeError('erasePlayer: empty player id');
  const queue: QueueReport = opts.queue ? await eraseQueuedJobs(opts.queue, id) : { removed: {}, inFlight: 0, error: 'queue not given' };
  const hash = idHash(id);
  return transaction(orm, async (q) => {
    await q(AGGREGATES_EXCLUSIVE_LOCK_SQL);
    const [prev] = await q<{ pseudonym: string }>(PREVIOUS_PSEUDONYM_SQL, [hash]);
    const pseudonym = prev?.pseudonym ?? `erased-${randomUUID()}`;
    const counts = await eraseRows(q, id, pseudonym);
    const changed = Object.keys(counts).length > 0 || Object.values(queue.removed).some((n) => n > 0);
    const [row] = await q<{ id: string; requested_at: Date }>(INSERT_ERASURE_SQL, [hash, pseudonym, opts.requestedBy, JSON.stringify(counts), JSON.stringify(queue), changed]);
    return { auditId: Number(row!.id), requestedAt: new Date(row!.requested_at).toISOString(), idHash: hash, pseudonym, changed, counts, queue };
  });
}

async function eraseRows(q: TxQuery, id: string, pseudonym: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const add = (label: string, n: number) => {
    if (n) counts[label] = (counts[label] ?? 0) + n;
  };
  const sessions = (await q<{ session_id: string }>(PLAYER_SESSIONS_SQL(EVENT_TABLES), [id])).map((r) => r.session_id);
  // Texts first: they are found by the original id, which the re-keying below replaces.
  for (const [label, sql] of BLANK_SQL) add(label, (await q(sql, [id])).length);
  const quoted = JSON.stringify(id);
  const quotedPseudonym = JSON.stringify(pseudonym);
  for (const s of await q<{ session_id: string; seq: string; state: unknown }>(SNAPSHOTS_NAMING_SQL, [quoted, sessions])) {
    const state = JSON.parse(JSON.stringify(s.state).split(quoted).join(quotedPseudonym));
    await q(REWRITE_SNAPSHOT_SQL, [s.session_id, s.seq, JSON.stringify(state), stateHash(state)]);
    add('session_snapshots.state', 1);
  }
  const columns = await q<{ table_name: string; column_name: string; data_type: string; session_keyed: boolean }>(ERASABLE_COLUMNS_SQL);
  for (const c of columns) {
    if (c.table_name === 'session_snapshots' && c.column_name === 'state') continue;
    const label = `${c.table_name}.${c.column_name}`;
    if (c.data_type === 'jsonb') add(label, (await q(rekeyJsonSql(c.table_name, c.column_name, c.session_keyed), [quoted, quotedPseudonym, ...(c.session_keyed ? [sessions] : [])])).length);
    else add(label, (await q(rekeyTextSql(c.table_name, c.column_name, c.session_keyed), [id, pseudonym, ...(c.session_keyed ? [sessions] : [])])).length);
  }
  return counts;
}
