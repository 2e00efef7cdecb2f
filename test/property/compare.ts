/**
 * Compares what the workers stored with what the model says, session by session: the `sessions` row,
 * `session_states`, recovery (snapshot + tail) and replay, the final snapshot, participants, player
 * stats, ratings, exactly-once storage and dead letters. Every difference names the session (or
 * player and scope), what differs, and the expected and actual values; times are shown as ISO text
 * with microseconds, JSON as values (compared as RFC 8785 text, never with toEqual).
 */
import type pg from 'pg';
import { FAMILY_TABLES } from '../../src/db/families.ts';
import { recoverSessions, replay, type Reader } from '../../src/index.ts';
import type { GenEvent, RunCase } from './arbitraries.ts';
import { type JsonObject, canon, cloneJson, hasKey, pgTimeToUs, sameJson, sha256Canon, usToIso } from './json.ts';
import { type Expected, type ExpectedSession, byPosition, docKey, foldTurns, outcomeOf, replayRatings, statKey } from './model.ts';

export interface Difference {
  /** The session id (null for a player's stats or a run-level problem). */
  session: string | null;
  /** What differs, e.g. `sessions.game_type`, `participants.eff_outcome`, `player_stats.wins`. */
  what: string;
  expected: unknown;
  actual: unknown;
  player?: string;
  scope?: string;
  event?: string;
  /** What is unusual about the session (late-created, conflict, after-end ...), to tell kinds apart. */
  features?: string;
}

export class Differences {
  readonly list: Difference[] = [];
  readonly #schemaSeen = new Set<string>();
  add(d: Difference): void {
    this.list.push(d);
  }
  /** A column the model expects is not in the schema: reported once, not per row. */
  missingColumn(table: string, column: string): void {
    if (this.#schemaSeen.has(`${table}.${column}`)) return;
    this.#schemaSeen.add(`${table}.${column}`);
    this.add({ session: null, what: `schema.${table}.${column}`, expected: 'a column', actual: 'missing' });
  }
}

export interface CompareInput {
  db: pg.Client;
  reader: Reader;
  run: RunCase;
  expected: Expected;
  /** Ids (lower case) of the contract-breaking variants that were sent. */
  refusedSent: Set<string>;
  winRateMinGames: number;
  log: (line: string) => void;
}

const TIME = new Set(['first_seen_at', 'last_seen_at', 'created_at', 'started_at', 'ended_at', 'first_event_at', 'last_event_at', 'joined_at', 'last_joined_at', 'left_at', 'outcome_at', 'eff_at', 'last_at', 'last_played_at']);
const JSONCOLS = new Set(['settings', 'winners', 'final_scores']);

function features(x: ExpectedSession): string {
  const f = new Set(x.ordered.map((e) => e.note).filter((n): n is string => !!n));
  return [...f].sort().join(',');
}

/** Shows a value of `column` readably: times as ISO text. */
function show(column: string, v: unknown): unknown {
  if (TIME.has(column)) return typeof v === 'number' ? usToIso(v) : v === null || v === undefined ? null : usToIso(pgTimeToUs(v));
  return v === undefined ? null : v;
}

/** A whole expected row, times as ISO text. */
function showRow(row: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, show(k, v)]));
}

function same(column: string, want: unknown, got: unknown): boolean {
  if (TIME.has(column)) return (want ?? null) === pgTimeToUs(got);
  if (JSONCOLS.has(column)) return sameJson(want ?? null, got ?? null);
  if (typeof want === 'number' && typeof got === 'number') return Math.abs(want - got) <= 1e-9 * Math.max(1, Math.abs(want));
  if (typeof want === 'number' && typeof got === 'string') return want === Number(got);
  return (want ?? null) === (got ?? null);
}

async function columns(db: pg.Client): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  const r = await db.query(`select table_name, column_name from information_schema.columns where table_schema = 'public'`);
  for (const { table_name, column_name } of r.rows) {
    if (!out.has(table_name)) out.set(table_name, new Set());
    out.get(table_name)!.add(column_name);
  }
  return out;
}

