/**
 * The reference model of "everything derived follows sequence order", written from docs/contract.md
 * ("The ordering rule") and README "Stats, leaderboards and ratings" alone. Given every session's
 * events (each once), it computes what the workers must have derived: the session row, the live state
 * and the final state, the participants, the player stats per scope and the rating input of each rated
 * session, plus an OpenSkill replay of rating inputs.
 *
 * Where the documents leave a choice open, the choice is written down here (search "Reading:").
 */
import { ordinal, rate, rating } from 'openskill';
import type { GenEvent, SessionCase } from './arbitraries.ts';
import { type Json, type JsonObject, cloneJson, hasKey, isObject, mergePatch } from './json.ts';
import { DEFAULT_MAX_STATE_BYTES } from '../../src/contract/limits.ts';
import { stateBytes } from '../../src/sessions/fold-state.ts';

export type Outcome = 'win' | 'loss' | 'draw';
const RANK: Record<Outcome, number> = { win: 1, draw: 2, loss: 3 };

/** `lose` is accepted and stored as `loss` (the contract's alias). */
export const outcomeOf = (v: Json | undefined): Outcome => (v === 'lose' ? 'loss' : (v as Outcome));
/** Ids and teams sent as integers are stored as text. */
export const asText = (v: Json | undefined): string | null => (v === undefined || v === null ? null : String(v));

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Position: (seq, id as lower-case text). */
export function byPosition(a: { seq: number; id: string }, b: { seq: number; id: string }): number {
  return a.seq - b.seq || compareText(a.id.toLowerCase(), b.id.toLowerCase());
}

export interface Folded {
  value: JsonObject;
  /** `data.turn` and seq of the last turn result folded in. */
  turn: number | null;
  seq: number;
}

/** A full `state` replaces the state; a `patch` is merged into it (RFC 7396); both within the state bound. */
export function foldTurns(start: JsonObject, turns: readonly { seq: number; data: JsonObject }[]): Folded {
  let value = cloneJson(start);
  let turn: number | null = null;
  let seq = 0;
  for (const t of turns) {
    const next = hasKey(t.data, 'state') ? cloneJson(t.data.state as JsonObject) : (mergePatch(value, t.data.patch!) as JsonObject);
    // The state bound (GP_MAX_STATE_BYTES, the workers' default): a turn result that would make the
    // state larger is refused and the state stays; measured as the workers measure it.
    if (stateBytes(next) <= DEFAULT_MAX_STATE_BYTES) value = next;
    turn = typeof t.data.turn === 'number' ? t.data.turn : null;
    seq = t.seq;
  }
  return { value, turn, seq };
}

export interface SessionRow {
  tenant: string | null;
  confined: boolean;
  game_type: string | null;
  name: string | null;
  created_by: string | null;
  created_at: number | null;
  settings: Json;
  started_at: number | null;
  status: 'created' | 'started' | 'finished' | 'abandoned';
  ended_at: number | null;
  winners: Json;
  final_scores: Json;
  result: string | null;
  end_reason: string | null;
  last_seq: number;
  event_count: number;
  first_event_at: number;
  last_event_at: number;
  applied_seq: number;
  final: boolean;
  /** Events beyond the first at a seq. */
  seq_conflicts: number;
  lost_seqs: number;
}

export interface ParticipantRow {
  role: string | null;
  team: string | null;
  position: number | null;
  name: string | null;
  joined_at: number | null;
  last_joined_at: number | null;
  left_at: number | null;
  present: boolean;
  outcome: Outcome | null;
  xp: number | null;
  score: number | null;
  outcome_at: number | null;
  eff_outcome: Outcome | null;
  eff_xp: number | null;
  eff_at: number | null;
  tasks: number;
  fake_tasks: number;
  task_xp: number;
  votes: number;
  last_at: number | null;
}

export interface RatingInput {
  gameType: string;
  /** The tenant of a confined session (rated in its tenant's scopes); null: the global ones. */
  tenant: string | null;
  teams: string[][];
  ranks: number[];
  /** A team whose members have different results (its rank is then the best of them). */
  mixed: boolean;
}

