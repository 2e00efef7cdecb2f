/**
 * Reduces the events a batch really inserted into the rows of the current-state tables (sessions,
 * participants, players, join queue). Each reducer emits one row per key, sorted by key so that
 * concurrent workers lock rows in the same order (no deadlocks between replicas).
 */
import type { ValidEvent } from '../contract/events.ts';
import type { JoinQueueRow } from '../db/sql/upsert-join-queue.ts';
import type { ParticipantRow, PlayerRow } from '../db/sql/upsert-participants.ts';
import type { SessionRow } from '../db/sql/upsert-sessions.ts';

const bySeq = (a: ValidEvent, b: ValidEvent) => (a.seq ?? 0) - (b.seq ?? 0);
/** UTC timestamps of one format compare as strings; anything else is parsed (hot path: avoid Date.parse). */
function cmpAt(a: string, b: string): number {
  if (a.length === b.length && a.endsWith('Z') && b.endsWith('Z')) return a < b ? -1 : a > b ? 1 : 0;
  return Date.parse(a) - Date.parse(b);
}
const minAt = (a: string | null, b: string) => (a === null || cmpAt(b, a) < 0 ? b : a);
export const maxAt = (a: string | null, b: string) => (a === null || cmpAt(b, a) > 0 ? b : a);
const str = (v: unknown): string | null => (v === undefined || v === null ? null : String(v));

function sortedValues<T>(m: Map<string, T>): T[] {
  return [...m.keys()].sort().map((k) => m.get(k) as T);
}

const STATUS_RANK = { created: 0, started: 1, finished: 2, abandoned: 2 } as const;

export function sessionRows(inserted: ValidEvent[]): SessionRow[] {
  const rows = new Map<string, SessionRow>();
  const lifecycle: ValidEvent[] = [];
  // Counts and min/max need no order; only the (few) lifecycle events are applied in seq order.
  for (const e of inserted) {
    // Every event with a session counts toward it (join-queue events may name the room waited for).
    if (e.sessionId === null) continue;
    let r = rows.get(e.sessionId);
    if (!r) {
      r = {
        id: e.sessionId, tenant: null, game_type: null, name: null, created_by: null, status: 'created', settings: null,
        winners: null, final_scores: null, result: null, end_reason: null, created_at: null, started_at: null, ended_at: null,
        first_at: e.at, last_at: e.at, last_seq: 0, last_turn_seq: 0, n: 0,
      };
      rows.set(e.sessionId, r);
    }
    r.n++;
    r.first_at = minAt(r.first_at, e.at);
    r.last_at = maxAt(r.last_at, e.at);
    if ((e.seq ?? 0) > r.last_seq) r.last_seq = e.seq ?? 0;
    if (e.family === 'turn' && (e.seq ?? 0) > r.last_turn_seq) r.last_turn_seq = e.seq ?? 0;
    if (e.family === 'session') lifecycle.push(e);
  }
  for (const e of lifecycle.sort(bySeq)) {
    const r = rows.get(e.sessionId as string) as SessionRow;
    const d = e.data;
    const ended = STATUS_RANK[r.status] === 2;
    switch (e.type) {
      case 'session.created':
        r.tenant = str(d.tenant);
        r.game_type = str(d.gameType);
        r.name = str(d.name);
        r.created_by = str(d.createdBy);
        r.settings = d.settings ?? r.settings;
        r.created_at = e.at;
        break;
      case 'session.started':
        r.started_at = e.at;
        r.settings = d.settings ?? r.settings;
        if (!ended) r.status = 'started';
        break;
      case 'session.finished':
        if (ended) break;
        r.status = 'finished';
        r.ended_at = e.at;
        r.winners = d.winners ? (d.winners as unknown[]).map(String) : null;
        r.final_scores = d.scores ?? null;
        r.result = str(d.result);
        break;
      case 'session.abandoned':
        if (ended) break;
        r.status = 'abandoned';
        r.ended_at = e.at;
        r.end_reason = str(d.reason);
        break;
    }
  }
  return sortedValues(rows);
}

/** Events that add to a player's share of a session: participant events, tasks, votes. */
export const CONTRIBUTING = new Set(['participant', 'task', 'vote']);