async function all(db: pg.Client, sql: string): Promise<Record<string, any>[]> {
  return (await db.query(sql)).rows.map((r) => r.j);
}

/**
 * The event as stored and replayed: `lose` as `loss`, integer teams and vote targets as text (they are
 * kept in text columns); everything else exactly as sent.
 */
export function storedData(e: GenEvent): JsonObject {
  const d = cloneJson(e.data);
  if (e.type === 'vote' && typeof d.target === 'number') d.target = String(d.target);
  if (e.type === 'player.outcome' && d.outcome !== undefined) d.outcome = outcomeOf(d.outcome);
  if ((e.type === 'player.joined' || e.type === 'player.outcome') && d.team !== undefined) d.team = String(d.team);
  return d;
}

async function compareSessions(c: CompareInput, out: Differences, cols: Map<string, Set<string>>): Promise<void> {
  const sessionCols = cols.get('sessions') ?? new Set();
  const rows = new Map((await all(c.db, 'select to_json(s) as j from sessions s')).map((r) => [r.id as string, r]));
  const states = new Map((await all(c.db, 'select to_json(s) as j from session_states s')).map((r) => [r.session_id as string, r]));
  const finals = new Map(
    (await all(c.db, 'select to_json(x) as j from (select distinct on (session_id) session_id, seq, state, hash from session_snapshots where final order by session_id, seq desc) x')).map((r) => [r.session_id as string, r]),
  );
  for (const x of c.expected.sessions.values()) {
    const base = { session: x.id, features: features(x) };
    const a = rows.get(x.id);
    if (!a) {
      out.add({ ...base, what: 'sessions.missing', expected: 'a row', actual: null });
      continue;
    }
    for (const [col, want] of Object.entries(x.row)) {
      if (col === 'final') {
        if (!sessionCols.has('final_at')) out.missingColumn('sessions', 'final_at');
        else if ((a.final_at !== null) !== want) out.add({ ...base, what: 'sessions.final', expected: want, actual: a.final_at !== null });
        continue;
      }
      if (!sessionCols.has(col)) {
        out.missingColumn('sessions', col);
        continue;
      }
      if (!same(col, want, a[col])) out.add({ ...base, what: `sessions.${col}`, expected: show(col, want), actual: show(col, a[col]) });
    }
    // The live state: the fold of the turn results before the end.
    const st = states.get(x.id);
    if (!x.state) {
      if (st && canon(st.state) !== '{}') out.add({ ...base, what: 'session_states.state', expected: null, actual: st.state });
    } else if (!st) out.add({ ...base, what: 'session_states.missing', expected: x.state.value, actual: null });
    else {
      if (!sameJson(x.state.value, st.state)) out.add({ ...base, what: 'session_states.state', expected: x.state.value, actual: st.state });
      if (Number(st.seq) !== x.state.seq) out.add({ ...base, what: 'session_states.seq', expected: x.state.seq, actual: st.seq });
      if ((st.turn ?? null) !== x.state.turn) out.add({ ...base, what: 'session_states.turn', expected: x.state.turn, actual: st.turn });
    }
    // The final snapshot: taken once the session is final, hashed by the workers' jobs.
    const fin = finals.get(x.id);
    if (x.finalState) {
      // Reading: a session that never had a turn result has no state to snapshot; a final snapshot is optional then.
      if (!fin) {
        if (x.finalTurns > 0) out.add({ ...base, what: 'snapshot.final.missing', expected: x.finalState, actual: null });
      } else {
        if (!sameJson(x.finalState, fin.state)) out.add({ ...base, what: 'snapshot.final.state', expected: x.finalState, actual: fin.state });
        if (fin.hash !== sha256Canon(fin.state)) out.add({ ...base, what: 'snapshot.final.hash', expected: sha256Canon(fin.state), actual: fin.hash });
      }
    } else if (fin) out.add({ ...base, what: 'snapshot.final.unexpected', expected: null, actual: { seq: fin.seq, state: fin.state } });
  }
  for (const id of rows.keys()) if (!c.expected.sessions.has(id)) out.add({ session: id, what: 'sessions.unexpected', expected: null, actual: rows.get(id) });
  // Every snapshot that exists must carry the hash of its state.
  const bad = await all(c.db, 'select to_json(x) as j from (select session_id, seq, hash, state from session_snapshots) x');
  for (const s of bad) if (s.hash !== sha256Canon(s.state)) out.add({ session: s.session_id, what: 'snapshot.hash', expected: sha256Canon(s.state), actual: s.hash, event: `seq ${s.seq}` });
}

