/**
 * Recovery for game servers that restart: one call returns a session as the game server needs it
 * (the session, its participants, the live state and what happened since that state changed, the
 * newest snapshot that verifies and the events after it, its join queue), another pages through every
 * unfinished session, and `replay` streams a session's full ordered history (the audit trail) in the
 * contract's wire form.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { query } from '../db/query.ts';
import { ACTIVE_SESSIONS_SQL, HISTORY_SQL, PARTICIPANTS_SQL, SESSION_QUEUE_SQL, SESSION_SQL, STATE_SQL } from '../db/sql/history.ts';
import { SESSION_SNAPSHOTS_SQL } from '../db/sql/snapshots.ts';
import { stateHash } from '../snapshots/hash.ts';

export interface HistoryEvent {
  id: string;
  type: string;
  seq: number;
  at: string;
  player: string | null;
  data: Record<string, unknown>;
}

export interface RecoveredSession {
  session: {
    id: string;
    tenant: string | null;
    gameType: string | null;
    name: string | null;
    status: string;
    settings: unknown;
    createdAt: string | null;
    startedAt: string | null;
    endedAt: string | null;
    lastEventAt: string;
    lastSeq: number;
    eventCount: number;
    /** Every event 1..appliedSeq is stored. */
    appliedSeq: number;
    /** When the sequence gap that holds events back opened; null when there is none. */
    gapSince: string | null;
  };
  participants: {
    playerId: string;
    role: string | null;
    team: string | null;
    position: number | null;
    name: string | null;
    present: boolean;
    outcome: string | null;
    xp: number | null;
    score: number | null;
  }[];
  /** The live state (turn results folded in order), or null before the first turn result. */
  state: { value: Record<string, unknown>; turn: number | null; seq: number } | null;
  /** Every event after the live state's seq (the whole history without a state): what to resume with. */
  sinceState: HistoryEvent[];
  /** The newest snapshot whose hash verifies; null when the session has no valid snapshot. */
  snapshot: { seq: number; turn: number | null; value: Record<string, unknown>; hash: string; reason: string; takenAt: string } | null;
  /** Newer snapshots that failed verification and were skipped (the fallback, said out loud). */
  snapshotsSkipped: { seq: number; why: string }[];
  /** Every event after that snapshot (the whole history without one), in sequence order. */
  tail: HistoryEvent[];
  queue: { tenant: string; playerId: string; waiting: boolean; enteredAt: string | null; expiresAt: string | null }[];
}

const iso = (v: unknown) => (v == null ? null : new Date(v as string).toISOString());

/** Recovers one session; null if it is unknown. `tailLimit` bounds the events returned after the state. */
export async function recoverSession(orm: MikroORM, id: string, opts: { tailLimit?: number } = {}): Promise<RecoveredSession | null> {
  const em = orm.em.fork();
  const [s] = await query<Record<string, any>>(em, SESSION_SQL, [id]);
  if (!s) return null;
  const [participants, [st], queue, snapshots] = await Promise.all([
    query<Record<string, any>>(em, PARTICIPANTS_SQL, [id]),
    query<Record<string, any>>(em, STATE_SQL, [id]),
    query<Record<string, any>>(em, SESSION_QUEUE_SQL, [id]),
    query<Record<string, any>>(orm.em.fork(), SESSION_SNAPSHOTS_SQL, [id]),
  ]);
  const stateSeq = st ? Number(st.seq) : 0;
  const limit = opts.tailLimit ?? 10_000;
  // The newest snapshot that still hashes to what was recorded; a corrupted one is skipped, and said so.
  const skipped: { seq: number; why: string }[] = [];
  let snap: Record<string, any> | undefined;
  for (const row of snapshots) {
    if (stateHash(row.state) === row.hash) {
      snap = row;
      break;
    }
    skipped.push({ seq: Number(row.seq), why: 'hash mismatch: the stored state no longer hashes to the recorded SHA-256' });
  }
  const snapSeq = snap ? Number(snap.seq) : 0;
  const [sinceState, tail] = await Promise.all([
    history(orm, id, stateSeq, Number.MAX_SAFE_INTEGER, limit),
    snapSeq === stateSeq ? null : history(orm, id, snapSeq, Number.MAX_SAFE_INTEGER, limit),
  ]);
  return {
    session: {
      id: s.id,
      tenant: s.tenant,
      gameType: s.game_type,
      name: s.name,
      status: s.status,
      settings: s.settings,
      createdAt: iso(s.created_at),
      startedAt: iso(s.started_at),
      endedAt: iso(s.ended_at),
      lastEventAt: iso(s.last_event_at) as string,
      lastSeq: Number(s.last_seq),
      eventCount: Number(s.event_count),
      appliedSeq: Number(s.applied_seq),
      gapSince: iso(s.gap_since),
    },
    participants: participants.map((p) => ({
      playerId: p.player_id,
      role: p.role,
      team: p.team,
      position: p.position,
      name: p.name,
      present: p.present,
      outcome: p.outcome,
      xp: p.xp,
      score: p.score,
    })),
    state: st ? { value: st.state, turn: st.turn, seq: stateSeq } : null,
    sinceState,
    snapshot: snap ? { seq: snapSeq, turn: snap.turn, value: snap.state, hash: snap.hash, reason: snap.reason, takenAt: iso(snap.taken_at) as string } : null,
    snapshotsSkipped: skipped,
    tail: tail ?? sinceState,
    queue: queue.map((q) => ({ tenant: q.tenant, playerId: q.player_id, waiting: q.waiting, enteredAt: iso(q.entered_at), expiresAt: iso(q.expires_at) })),
  };
}

