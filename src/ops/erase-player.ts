/**
 * `game-persist erase-player <id>` and POST /v1/players/:id/erase (run by a worker: src/ops/
 * erasure-requests.ts): removes a player's personal data and pseudonymises what the statistics need.
 *
 * What is personal, and what happens to it:
 * - the player id, everywhere it is a value (players, participants, every event table's player_id,
 *   votes' target_id, sessions' created_by, documents' owner, join-queue entries with or without a
 *   session, player_stats, stat_deltas, leaderboard_archive), a document key or a `/`-separated segment
 *   of one (`characters/p-anna`: in documents and their events alike, so a document and its history
 *   keep one key and version chain), and inside every jsonb column (session data, winners, final scores,
 *   rated_sessions' teams, states, snapshots, documents, events…): every JSON string or object key that
 *   is the id or has it as a path segment, and every JSON number equal to an integer id of 5+ digits
 *   (src/ops/erase-json.ts): REPLACED by a pseudonym `erased-<random uuid>`. Replacing rather than
 *   deleting keeps everything derived consistent without recomputing it: a session's participants,
 *   sequence and recovery are the same with another name for the player, player_stats rows keep their
 *   values (so the leaderboard buckets do not move), ratings replay from rated_sessions' teams to the
 *   re-keyed rows (each input re-sorted into its canonical order under the new name; ratings do not
 *   depend on the order of equal ranks), and `verify` stays at zero drift. Snapshots are re-hashed (recovery only trusts a
 *   snapshot whose state hashes to its recorded hash); a hash the game server sent of a state it
 *   rewrites (snapshots' server_hash, turn results' state_hash) is cleared: it hashed the old state.
 * - names (players.name, participants' name, player.joined `name`), chat text and meta, agent prompts
 *   and responses (their sizes and token counts stay), task descriptions, the data of the player's own
 *   moves (the action stays) and game-defined `x.*` events (`{}`), vote and join-queue meta: BLANKED.
 *   The player's own documents keep their key and version but lose their value (as after a doc.delete,
 *   so versions never repeat); the values of the player's doc events on them are nulled.
 * - dead letters and cached API answers (Idempotency-Key records) that name the id (as a JSON string, or
 *   an integer id as a number: src/ops/erase-json.ts numberPattern): DELETED (a refused event is the
 *   player's own payload; rewriting it would make a replay lie).
 * - queued jobs carrying the id (waiting or paused, delayed, prioritized, failed ones kept for days,
 *   completed ones kept): REMOVED, before the transaction, best effort (src/ops/erase-queue.ts); their
 *   count is reported.
 *
 * The database part is one transaction holding the aggregates lock exclusively (ingest and folds hold it
 * shared, as `rebuild` does), so no batch or fold interleaves with the re-keying. The player's sessions
 * are found first, and session-keyed tables are searched in those only; the unindexed player_id columns
 * are still scanned once, so the lock is held for about one scan of the event tables.
 *
 * The pseudonym is random (not derived from the id). A later run for the same id reuses it (found by
 * the id's HMAC in `erasures`), so late rows land under the same one — unless the id came back with
 * rows of its own that the pseudonym already has (statistics, a participation in the same session, a
 * join-queue entry or a document with the same key, from events sent after the erasure: a unique
 * violation): the run then gives the id a new pseudonym, so no derived row ever needs merging and every
 * aggregate stays consistent; the player's anonymous statistics are then split between the two. The
 * players row alone is merged (first and last seen).
 *
 * Events in flight: jobs a worker holds (active) cannot be removed; they are reported as `inFlight`, and
 * when they land (and whatever a game server sends later) they re-create the original id. We do not
 * consult an erased-ids table on ingest: it would put a lookup on every batch of the hot path for a rare
 * operation. Instead the command is idempotent and convergent: run it again once the game server no
 * longer sends the player (and `inFlight` was 0). A second run with nothing left changes nothing and
 * reports `changed: false`.
 *
 * Audit: every request writes an `erasures` row (who asked, when, the id's HMAC-SHA256 under
 * GP_ERASURE_KEY, the pseudonym, counts per table.column and the queue report), a repeated one included.
 * Without the key nothing is erased: a PreconditionError `erasure_key_missing` (an unkeyed hash would let
 * anyone who reads the audit test a candidate id; no link at all would break the reuse above). Names or
 * ids written in free text by others (another player's chat) are not found: only the id as a whole JSON
 * string, a path segment or a number.
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { PreconditionError } from '../errors.ts';
import { transaction, type TxQuery } from '../db/query.ts';
import { AGGREGATES_EXCLUSIVE_LOCK_SQL } from '../db/sql/aggregates.ts';
import { INSERT_ERASURE_SQL, PREVIOUS_PSEUDONYM_SQL } from '../db/sql/erase.ts';
import { eraseQueuedJobs, type QueueReport, type QueueTarget } from './erase-queue.ts';
import { eraseRows, type EraseCounts } from './erase-rows.ts';

export type { QueueReport };

export interface ErasureReport {
  auditId: number;
  requestedAt: string;
  /** HMAC-SHA256 (hex) of the player id under GP_ERASURE_KEY: what the audit keeps. */
  idHmac: string;
  pseudonym: string;
  /** True when `pseudonym` is the one an earlier erasure of the id gave it. */
  reused: boolean;
  /** False when nothing was left to erase (a repeated request). */
  changed: boolean;
  /** Rows changed or deleted per `table.column` (only non-zero ones). */
  counts: EraseCounts;
  queue: QueueReport;
}