function wireOf(e: GenEvent) {
  // Replay gives `at` as stored: UTC, to the microsecond.
  return { id: e.id, type: e.type, seq: e.seq, at: usToIso(e.atUs), player: e.player, data: storedData(e) };
}

/** Keys the contract documents as defaults, which a replay built from typed columns may fill in. */
function documentedDefault(type: string, key: string, value: unknown, data: JsonObject): boolean {
  if (type === 'task.completed') return (key === 'xp' && value === 0) || (key === 'fake' && value === false);
  if (type === 'agent.log')
    return (key === 'promptChars' && typeof data.prompt === 'string' && value === data.prompt.length) || (key === 'responseChars' && typeof data.response === 'string' && value === data.response.length);
  return false;
}

function compareReplay(x: ExpectedSession, got: Record<string, any>[], out: Differences, base: { session: string; features: string }): void {
  const want = x.ordered.map(wireOf);
  const label = (e: Record<string, any>) => `${e.seq} ${e.type} ${e.id}`;
  if (canon(want.map(label)) !== canon(got.map(label))) out.add({ ...base, what: 'replay.events', expected: want.map(label), actual: got.map(label) });
  const byId = new Map(got.map((g) => [g.id as string, g]));
  for (const w of want) {
    const g = byId.get(w.id);
    if (!g) continue;
    for (const f of ['player', 'at'] as const) if ((w[f] ?? null) !== (g[f] ?? null)) out.add({ ...base, what: `replay.${f}`, expected: w[f], actual: g[f], event: `${w.seq} ${w.type} ${w.id}` });
    if (sameJson(w.data, g.data)) continue;
    const extra = isObjectLike(g.data) ? Object.keys(g.data).filter((k) => !hasKey(w.data, k)) : [];
    const onlyDefaults =
      isObjectLike(g.data) && extra.length > 0 && extra.every((k) => documentedDefault(w.type, k, g.data[k], w.data)) && sameJson(w.data, Object.fromEntries(Object.entries(g.data).filter(([k]) => !extra.includes(k))));
    // The contract documents these defaults of typed fields (a task's xp 0 and fake false, an agent log's
    // character counts): filled in, they are the stored form, not a difference.
    if (onlyDefaults) continue;
    out.add({ ...base, what: 'replay.data', expected: w.data, actual: g.data, event: `${w.seq} ${w.type} ${w.id}` });
  }
}

