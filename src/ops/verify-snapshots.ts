/**
 * Recomputes every snapshot's hash (`game-persist snapshots verify`): a snapshot whose stored state
 * no longer hashes to its recorded SHA-256 is corrupt; one whose game-server hash differs from ours
 * disagrees with the game server. Either is a mismatch.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { query } from '../db/query.ts';
import { SNAPSHOTS_TO_VERIFY_SQL } from '../db/sql/snapshots.ts';
import { stateHash } from '../snapshots/hash.ts';

export interface SnapshotMismatch {
  sessionId: string;
  seq: number;
  turn: number | null;
  kind: 'corrupt' | 'server_hash';
  detail: string;
}

export async function verifySnapshots(orm: MikroORM, sessionId?: string): Promise<{ checked: number; mismatches: SnapshotMismatch[] }> {
  const rows = await query<Record<string, any>>(orm.em.fork(), SNAPSHOTS_TO_VERIFY_SQL, [sessionId ?? null]);
  const mismatches: SnapshotMismatch[] = [];
  for (const r of rows) {
    const actual = stateHash(r.state);
    const base = { sessionId: r.session_id as string, seq: Number(r.seq), turn: r.turn as number | null };
    if (actual !== r.hash) mismatches.push({ ...base, kind: 'corrupt', detail: `recorded ${r.hash}, state hashes to ${actual}` });
    else if (r.server_hash && String(r.server_hash).toLowerCase() !== actual)
      mismatches.push({ ...base, kind: 'server_hash', detail: `game server sent ${r.server_hash}, state hashes to ${actual}` });
  }
  return { checked: rows.length, mismatches };
}