export interface ExpectedSession {
  id: string;
  /** Every stored event in position order. */
  ordered: GenEvent[];
  /** The first end (session.finished or session.abandoned), if any. */
  end: GenEvent | null;
  row: SessionRow;
  /** The live state; null when no turn result is folded in. */
  state: Folded | null;
  /** The final snapshot's state, when the session is final. */
  finalState: JsonObject | null;
  /** Turn results folded into it (a session without any may have no final snapshot: nothing to snapshot). */
  finalTurns: number;
  participants: Map<string, ParticipantRow>;
  /** null: not to be rated (not finished, not final or no game type); 'skip': fewer than two teams. */
  rating: RatingInput | 'skip' | null;
  /** Every document written, by `docKey` (a deleted one with a null value: its version lives on). */
  documents: Map<string, DocRow>;
  /** What applying each doc event did, by event id (absent: not applied, behind a gap). */
  docOutcomes: Map<string, { outcome: 'applied' | 'conflict'; version: number }>;
}

export interface DocRow {
  value: Json | null;
  version: number;
  /** The event that wrote this version. */
  seq: number;
  id: string;
}

/** A document's identity in a session: its owner ('' for the session, else the player), collection, key. */
export const docKey = (owner: string, collection: string, key: string) => JSON.stringify([owner, collection, key]);

/**
 * Documents: the fold, in position order, of the doc events through the watermark (docs/contract.md,
 * "Documents"). Reading: a version counts every applied write, a delete included; `expectedVersion` 0
 * means "does not exist" (never written, or deleted); a conflict writes nothing and records the version
 * found; deleting a missing document applies and changes nothing.
 */
function foldDocuments(ordered: GenEvent[], applied: number): Pick<ExpectedSession, 'documents' | 'docOutcomes'> {
  const documents = new Map<string, DocRow>();
  const docOutcomes = new Map<string, { outcome: 'applied' | 'conflict'; version: number }>();
  for (const e of ordered) {
    if ((e.type !== 'doc.put' && e.type !== 'doc.delete') || e.seq > applied) continue;
    const k = docKey(e.data.owner === 'player' ? (e.player ?? '') : '', e.data.collection as string, e.data.key as string);
    const doc = documents.get(k);
    const exists = doc !== undefined && doc.value !== null;
    const expected = e.data.expectedVersion as number | undefined;
    if (expected !== undefined && (expected === 0 ? exists : !exists || doc.version !== expected)) {
      docOutcomes.set(e.id, { outcome: 'conflict', version: exists ? doc.version : 0 });
      continue;
    }
    if (e.type === 'doc.delete') {
      if (exists) documents.set(k, { value: null, version: doc.version + 1, seq: e.seq, id: e.id });
      docOutcomes.set(e.id, { outcome: 'applied', version: documents.get(k)?.version ?? 0 });
      continue;
    }
    const version = (doc?.version ?? 0) + 1;
    documents.set(k, { value: e.data.value as Json, version, seq: e.seq, id: e.id });
    docOutcomes.set(e.id, { outcome: 'applied', version });
  }
  return { documents, docOutcomes };
}

export interface StatRow {
  games: number;
  wins: number;
  losses: number;
  draws: number;
  xp: number;
  tasks: number;
  fake_tasks: number;
  votes: number;
  last_played_at: number | null;
  /** The highest score of the player's own latest outcomes (per session), in the period of each one's time. */
  best_score: number | null;
}

export interface PlayerRow {
  first_seen_at: number;
  last_seen_at: number;
  /** The name of the latest (by `at`) player event carrying one; undefined when two such events share that time (the order they arrive in decides). */
  name: string | null | undefined;
}

export interface Expected {
  sessions: Map<string, ExpectedSession>;
  /** Keyed by `statKey(player, scope)`; a row of zeros (only joins or leaves in that period) may be absent. */
  stats: Map<string, StatRow>;
  /** The global players: from the player events of sessions that are not confined. */
  players: Map<string, PlayerRow>;
}

export const statKey = (player: string, scope: string) => `${player}\u0000${scope}`;

/**
 * A global scope as a confined session's tenant's own (docs/http.md, "Tenants"): `tenant:<tenant>` for
 * `all`, `tenant:<tenant>/<scope>` for the others, `%` and `/` in the tenant written `%25` and `%2F`.
 */
export function tenantScope(tenant: string | null, scope: string): string {
  if (tenant === null) return scope;
  const t = `tenant:${tenant.replaceAll('%', '%25').replaceAll('/', '%2F')}`;
  return scope === 'all' ? t : `${t}/${scope}`;
}

/** day:, week: (Monday) and month: scopes of an instant, in UTC (the workers run with GP_STATS_TZ=UTC). */
export function periodScopes(us: number): string[] {
  const d = new Date(Math.floor(us / 1000));
  const [y, m, day] = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()];
  const iso = (t: number) => new Date(t).toISOString().slice(0, 10);
  const monday = Date.UTC(y, m, day - ((d.getUTCDay() + 6) % 7));
  return [`day:${iso(Date.UTC(y, m, day))}`, `week:${iso(monday)}`, `month:${iso(Date.UTC(y, m, 1)).slice(0, 7)}`];
}