const isObjectLike = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Recovery (snapshot + tail folds to the live state) and replay (the events as sent), a session at a time. */
async function compareHistories(c: CompareInput, out: Differences): Promise<void> {
  const xs = [...c.expected.sessions.values()];
  let done = 0;
  const work = async (batch: ExpectedSession[]) => {
    const recs = await recoverSessions(c.reader, batch.map((x) => x.id));
    const byId = new Map(recs.map((r) => [r.session.id, r]));
    for (const x of batch) {
      const base = { session: x.id, features: features(x) };
      const rec = byId.get(x.id);
      if (!rec) {
        out.add({ ...base, what: 'recovery.missing', expected: 'a session', actual: null });
        continue;
      }
      if (rec.snapshotsSkipped.length) out.add({ ...base, what: 'recovery.snapshotsSkipped', expected: [], actual: rec.snapshotsSkipped });
      const from = rec.snapshot?.seq ?? 0;
      const wantTail = x.ordered.filter((e) => e.seq > from).map((e) => e.id);
      const gotTail = rec.tail.map((e) => e.id);
      if (canon(wantTail) !== canon(gotTail)) out.add({ ...base, what: 'recovery.tail', expected: wantTail, actual: gotTail, event: `after seq ${from}` });
      const turns = rec.tail.filter((e) => e.type === 'turn.result' && (x.end === null || byPosition(e, x.end) < 0) && e.seq <= x.row.applied_seq);
      const folded = foldTurns((rec.snapshot?.value as JsonObject | undefined) ?? {}, turns as { seq: number; data: JsonObject }[]).value;
      const live = x.state?.value ?? {};
      if (!sameJson(live, folded)) out.add({ ...base, what: 'recovery.snapshot+tail', expected: live, actual: folded, event: `snapshot at seq ${from}` });
      for (const [player, p] of x.participants) {
        const rp = rec.participants.find((r) => r.playerId === player);
        if (rp && rp.present !== p.present) out.add({ ...base, player, what: 'recovery.participants.present', expected: p.present, actual: rp.present });
      }
      const got: Record<string, unknown>[] = [];
      for await (const e of replay(c.reader, x.id)) got.push(e as unknown as Record<string, unknown>);
      compareReplay(x, got, out, base);
    }
    done += batch.length;
  };
  const batches: ExpectedSession[][] = [];
  for (let i = 0; i < xs.length; i += 50) batches.push(xs.slice(i, i + 50));
  let next = 0;
  let lastLog = Date.now();
  await Promise.all(
    Array.from({ length: 3 }, async () => {
      while (next < batches.length) {
        await work(batches[next++]!);
        if (Date.now() - lastLog > 5000) {
          lastLog = Date.now();
          c.log(`compared histories of ${done}/${xs.length} sessions`);
        }
      }
    }),
  );
}

async function compareParticipants(c: CompareInput, out: Differences, cols: Map<string, Set<string>>): Promise<void> {
  const pc = cols.get('session_participants') ?? new Set();
  const rows = new Map((await all(c.db, 'select to_json(p) as j from session_participants p')).map((r) => [`${r.session_id}\u0000${r.player_id}`, r]));
  const seen = new Set<string>();
  for (const x of c.expected.sessions.values()) {
    for (const [player, p] of x.participants) {
      const key = `${x.id}\u0000${player}`;
      seen.add(key);
      const base = { session: x.id, player, features: features(x) };
      const a = rows.get(key);
      if (!a) {
        out.add({ ...base, what: 'participants.missing', expected: showRow(p), actual: null });
        continue;
      }
      for (const [col, want] of Object.entries(p)) {
        if (!pc.has(col)) out.missingColumn('session_participants', col);
        else if (!same(col, want, a[col])) out.add({ ...base, what: `participants.${col}`, expected: show(col, want), actual: show(col, a[col]) });
      }
    }
  }
  for (const [key, a] of rows) if (!seen.has(key)) out.add({ session: a.session_id, player: a.player_id, what: 'participants.unexpected', expected: null, actual: a });
}

const STAT_COLS = ['games', 'wins', 'losses', 'draws', 'xp', 'tasks', 'fake_tasks', 'votes', 'last_played_at', 'best_score'] as const;
/** Columns that are null when nothing counts in them. */
const NULLABLE_STATS = new Set<string>(['last_played_at', 'best_score']);