/** Whether outcome event a is newer than the outcome with (seq, id): by seq, then id (bytewise, as uuids sort). */
export const newerOutcome = (a: ValidEvent, seq: number, id: string | null) =>
  id === null || (a.seq ?? 0) > seq || ((a.seq ?? 0) === seq && a.id > id);

export function participantRows(inserted: ValidEvent[]): { participants: ParticipantRow[]; players: PlayerRow[] } {
  const parts = new Map<string, ParticipantRow>();
  const players = new Map<string, PlayerRow>();
  const events = inserted.filter((e) => CONTRIBUTING.has(e.family) && e.sessionId !== null && e.player !== null).sort(bySeq);
  for (const e of events) {
    if (e.sessionId === null || e.player === null) continue;
    const key = `${e.sessionId}\u0001${e.player}`;
    let r = parts.get(key);
    if (!r) {
      r = {
        session_id: e.sessionId, player_id: e.player, role: null, team: null, position: null, name: null, info_seq: 0,
        joined_at: null, last_joined_at: null, left_at: null, outcome: null, xp: null, score: null, outcome_seq: 0,
        outcome_id: null, outcome_at: null, tasks: 0, fake_tasks: 0, task_xp: 0, votes: 0, last_at: null,
      };
      parts.set(key, r);
    }
    const d = e.data;
    const seq = e.seq ?? 0;
    r.last_at = maxAt(r.last_at, e.at);
    if (e.family === 'task') {
      if (d.fake === true) r.fake_tasks++;
      else r.tasks++;
      r.task_xp += (d.xp as number | undefined) ?? 0;
    } else if (e.family === 'vote') r.votes++;
    if (e.family !== 'participant') continue;
    if (d.role !== undefined || d.team !== undefined || d.position !== undefined || d.name !== undefined) {
      r.role = str(d.role) ?? r.role;
      r.team = str(d.team) ?? r.team;
      r.position = (d.position as number | undefined) ?? r.position;
      r.name = str(d.name) ?? r.name;
      r.info_seq = seq;
    }
    if (e.type === 'player.joined') {
      r.joined_at = minAt(r.joined_at, e.at);
      r.last_joined_at = maxAt(r.last_joined_at, e.at);
    } else if (e.type === 'player.left') {
      r.left_at = maxAt(r.left_at, e.at);
    } else if (e.type === 'player.outcome' && newerOutcome(e, r.outcome_seq, r.outcome_id)) {
      r.outcome = str(d.outcome);
      r.xp = (d.xp as number | undefined) ?? null;
      r.score = (d.score as number | undefined) ?? null;
      r.outcome_seq = seq;
      r.outcome_id = e.id;
      r.outcome_at = e.at;
    }
    const pl = players.get(e.player);
    if (!pl) players.set(e.player, { id: e.player, name: str(d.name), first_at: e.at, last_at: e.at });
    else {
      pl.name = str(d.name) ?? pl.name;
      pl.first_at = minAt(pl.first_at, e.at);
      pl.last_at = maxAt(pl.last_at, e.at);
    }
  }
  return { participants: sortedValues(parts), players: sortedValues(players) };
}

export function joinQueueRows(inserted: ValidEvent[]): JoinQueueRow[] {
  const rows = new Map<string, JoinQueueRow>();
  for (const e of inserted) {
    if (e.family !== 'queue' || e.player === null) continue;
    const tenant = String(e.data.tenant);
    const key = `${tenant}\u0001${e.player}`;
    let r = rows.get(key);
    if (!r) {
      r = { tenant, player_id: e.player, session_id: null, entered_at: null, left_at: null, expires_at: null, data: null };
      rows.set(key, r);
    }
    if (e.type === 'queue.entered') {
      if (r.entered_at === null || cmpAt(e.at, r.entered_at) > 0) {
        r.entered_at = e.at;
        r.session_id = e.sessionId;
        r.expires_at = str(e.data.expiresAt);
        r.data = e.data.meta ?? null;
      }
    } else r.left_at = maxAt(r.left_at, e.at);
  }
  return sortedValues(rows);
}