const first = <T>(a: T[]): T | null => a[0] ?? null;
const last = <T>(a: T[]): T | null => a[a.length - 1] ?? null;
const maxOf = (a: (number | null)[]): number | null => a.reduce<number | null>((m, x) => (x === null ? m : m === null ? x : Math.max(m, x)), null);

/** The outcome the end gives a player without an own outcome (see the participants table). */
function derivedOutcome(end: GenEvent, player: string, team: string | null): Outcome | null {
  const winners = Array.isArray(end.data.winners) ? end.data.winners.map(String) : [];
  if (winners.length) return winners.includes(player) || (team !== null && winners.includes(team)) ? 'win' : 'loss';
  const scores = isObject(end.data.scores) ? (end.data.scores as Record<string, number>) : {};
  const keys = Object.keys(scores);
  if (!keys.length) return null;
  const key = hasKey(scores, player) ? player : team !== null && hasKey(scores, team) ? team : null;
  if (key === null) return null;
  const top = Math.max(...keys.map((k) => scores[k]!));
  if (scores[key] !== top) return 'loss';
  return keys.filter((k) => scores[k] === top).length > 1 ? 'draw' : 'win';
}

function participants(ordered: GenEvent[], end: GenEvent | null): Map<string, ParticipantRow> {
  const byPlayer = new Map<string, GenEvent[]>();
  for (const e of ordered) {
    if (e.player === null || !(e.type.startsWith('player.') || e.type === 'task.completed' || e.type === 'vote')) continue;
    const list = byPlayer.get(e.player) ?? [];
    list.push(e);
    byPlayer.set(e.player, list);
  }
  const out = new Map<string, ParticipantRow>();
  for (const [player, evs] of byPlayer) {
    const pe = evs.filter((e) => e.type.startsWith('player.'));
    const carrying = (field: string) => last(pe.filter((e) => e.data[field] !== undefined))?.data[field];
    const joins = pe.filter((e) => e.type === 'player.joined');
    const lefts = pe.filter((e) => e.type === 'player.left');
    const outcome = last(pe.filter((e) => e.type === 'player.outcome'));
    const tasks = evs.filter((e) => e.type === 'task.completed');
    const team = asText(carrying('team'));
    const lastJoin = last(joins);
    const lastLeft = last(lefts);
    let eff: Outcome | null = null;
    let effXp: number | null = null;
    let effAt: number | null = null;
    if (outcome) [eff, effXp, effAt] = [outcomeOf(outcome.data.outcome), (outcome.data.xp as number | undefined) ?? 0, outcome.atUs];
    else if (end?.type === 'session.finished' && joins.length) {
      eff = derivedOutcome(end, player, team);
      if (eff) [effXp, effAt] = [0, end.atUs];
    }
    out.set(player, {
      role: asText(carrying('role')),
      team,
      position: (carrying('position') as number | undefined) ?? null,
      name: asText(carrying('name')),
      joined_at: first(joins)?.atUs ?? null,
      last_joined_at: lastJoin?.atUs ?? null,
      left_at: lastLeft?.atUs ?? null,
      present: lastJoin !== null && !(lastLeft !== null && byPosition(lastLeft, lastJoin) > 0),
      outcome: outcome ? outcomeOf(outcome.data.outcome) : null,
      xp: (outcome?.data.xp as number | undefined) ?? null,
      score: (outcome?.data.score as number | undefined) ?? null,
      outcome_at: outcome?.atUs ?? null,
      eff_outcome: eff,
      eff_xp: effXp,
      eff_at: effAt,
      tasks: tasks.filter((e) => e.data.fake !== true).length,
      fake_tasks: tasks.filter((e) => e.data.fake === true).length,
      // Reading: task_xp sums the xp of every task.completed, faked ones included.
      task_xp: tasks.reduce((s, e) => s + ((e.data.xp as number | undefined) ?? 0), 0),
      votes: evs.filter((e) => e.type === 'vote').length,
      // Reading: "the latest at" is the greatest `at` (as for last_event_at), not the at of the last-positioned event.
      last_at: maxOf(evs.map((e) => e.atUs)),
    });
  }
  return out;
}