async function compareStats(c: CompareInput, out: Differences, stats: Record<string, any>[]): Promise<void> {
  const rows = new Map(stats.map((r) => [statKey(r.player_id, r.scope), r]));
  for (const [key, want] of c.expected.stats) {
    const [player, scope] = key.split('\u0000') as [string, string];
    const a = rows.get(key);
    if (!a && want.best_score === null && STAT_COLS.every((col) => NULLABLE_STATS.has(col) || want[col] === 0)) continue;
    if (!a) {
      out.add({ session: null, player, scope, what: 'player_stats.missing', expected: showRow(want), actual: null });
      continue;
    }
    for (const col of STAT_COLS) if (!same(col, want[col], a[col])) out.add({ session: null, player, scope, what: `player_stats.${col}`, expected: show(col, want[col]), actual: show(col, a[col]) });
    const rate = want.games >= c.winRateMinGames ? want.wins / want.games : null;
    if (!same('win_rate', rate, a.win_rate)) out.add({ session: null, player, scope, what: 'player_stats.win_rate', expected: rate, actual: a.win_rate });
  }
  for (const [key, a] of rows) {
    if (c.expected.stats.has(key)) continue;
    // A contribution that moved away (a corrected outcome in another period) may leave a row of zeros.
    if (a.best_score !== null || STAT_COLS.some((col) => !NULLABLE_STATS.has(col) && Number(a[col]) !== 0)) out.add({ session: null, player: a.player_id, scope: a.scope, what: 'player_stats.unexpected', expected: null, actual: a });
  }
}

async function compareRatings(c: CompareInput, out: Differences, cols: Map<string, Set<string>>, stats: Record<string, any>[]): Promise<{ stale: number }> {
  const rated = await all(c.db, 'select to_json(r) as j from rated_sessions r order by ord');
  const hasStale = cols.get('sessions')?.has('rating_stale') ?? false;
  const stale = hasStale ? new Set((await c.db.query('select id from sessions where rating_stale')).rows.map((r) => r.id as string)) : new Set<string>();
  const byId = new Map(rated.map((r) => [r.session_id as string, r]));
  let staleCount = 0;
  for (const x of c.expected.sessions.values()) {
    const base = { session: x.id, features: features(x) };
    const r = byId.get(x.id);
    if (x.rating === null) {
      if (r && r.skipped === null) out.add({ ...base, what: 'rated_sessions.unexpected', expected: null, actual: { teams: r.teams, ranks: r.ranks } });
      continue;
    }
    if (!r) {
      // Reading: a session with fewer than two teams may be recorded as skipped or not at all.
      if (x.rating !== 'skip') out.add({ ...base, what: 'rated_sessions.missing', expected: { teams: x.rating.teams, ranks: x.rating.ranks }, actual: null });
      continue;
    }
    if (stale.has(x.id)) staleCount++;
    if (x.rating === 'skip') {
      if (r.skipped === null && !stale.has(x.id)) out.add({ ...base, what: 'rated_sessions.input', expected: 'skipped (fewer than two teams)', actual: { teams: r.teams, ranks: r.ranks } });
      continue;
    }
    // A game type or confinement that changed after rating (a late, earlier session.created) is a stale input too.
    if (r.game_type !== x.rating.gameType && !stale.has(x.id)) out.add({ ...base, what: 'rated_sessions.game_type', expected: x.rating.gameType, actual: r.game_type });
    if ((r.tenant ?? null) !== x.rating.tenant && !stale.has(x.id)) out.add({ ...base, what: 'rated_sessions.tenant', expected: x.rating.tenant, actual: r.tenant ?? null });
    const want = { teams: x.rating.teams, ranks: x.rating.ranks };
    const got = { teams: r.teams, ranks: r.ranks, skipped: r.skipped };
    const equal = r.skipped === null && sameJson(want.teams, r.teams) && sameJson(want.ranks, r.ranks) && r.game_type === x.rating.gameType && (r.tenant ?? null) === x.rating.tenant;
    // A session rated before its input was complete is documented as stale (sessions.rating_stale).
    if (!equal && !stale.has(x.id)) out.add({ ...base, what: x.rating.mixed ? 'rated_sessions.input (team with mixed results)' : 'rated_sessions.input', expected: want, actual: got });
    if (equal && stale.has(x.id)) out.add({ ...base, what: 'sessions.rating_stale', expected: false, actual: true });
  }
  for (const r of rated) if (!c.expected.sessions.has(r.session_id)) out.add({ session: r.session_id, what: 'rated_sessions.unexpected', expected: null, actual: r });
  // The stored ratings are OpenSkill over the stored inputs, in rating order.
  const replayed = replayRatings(rated.filter((r) => r.skipped === null && Array.isArray(r.teams)) as { game_type: string | null; tenant: string | null; teams: string[][]; ranks: number[] }[]);
  const rows = new Map(stats.map((r) => [statKey(r.player_id, r.scope), r]));
  for (const [key, want] of replayed) {
    const [player, scope] = key.split('\u0000') as [string, string];
    const a = rows.get(key);
    const got = a ? { mu: a.mu, sigma: a.sigma, rating: a.rating, rated_games: a.rated_games } : null;
    const ok = a && same('mu', want.mu, a.mu) && same('sigma', want.sigma, a.sigma) && same('rating', want.rating, a.rating) && want.games === a.rated_games;
    if (!ok) out.add({ session: null, player, scope, what: 'ratings.replay', expected: { mu: want.mu, sigma: want.sigma, rating: want.rating, rated_games: want.games }, actual: got });
  }
  for (const a of stats)
    if ((a.rated_games ?? 0) > 0 && !replayed.has(statKey(a.player_id, a.scope)))
      out.add({ session: null, player: a.player_id, scope: a.scope, what: 'ratings.unexpected', expected: null, actual: { mu: a.mu, rating: a.rating, rated_games: a.rated_games } });
  return { stale: staleCount };
}