export interface EraseOptions {
  /** `cli:<user>` or `api-key:<id>`: written to the audit row. */
  requestedBy: string;
  /** GP_ERASURE_KEY (Config.erasureKey); null: refused with `erasure_key_missing`. */
  key: string | null;
  /** The events queue; absent: the queue part is skipped (reported as such). */
  queue?: QueueTarget;
}

/** Steps run inside the erasure's transaction: an erasure request claimed first, completed with the report. */
export interface ErasureHooks {
  /** False: nothing to do (another worker took the request); the transaction ends without erasing. */
  claim(q: TxQuery): Promise<boolean>;
  complete(q: TxQuery, report: ErasureReport): Promise<void>;
}

/** The audit's link to an id: HMAC-SHA256 under the erasure key. */
export const idHmac = (key: string, id: string) => createHmac('sha256', key).update(id, 'utf8').digest('hex');

export const ERASURE_KEY_MISSING = 'erasure_key_missing';

export function erasureKeyMissing(): PreconditionError {
  return new PreconditionError(
    ERASURE_KEY_MISSING,
    'GP_ERASURE_KEY is not set: erasure keeps only an HMAC of the id in its audit, keyed by it (32+ characters, e.g. `openssl rand -hex 32`; keep it stable and secret)',
  );
}

/** Erases a player (see the header). Idempotent; every call is audited. */
export async function erasePlayer(orm: MikroORM, id: string, opts: EraseOptions): Promise<ErasureReport> {
  return (await runErasure(orm, id, opts))!;
}

/** erasePlayer with hooks in its transaction: null when `hooks.claim` declined. */
export async function runErasure(orm: MikroORM, id: string, opts: EraseOptions, hooks?: ErasureHooks): Promise<ErasureReport | null> {
  if (!id) throw new TypeError('erasePlayer: empty player id');
  if (!opts.key) throw erasureKeyMissing();
  const hmac = idHmac(opts.key, id);
  const queue: QueueReport = opts.queue ? await eraseQueuedJobs(opts.queue, id) : { removed: {}, inFlight: 0, error: 'queue not given' };
  return transaction(orm, async (q) => {
    // The claim first (SKIP LOCKED): a worker that lost the race returns at once instead of queueing on the lock.
    if (hooks && !(await hooks.claim(q))) return null;
    await q(AGGREGATES_EXCLUSIVE_LOCK_SQL);
    const [prev] = await q<{ pseudonym: string }>(PREVIOUS_PSEUDONYM_SQL, [hmac]);
    let pseudonym = prev?.pseudonym ?? newPseudonym();
    let counts: EraseCounts;
    await q('SAVEPOINT gp_erase');
    try {
      counts = await eraseRows(q, id, pseudonym);
    } catch (e) {
      // The id's own rows collide with the earlier pseudonym's (see the header): a new pseudonym.
      if (!prev || (e as { code?: string }).code !== '23505') throw e;
      await q('ROLLBACK TO SAVEPOINT gp_erase');
      pseudonym = newPseudonym();
      counts = await eraseRows(q, id, pseudonym);
    }
    const changed = Object.keys(counts).length > 0 || Object.values(queue.removed).some((n) => n > 0);
    const [row] = await q<{ id: string; requested_at: Date }>(INSERT_ERASURE_SQL, [hmac, pseudonym, opts.requestedBy, JSON.stringify(counts), JSON.stringify(queue), changed]);
    const report: ErasureReport = {
      auditId: Number(row!.id), requestedAt: new Date(row!.requested_at).toISOString(), idHmac: hmac, pseudonym,
      reused: prev?.pseudonym === pseudonym, changed, counts, queue,
    };
    if (hooks) await hooks.complete(q, report);
    return report;
  });
}

const newPseudonym = () => `erased-${randomUUID()}`;