function ratingInput(parts: Map<string, ParticipantRow>, gameType: string, tenant: string | null): RatingInput | 'skip' {
  // Reading: a team with members of different results takes the best rank among them.
  const groups = new Map<string, { players: string[]; ranks: number[] }>();
  for (const [player, p] of parts) {
    if (!p.eff_outcome) continue;
    const key = p.team !== null ? `team\u0000${p.team}` : `player\u0000${player}`;
    const g = groups.get(key) ?? { players: [], ranks: [] };
    g.players.push(player);
    g.ranks.push(RANK[p.eff_outcome]);
    groups.set(key, g);
  }
  if (groups.size < 2) return 'skip';
  const teams = [...groups.values()].map((g) => ({ players: g.players.sort(compareText), rank: Math.min(...g.ranks), mixed: new Set(g.ranks).size > 1 }));
  teams.sort((a, b) => a.rank - b.rank || compareText(a.players[0]!, b.players[0]!));
  return { gameType, tenant, teams: teams.map((t) => t.players), ranks: teams.map((t) => t.rank), mixed: teams.some((t) => t.mixed) };
}

export function expectSession(c: SessionCase): ExpectedSession {
  const ordered = [...c.events].sort(byPosition);
  const of = (...types: string[]) => ordered.filter((e) => types.includes(e.type));
  const created = first(of('session.created'));
  const started = first(of('session.started'));
  const end = first(of('session.finished', 'session.abandoned'));
  const seqs = new Set(ordered.map((e) => e.seq));
  let applied = 0;
  while (seqs.has(applied + 1)) applied++;
  const final = end !== null && applied >= end.seq;
  const finished = end?.type === 'session.finished';
  const before = (e: GenEvent) => end === null || byPosition(e, end) < 0;
  const turns = of('turn.result').filter((e) => before(e) && e.seq <= applied);
  const gameType = (created?.data.gameType as string | undefined) ?? null;
  // Reading: `confined` is from the first session.created, like the tenant; it confines the statistics to that tenant.
  const confined = created?.data.confined === true;
  const row: SessionRow = {
    tenant: asText(created?.data.tenant),
    confined,
    game_type: gameType,
    name: asText(created?.data.name),
    created_by: asText(created?.data.createdBy),
    created_at: created?.atUs ?? null,
    settings: last(of('session.created', 'session.started').filter((e) => e.data.settings !== undefined))?.data.settings ?? null,
    started_at: started?.atUs ?? null,
    status: end ? (finished ? 'finished' : 'abandoned') : started ? 'started' : 'created',
    ended_at: end?.atUs ?? null,
    winners: finished && Array.isArray(end.data.winners) ? end.data.winners.map(String) : null,
    final_scores: finished ? (end.data.scores ?? null) : null,
    // Reading: result is the finished event's `result`, end_reason the abandoned event's `reason`.
    result: finished ? asText(end.data.result) : null,
    end_reason: end && !finished ? asText(end.data.reason) : null,
    last_seq: Math.max(...ordered.map((e) => e.seq)),
    event_count: ordered.length,
    first_event_at: Math.min(...ordered.map((e) => e.atUs)),
    last_event_at: Math.max(...ordered.map((e) => e.atUs)),
    applied_seq: applied,
    final,
    // Every event that shares its seq with another (both of a pair), as the contract says.
    seq_conflicts: ordered.filter((e) => ordered.some((o) => o !== e && o.seq === e.seq)).length,
    lost_seqs: 0,
  };
  const parts = participants(ordered, end);
  return {
    id: c.id,
    ordered,
    end,
    row,
    state: turns.length ? foldTurns({}, turns) : null,
    finalState: final ? foldTurns({}, turns).value : null,
    finalTurns: final ? turns.length : 0,
    participants: parts,
    rating: finished && final && gameType !== null ? ratingInput(parts, gameType, confined ? row.tenant : null) : null,
    ...foldDocuments(ordered, applied),
  };
}

function addStat(stats: Map<string, StatRow>, player: string, scopes: string[], at: number | null, d: Partial<Omit<StatRow, 'best_score'>>, score: number | null = null): void {
  for (const scope of scopes) {
    const k = statKey(player, scope);
    const s = stats.get(k) ?? { games: 0, wins: 0, losses: 0, draws: 0, xp: 0, tasks: 0, fake_tasks: 0, votes: 0, last_played_at: null, best_score: null };
    for (const [f, v] of Object.entries(d)) (s as unknown as Record<string, number>)[f]! += v as number;
    if (at !== null) s.last_played_at = s.last_played_at === null ? at : Math.max(s.last_played_at, at);
    if (score !== null) s.best_score = s.best_score === null ? score : Math.max(s.best_score, score);
    stats.set(k, s);
  }
}

