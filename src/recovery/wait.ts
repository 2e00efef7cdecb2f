/**
 * Read-your-writes for a game server that restarts: wait until a session is stored and folded through a
 * seq (the last one the producer issued, `producer.lastSeq(id)`), so the state it recovers next holds
 * everything it emitted. Polls the session row with a short back-off; the watermark and the live state
 * move in the same transaction, so "applied through seq" means "folded through seq" too.
 */
import { asReader, type ReadSource } from '../db/reader.ts';
import { TimeoutError } from '../errors.ts';

export interface Persisted {
  /** Every seq up to it is stored (or was given up as lost, see lostSeqs). */
  appliedSeq: number;
  /** The live state is folded through this seq (through the end, for an ended session). */
  stateSeq: number;
  /** Seqs given up as lost (gaps older than GP_GAP_TIMEOUT_S); they are below appliedSeq. */
  lostSeqs: number;
}

const WATERMARK_SQL = `SELECT applied_seq, state_seq, lost_seqs FROM sessions WHERE id = $1`;

/**
 * Resolves once every seq of session `id` up to `seq` is persisted and folded; rejects with a
 * TimeoutError after `timeoutMs` (default 10 s) saying how far it got. `seq` 0 resolves at once.
 */
export async function waitPersisted(src: ReadSource, id: string | number, seq: number, opts: { timeoutMs?: number; pollMs?: number } = {}): Promise<Persisted> {
  const reader = asReader(src);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const started = performance.now();
  let delay = opts.pollMs ?? 10;
  for (;;) {
    const [r] = await reader.read<{ applied_seq: string; state_seq: string; lost_seqs: string }>(WATERMARK_SQL, [String(id)]);
    const now: Persisted = { appliedSeq: Number(r?.applied_seq ?? 0), stateSeq: Number(r?.state_seq ?? 0), lostSeqs: Number(r?.lost_seqs ?? 0) };
    if (now.appliedSeq >= seq) return now;
    if (performance.now() - started >= timeoutMs)
      throw new TimeoutError(`session ${String(id).slice(0, 128)} is persisted through seq ${now.appliedSeq}, not ${seq}, after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, delay));
    delay = Math.min(delay * 2, 200);
  }
}
