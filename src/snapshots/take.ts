/**
 * Takes one snapshot (the pg-boss job handler) and prunes old ones: keep the first, the newest
 * `keep`, and the final snapshots of each session. Idempotent, so a retried job is harmless.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { transaction } from '../db/query.ts';
import {
  INSERT_SNAPSHOT_SQL,
  LIVE_STATE_SQL,
  PENDING_SNAPSHOT_SQL,
  PRUNE_SNAPSHOTS_SQL,
  SERVER_STATE_SQL,
  SET_SNAPSHOT_HASH_SQL,
} from '../db/sql/snapshots.ts';
import { stateHash } from './hash.ts';

export type SnapshotReason = 'turns' | 'interval' | 'final' | 'server' | 'idle';

export interface SnapshotJob {
  sessionId: string;
  reason: SnapshotReason;
  /** The snapshot's seq: for `server` the turn result whose full state the game server sent; for
   * `turns` and `final` the row the fold stored. Absent for `interval` (the live state at run time). */
  seq?: number;
}

export interface TakenSnapshot {
  seq: number;
  hash: string;
  hashMatches: boolean | null;
}

export async function takeSnapshot(orm: MikroORM, job: SnapshotJob, keep: number): Promise<TakenSnapshot | null> {
  return transaction(orm, async (q) => {
    if (job.reason === 'turns' || job.reason === 'final' || job.reason === 'idle') {
      // Stored in the transaction that made it due (the fold, the end, the idle clean-up); hash it now.
      const [pending] = await q<{ state: Record<string, unknown>; seq: string }>(PENDING_SNAPSHOT_SQL, [job.sessionId, job.seq]);
      if (!pending) return null;
      const hash = stateHash(pending.state);
      await q(SET_SNAPSHOT_HASH_SQL, [job.sessionId, job.seq, hash]);
      await q(PRUNE_SNAPSHOTS_SQL, [job.sessionId, keep]);
      return { seq: Number(pending.seq), hash, hashMatches: null };
    }
    const [row] =
      job.reason === 'server'
        ? await q<{ state: Record<string, unknown>; turn: number; seq: string; state_hash: string | null }>(SERVER_STATE_SQL, [job.sessionId, job.seq])
        : await q<{ state: Record<string, unknown>; turn: number; seq: string; state_hash?: null }>(LIVE_STATE_SQL, [job.sessionId]);
    if (!row) return null;
    const hash = stateHash(row.state);
    const serverHash = row.state_hash ?? null;
    const hashMatches = serverHash === null ? null : serverHash.toLowerCase() === hash;
    const seq = Number(row.seq);
    await q(INSERT_SNAPSHOT_SQL, [job.sessionId, seq, row.turn, JSON.stringify(row.state), hash, serverHash, hashMatches, job.reason, false]);
    await q(PRUNE_SNAPSHOTS_SQL, [job.sessionId, keep]);
    return { seq, hash, hashMatches };
  });
}