export function model(sessions: readonly SessionCase[]): Expected {
  const out: Expected = { sessions: new Map(), stats: new Map(), players: new Map() };
  const names = new Map<string, { at: number; names: Set<string> }>();
  for (const c of sessions) {
    const x = expectSession(c);
    out.sessions.set(c.id, x);
    // Reading: a confined session counts in its tenant's copies of the scopes, never in the global ones.
    const tenant = x.row.confined ? x.row.tenant : null;
    const scopes = (at: number) => ['all', ...(x.row.game_type !== null ? [`game:${x.row.game_type}`] : []), ...periodScopes(at)].map((s) => tenantScope(tenant, s));
    // The global players: seen in the player events of sessions that are not confined.
    if (tenant === null)
      for (const e of x.ordered) {
        if (e.player === null || !e.type.startsWith('player.')) continue;
        const p = out.players.get(e.player) ?? { first_seen_at: e.atUs, last_seen_at: e.atUs, name: null };
        p.first_seen_at = Math.min(p.first_seen_at, e.atUs);
        p.last_seen_at = Math.max(p.last_seen_at, e.atUs);
        out.players.set(e.player, p);
        if (e.data.name === undefined) continue;
        const n = names.get(e.player);
        if (!n || e.atUs > n.at) names.set(e.player, { at: e.atUs, names: new Set([String(e.data.name)]) });
        else if (e.atUs === n.at) n.names.add(String(e.data.name));
      }
    for (const [player, p] of x.participants) {
      if (p.eff_outcome && p.eff_at !== null)
        addStat(out.stats, player, scopes(p.eff_at), null, { games: 1, wins: +(p.eff_outcome === 'win'), losses: +(p.eff_outcome === 'loss'), draws: +(p.eff_outcome === 'draw'), xp: p.eff_xp ?? 0 });
      // Reading: the best score is the `score` of the player's own latest player.outcome (a finish's
      // `scores` derive an outcome but are not the player's score), in the period of that outcome's time.
      if (p.outcome !== null && p.score !== null && p.outcome_at !== null) addStat(out.stats, player, scopes(p.outcome_at), null, {}, p.score);
    }
    for (const e of x.ordered) {
      if (e.player === null) continue;
      // Reading: "last played" is, like participants.last_at, the greatest `at` of the player's
      // participant, task and vote events (in the scope's period), not the end's time of a derived outcome.
      if (e.type.startsWith('player.')) addStat(out.stats, e.player, scopes(e.atUs), e.atUs, {});
      if (e.type === 'task.completed') {
        const fake = e.data.fake === true;
        addStat(out.stats, e.player, scopes(e.atUs), e.atUs, { tasks: fake ? 0 : 1, fake_tasks: fake ? 1 : 0, xp: (e.data.xp as number | undefined) ?? 0 });
      }
      if (e.type === 'vote') addStat(out.stats, e.player, scopes(e.atUs), e.atUs, { votes: 1 });
    }
  }
  for (const [player, n] of names) out.players.get(player)!.name = n.names.size === 1 ? [...n.names][0] : undefined;
  return out;
}

export interface ReplayedRating {
  mu: number;
  sigma: number;
  rating: number;
  games: number;
}

/** OpenSkill (Plackett-Luce, the package's defaults) over rating inputs in their order, in `all` and per game (a confined session's: its tenant's). */
export function replayRatings(history: readonly { game_type: string | null; tenant: string | null; teams: string[][]; ranks: number[] }[]): Map<string, ReplayedRating> {
  const out = new Map<string, ReplayedRating>();
  for (const h of history) {
    for (const scope of ['all', ...(h.game_type !== null ? [`game:${h.game_type}`] : [])].map((s) => tenantScope(h.tenant, s))) {
      const now = h.teams.map((t) => t.map((p) => out.get(statKey(p, scope)) ?? { ...rating(), games: 0 }));
      const next = rate(now.map((t) => t.map(({ mu, sigma }) => ({ mu, sigma }))), { rank: h.ranks });
      h.teams.forEach((t, i) => t.forEach((p, j) => {
        const r = next[i]![j]!;
        out.set(statKey(p, scope), { mu: r.mu, sigma: r.sigma, rating: ordinal(r), games: now[i]![j]!.games + 1 });
      }));
    }
  }
  return out;
}