/** The global players: exactly those of the sessions that are not confined, first and last seen, and their latest name. */
async function comparePlayers(c: CompareInput, out: Differences): Promise<void> {
  const rows = new Map((await all(c.db, 'select to_json(p) as j from players p')).map((r) => [r.id as string, r]));
  for (const [player, want] of c.expected.players) {
    const a = rows.get(player);
    if (!a) {
      out.add({ session: null, player, what: 'players.missing', expected: showRow(want), actual: null });
      continue;
    }
    for (const col of ['first_seen_at', 'last_seen_at'] as const)
      if (!same('last_at', want[col], a[col])) out.add({ session: null, player, what: `players.${col}`, expected: usToIso(want[col]), actual: a[col] });
    if (want.name !== undefined && want.name !== a.name) out.add({ session: null, player, what: 'players.name', expected: want.name, actual: a.name });
  }
  // Confined sessions name no global player.
  for (const [id, a] of rows) if (!c.expected.players.has(id)) out.add({ session: null, player: id, what: 'players.unexpected', expected: null, actual: a });
}

/** The tables a session's events land in (the property cases send no join-queue events). */
export const SESSION_EVENT_TABLES = Object.values(FAMILY_TABLES).filter((t) => t.key === 'session_id').map((t) => t.table);

/** Every event stored exactly once, in the table of its type; every refused variant dead-lettered, nothing else. */
async function compareStorage(c: CompareInput, out: Differences): Promise<void> {
  const stored = new Map<string, { type: string; n: number }>();
  for (const t of SESSION_EVENT_TABLES) {
    const r = await c.db.query(`select session_id, id::text as id, type from ${t}`);
    for (const row of r.rows) {
      const k = `${row.session_id}\u0000${row.id}`;
      const s = stored.get(k);
      if (s) s.n++;
      else stored.set(k, { type: row.type, n: 1 });
    }
  }
  const want = new Set<string>();
  for (const x of c.expected.sessions.values()) {
    for (const e of x.ordered) {
      const k = `${x.id}\u0000${e.id}`;
      want.add(k);
      const s = stored.get(k);
      if (!s) out.add({ session: x.id, what: 'stored.missing', expected: e.type, actual: null, event: e.id, features: features(x) });
      else if (s.n > 1 || s.type !== e.type) out.add({ session: x.id, what: 'stored.count', expected: { type: e.type, rows: 1 }, actual: { type: s.type, rows: s.n }, event: e.id });
    }
  }
  for (const [k, s] of stored) if (!want.has(k)) out.add({ session: k.split('\u0000')[0]!, what: 'stored.unexpected', expected: null, actual: s, event: k.split('\u0000')[1] });
  const dead = (await c.db.query('select event_id, session_id, reason_code, field, reason from dead_letters')).rows;
  const deadIds = new Set(dead.map((d) => String(d.event_id ?? '').toLowerCase()));
  for (const id of c.refusedSent) if (!deadIds.has(id)) out.add({ session: null, what: 'dead_letters.missing', expected: 'invalid_event', actual: null, event: id });
  for (const d of dead)
    if (!c.refusedSent.has(String(d.event_id ?? '').toLowerCase()) || d.reason_code !== 'invalid_event')
      out.add({ session: d.session_id, what: 'dead_letters.unexpected', expected: null, actual: { code: d.reason_code, field: d.field, reason: d.reason }, event: d.event_id });
}

