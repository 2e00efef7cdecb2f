/**
 * The part of `verify` that recomputes sessions and participants from their events (by position, from
 * scratch) and compares them with what the workers wrote incrementally, and the rating inputs of rated
 * sessions with what their participants say now (a stale rating is reported, not silently kept).
 */
import type { ValidEvent } from '../contract/events.ts';
import type { TxQuery } from '../db/query.ts';
import { recomputeSession } from '../derive/recompute.ts';
import { cmpAt } from '../derive/session.ts';
import { DERIVATION_EVENTS_SQL, SESSION_CHUNK_SQL, STORED_PARTICIPANTS_SQL, STORED_SESSIONS_SQL } from '../db/sql/recompute.ts';
import { RATED_INPUTS_SQL, type RatedInputRow } from '../db/sql/ratings.ts';
import { ratingInput } from './ratings.ts';
import type { Drift } from './drift.ts';

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
/** Times compare as instants, to the microsecond, whatever their spelling (events keep theirs, rows are read as UTC). */
const sameField = (k: string, a: unknown, b: unknown) =>
  k.endsWith('_at') && typeof a === 'string' && typeof b === 'string' ? cmpAt(a, b) === 0 : same(a, b);

/** Drift of sessions `ids` (all sessions, a chunk at a time, when null). */
export async function sessionDrift(q: TxQuery, ids: string[] | null, out: Drift[], chunk = 1000): Promise<number> {
  let checked = 0;
  if (ids) {
    for (let i = 0; i < ids.length; i += chunk) checked += await checkChunk(q, ids.slice(i, i + chunk), null, out);
    return checked;
  }
  for (let after = ''; ; ) {
    const rows = await q<{ id: string; idle: boolean }>(SESSION_CHUNK_SQL, [after, chunk]);
    if (!rows.length) return checked;
    checked += await checkChunk(q, rows.map((r) => r.id), new Map(rows.map((r) => [r.id, r.idle])), out);
    after = rows[rows.length - 1]!.id;
    if (out.length >= 1000) return checked;
  }
}

function toEvents(rows: Record<string, any>[]): Map<string, ValidEvent[]> {
  const m = new Map<string, ValidEvent[]>();
  for (const r of rows) {
    const e: ValidEvent = { id: r.id, type: r.type, family: r.family, sessionId: r.session_id, seq: Number(r.seq), at: r.at, player: r.player, data: r.data };
    const list = m.get(r.session_id);
    if (list) list.push(e);
    else m.set(r.session_id, [e]);
  }
  return m;
}

async function checkChunk(q: TxQuery, ids: string[], idleOf: Map<string, boolean> | null, out: Drift[]): Promise<number> {
  const events = toEvents(await q(DERIVATION_EVENTS_SQL, [ids]));
  const stored = new Map((await q<Record<string, any>>(STORED_SESSIONS_SQL, [ids])).map((r) => [r.id as string, r]));
  const parts = new Map<string, Record<string, any>[]>();
  for (const p of await q<Record<string, any>>(STORED_PARTICIPANTS_SQL, [ids])) {
    const list = parts.get(p.session_id);
    if (list) list.push(p);
    else parts.set(p.session_id, [p]);
  }
  for (const id of ids) {
    const s = stored.get(id);
    if (!s) continue;
    const idle = idleOf?.get(id) ?? (s.status === 'abandoned' && s.end_type === null);
    const r = recomputeSession(id, events.get(id) ?? [], idle);
    if (!r) continue;
    const g = r.merge;
    const end = g.end;
    const want: Record<string, unknown> = {
      game_type: g.groups.gameType, tenant: g.created?.tenant ?? null, confined: g.created?.confined ?? false, status: g.status, end_type: end?.type ?? null,
      end_seq: end ? String(end.pos[0]) : null, end_id: end?.pos[1] ?? null, started_at: g.started?.at ?? null, created_at: g.created?.at ?? null,
      ...(end || !idle ? { ended_at: end?.at ?? null, winners: end?.winners ?? null, final_scores: end?.scores ?? null, result: end?.result ?? null, end_reason: end?.reason ?? null } : {}),
    };
    const have: Record<string, unknown> = {};
    for (const k of Object.keys(want)) have[k] = s[k];
    for (const k of Object.keys(want)) if (!sameField(k, have[k], want[k])) out.push({ kind: 'sessions', key: `${id} ${k}`, actual: have[k], expected: want[k] });
    const byPlayer = new Map((parts.get(id) ?? []).map((p) => [p.player_id as string, p]));
    for (const [player, p] of r.participants) {
      const row = byPlayer.get(player);
      const exp: Record<string, unknown> = {
        role: p.role, team: p.team, position: p.position, name: p.name, joined_at: p.joinedAt, last_joined_at: p.lastJoinedAt,
        left_at: p.leftAt, present: p.present, outcome: p.outcome, xp: p.xp, score: p.score, outcome_at: p.outcomeAt,
        eff_outcome: p.effective?.outcome ?? null, eff_xp: p.effective?.xp ?? null, eff_at: p.effective?.at ?? null,
      };
      if (!row) {
        out.push({ kind: 'participants', key: `${id} ${player}`, actual: null, expected: exp });
        continue;
      }
      for (const k of Object.keys(exp)) {
        const act = row[k];
        if (!sameField(k, act, exp[k])) out.push({ kind: 'participants', key: `${id} ${player} ${k}`, actual: act, expected: exp[k] });
      }
    }
  }
  return ids.length;
}

/** Rated sessions whose recorded rating input is not what their participants say now. */
export async function ratingInputDrift(q: TxQuery, out: Drift[]): Promise<void> {
  const rated = await q<{ session_id: string }>(`SELECT session_id FROM rated_sessions ORDER BY session_id`);
  for (let i = 0; i < rated.length; i += 1000) {
    const ids = rated.slice(i, i + 1000).map((r) => r.session_id);
    const parts = new Map<string, { player_id: string; team: string | null; outcome: 'win' | 'loss' | 'draw' | null }[]>();
    for (const p of await q<{ session_id: string; player_id: string; team: string | null; eff_outcome: 'win' | 'loss' | 'draw' | null }>(
      `SELECT session_id, player_id, team, eff_outcome FROM session_participants WHERE session_id = ANY($1::text[])`,
      [ids],
    )) {
      const list = parts.get(p.session_id) ?? [];
      list.push({ player_id: p.player_id, team: p.team, outcome: p.eff_outcome });
      parts.set(p.session_id, list);
    }
    for (const r of await q<RatedInputRow>(RATED_INPUTS_SQL, [ids])) {
      const now = ratingInput(parts.get(r.session_id) ?? []);
      const want = typeof now === 'string' ? null : { teams: now.teams, ranks: now.ranks, game_type: r.current_type, tenant: r.current_tenant };
      const have = r.teams === null ? null : { teams: r.teams, ranks: r.ranks, game_type: r.game_type, tenant: r.tenant };
      if (!same(have, want)) out.push({ kind: 'ratings_input', key: r.session_id, actual: have, expected: want });
    }
  }
}