export interface ActivePage {
  sessions: RecoveredSession[];
  /** Pass back to get the next page; null when this was the last. */
  nextCursor: string | null;
}

/** Every unfinished (created or started) session, paged by id. */
export async function recoverActiveSessions(
  orm: MikroORM,
  opts: { tenant?: string; gameType?: string; cursor?: string | null; limit?: number; tailLimit?: number } = {},
): Promise<ActivePage> {
  const limit = opts.limit ?? 100;
  const ids = await query<{ id: string }>(orm.em.fork(), ACTIVE_SESSIONS_SQL, [opts.tenant ?? null, opts.gameType ?? null, opts.cursor ?? '', limit]);
  const sessions: RecoveredSession[] = [];
  // A few sessions at a time: each recovery is a handful of indexed reads on its own connection.
  for (let i = 0; i < ids.length; i += 4) {
    const page = await Promise.all(ids.slice(i, i + 4).map((r) => recoverSession(orm, r.id, { tailLimit: opts.tailLimit })));
    for (const s of page) if (s) sessions.push(s);
  }
  return { sessions, nextCursor: ids.length === limit ? ids[ids.length - 1].id : null };
}

async function history(orm: MikroORM, id: string, after: number, upTo: number, limit: number): Promise<HistoryEvent[]> {
  const rows = await query<Record<string, any>>(orm.em.fork(), HISTORY_SQL, [id, after, upTo, limit]);
  return rows.map((r) => ({ id: r.id, type: r.type, seq: Number(r.seq), at: new Date(r.at).toISOString(), player: r.player, data: r.data }));
}

/** Streams a session's full ordered history (optionally a seq range), a page at a time. */
export async function* replay(orm: MikroORM, id: string, opts: { fromSeq?: number; toSeq?: number; pageSize?: number } = {}): AsyncGenerator<HistoryEvent> {
  let after = (opts.fromSeq ?? 1) - 1;
  const upTo = opts.toSeq ?? Number.MAX_SAFE_INTEGER;
  const size = opts.pageSize ?? 1000;
  for (;;) {
    const page = await history(orm, id, after, upTo, size);
    if (page.length < size) {
      yield* page;
      return;
    }
    // A full page may have cut the events of its last seq short (several events share a seq only
    // when a publisher reused one): hold them back and start the next page at that seq.
    const last = page[page.length - 1].seq;
    const whole = page.filter((e) => e.seq !== last);
    if (!whole.length) throw new Error(`more than ${size} events share seq ${last} in session ${id}`);
    yield* whole;
    after = last - 1;
  }
}