/** Documents and the outcome of every doc event, against the fold of the doc events in position order. */
async function compareDocuments(c: CompareInput, out: Differences): Promise<void> {
  const docs = new Map<string, Map<string, Record<string, any>>>();
  for (const r of await all(c.db, 'select to_json(d) as j from documents d')) {
    const m = docs.get(r.session_id) ?? new Map();
    m.set(docKey(r.owner, r.collection, r.key), r);
    docs.set(r.session_id, m);
  }
  const outcomes = new Map((await all(c.db, "select json_build_object('id', id::text, 'outcome', outcome, 'version', version) as j from document_events")).map((r) => [r.id as string, r]));
  for (const x of c.expected.sessions.values()) {
    const base = { session: x.id, features: features(x) };
    const got = docs.get(x.id) ?? new Map<string, Record<string, any>>();
    for (const [k, want] of x.documents) {
      const a = got.get(k);
      if (!a) out.add({ ...base, what: 'documents.missing', expected: { key: k, ...want }, actual: null });
      else if (!sameJson(want.value, a.value) || a.version !== want.version || Number(a.seq) !== want.seq || a.event_id !== want.id)
        out.add({ ...base, what: 'documents.row', expected: { key: k, ...want }, actual: { value: a.value, version: a.version, seq: Number(a.seq), id: a.event_id } });
    }
    for (const k of got.keys()) if (!x.documents.has(k)) out.add({ ...base, what: 'documents.unexpected', expected: null, actual: got.get(k) });
    for (const e of x.ordered) {
      if (e.type !== 'doc.put' && e.type !== 'doc.delete') continue;
      const want = x.docOutcomes.get(e.id) ?? { outcome: null, version: null };
      const a = outcomes.get(e.id);
      if (!a || a.outcome !== want.outcome || a.version !== want.version) out.add({ ...base, what: 'document_events.outcome', expected: want, actual: a ?? null, event: e.id });
    }
  }
}

export async function compareRun(c: CompareInput): Promise<{ differences: Difference[]; staleRatings: number }> {
  const out = new Differences();
  await c.db.query(`set time zone 'UTC'`);
  const cols = await columns(c.db);
  c.log('comparing sessions, states and snapshots');
  await compareSessions(c, out, cols);
  c.log('comparing documents');
  await compareDocuments(c, out);
  c.log('comparing participants');
  await compareParticipants(c, out, cols);
  const stats = await all(c.db, 'select to_json(p) as j from player_stats p');
  c.log(`comparing ${stats.length} player_stats rows and ratings`);
  await compareStats(c, out, stats);
  const { stale } = await compareRatings(c, out, cols, stats);
  c.log('comparing players');
  await comparePlayers(c, out);
  c.log('comparing storage and dead letters');
  await compareStorage(c, out);
  c.log('comparing recovery and replay');
  await compareHistories(c, out);
  return { differences: out.list, staleRatings: stale };
}
