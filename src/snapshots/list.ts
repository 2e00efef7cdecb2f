/** A session's verified-hash snapshots, newest first (what recovery chooses from). */
import { asReader, type ReadSource } from '../db/reader.ts';
import { SESSION_SNAPSHOTS_SQL } from '../db/sql/snapshots.ts';

export interface SnapshotInfo {
  seq: number;
  turn: number | null;
  hash: string;
  reason: string;
  final: boolean;
  takenAt: string;
  /** The state, with `withState`. */
  value?: Record<string, unknown>;
}

export async function listSnapshots(src: ReadSource, sessionId: string, opts: { withState?: boolean } = {}): Promise<SnapshotInfo[]> {
  const rows = await asReader(src).read(SESSION_SNAPSHOTS_SQL, [sessionId]);
  return rows.map((r) => ({
    seq: Number(r.seq),
    turn: r.turn,
    hash: r.hash,
    reason: r.reason,
    final: r.final,
    takenAt: new Date(r.taken_at).toISOString(),
    ...(opts.withState ? { value: r.state } : {}),
  }));
}
