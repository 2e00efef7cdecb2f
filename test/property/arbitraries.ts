/**
 * fast-check arbitraries of whole game sessions, every event family, as a game server (or a careless
 * one) sends them: late and doubled `session.created`, full states and RFC 7396 patches with deletions,
 * nested objects, arrays and unusual keys, joins/leaves/re-joins, outcomes with corrections (some after
 * the end), tasks, votes (null = skip), chat, agent calls, moves, every kind of end (winners by player
 * or team, scores only, abandoned, two ends, none), events after the end, and now and then a second
 * event reusing a seq. Outcomes are sometimes `lose` (stored as `loss`) and numbered teams sometimes
 * integers (stored as text). A few events are also sent once in a contract-breaking form with the same
 * id and seq (outcome `victory`, position -1): the worker must dead-letter those and keep the valid one.
 *
 * Times start from a fixed date (nothing depends on the wall clock): sessions spread over
 * 2030-01-28 .. 2030-02-04 UTC, across the end of January and the ISO week starting Monday 4 February.
 * Players come from one pool so stats and ratings of different sessions interact.
 *
 * `runCase(seed, n)` draws everything with `fc.sample(..., { seed })`: one seed, the same sessions and
 * the same delivery seed.
 */
import fc from 'fast-check';
import { Draw, formatAt } from './content.ts';
import { type Draft, draftSession } from './drafts.ts';
import type { JsonObject } from './json.ts';

/** Thursday 2030-01-31 22:00 UTC: January ends two hours later, the next ISO week on Monday 4 February. */
export const BASE_MS = Date.UTC(2030, 0, 31, 22);

export interface WireEvent {
  v?: 1;
  id: string;
  type: string;
  sessionId: string | number;
  seq: number;
  at: string;
  player?: string | number;
  data: JsonObject;
}

export interface Player {
  /** The id as stored (text). */
  text: string;
  /** How it is usually sent (an integer for numeric ids). */
  wire: string | number;
}

/** One event as the model sees it, plus the wire forms it is sent in. */
export interface GenEvent {
  /** Lower case, as stored. */
  id: string;
  type: string;
  seq: number;
  /** The instant PostgreSQL stores (microseconds since the epoch). */
  atUs: number;
  player: string | null;
  data: JsonObject;
  /** forms[0] is the first send; the others are the same event (id in another case, integer ids as text) for re-sends. */
  forms: WireEvent[];
  /** A contract-breaking version with the same id and seq, sent once besides: it must be dead-lettered. */
  refused?: WireEvent;
  /** Why the generator put it there (for readable differences): conflict, late-created, after-end ... */
  note?: string;
}

export interface SessionCase {
  index: number;
  /** The session id as stored (text). */
  id: string;
  events: GenEvent[];
}

export interface RunCase {
  seed: number;
  players: Player[];
  sessions: SessionCase[];
  /** Seeds the delivery plan (shuffle, duplicates, job sizes, kill points). */
  deliverySeed: number;
}

/** The shared pool: plain ids, integers (sent as numbers or as text: the same player), unicode, dots. */
export function playerPool(size: number): Player[] {
  return Array.from({ length: size }, (_, j) => {
    switch (j % 7) {
      case 0:
        return { text: String(100 + j), wire: 100 + j };
      case 1:
        return { text: `jörg${j}`, wire: `jörg${j}` };
      case 2:
        return { text: `p.${j}`, wire: `p.${j}` };
      default:
        return { text: `p${j}`, wire: `p${j}` };
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Seqs, times, ids and wire forms.

type IdStyle = 'text' | 'int' | 'unicode' | 'dotted' | 'long';

interface ShapedEvent {
  draft: Draft;
  seq: number;
  at: string;
  atUs: number;
  /** The id's first 32 bits: they decide the order of two events at one seq. */
  idHi: number;
  upper: boolean;
  sidText: boolean;
  playerText: boolean;
  v: boolean;
}

export interface SessionShape {
  idStyle: IdStyle;
  events: ShapedEvent[];
}

function shapeSession(d: Draw, pool: Player[]): SessionShape {
  const drafts = draftSession(d, pool);
  const idStyle = d.weighted([['text', 50], ['int', 15], ['unicode', 15], ['dotted', 10], ['long', 10]] as const);
  const seqOf = new Map<Draft, number>();
  let seq = 0;
  for (const dr of drafts) if (!dr.conflictOf) seqOf.set(dr, ++seq);
  const seqFor = (dr: Draft): number => (dr.conflictOf ? seqFor(dr.conflictOf) : seqOf.get(dr)!);
  // Clocks disagree: mostly forward in small steps, some events share a time, some go back a little.
  let t = (BASE_MS + d.int(-3 * 86_400, 4 * 86_400) * 1000) * 1000 + d.int(0, 999_999);
  const atOf = new Map<Draft, number>();
  for (const dr of drafts) {
    if (dr.conflictOf) continue;
    const step = d.weighted([[0, 15], [d.int(1, 30), 50], [d.int(30, 600), 30], [d.int(600, 3600), 5]] as const);
    t += step * 1e6 + (step ? d.int(0, 999_999) : 0);
    atOf.set(dr, d.chance(0.1) ? t - d.int(1, 300) * 1e6 : t);
  }
  const atFor = (dr: Draft): number => (dr.conflictOf ? atFor(dr.conflictOf) + d.int(-5, 5) * 1e6 : atOf.get(dr)!);
  const events = drafts.map((draft) => {
    const { text, us } = formatAt(d, atFor(draft));
    return { draft, seq: seqFor(draft), at: text, atUs: us, idHi: d.int(0, 0xffff) * 0x10000 + d.int(0, 0xffff), upper: d.chance(0.08), sidText: d.chance(0.3), playerText: d.chance(0.3), v: d.chance(0.05) };
  });
  return { idStyle, events };
}

/** Whole sessions (without their session id and event ids, which depend on the session's index). */
export function sessionShapeArb(pool: Player[]): fc.Arbitrary<SessionShape> {
  return fc.gen().map((g) => shapeSession(new Draw(g), pool));
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0').slice(-width);

/** A UUID unique in the run (session index, event index, run salt); its first 32 bits are random. */
function eventId(idHi: number, session: number, k: number, salt: number): string {
  return `${hex(idHi >>> 0, 8)}-${hex((session >>> 12) & 0xffff, 4)}-7${hex(session & 0xfff, 3)}-${hex(0x8000 | (k & 0x3fff), 4)}-${hex(salt, 12)}`;
}

export function finalizeSession(shape: SessionShape, index: number, salt: number): SessionCase {
  const int = 5_000_000 + index;
  const text = { text: `ps-${index}`, int: String(int), unicode: `комната-${index}-🎲`, dotted: `room.${index}.v2`, long: `L${index}-`.padEnd(128, 'x') }[shape.idStyle];
  const sid = (asText: boolean): string | number => (shape.idStyle === 'int' && !asText ? int : text);
  const events = shape.events.map((e, k): GenEvent => {
    const { type, player, data: body, refused, note } = e.draft;
    const id = eventId(e.idHi, index, k, salt);
    const form = (upper: boolean, sidText: boolean, playerText: boolean): WireEvent => ({
      ...(e.v ? { v: 1 as const } : {}),
      id: upper ? id.toUpperCase() : id,
      type,
      sessionId: sid(sidText),
      seq: e.seq,
      at: e.at,
      ...(player ? { player: playerText ? player.text : player.wire } : {}),
      data: body,
    });
    const first = form(e.upper, e.sidText, e.playerText);
    return {
      id,
      type,
      seq: e.seq,
      atUs: e.atUs,
      player: player?.text ?? null,
      data: body,
      forms: [first, form(!e.upper, !e.sidText, !e.playerText)],
      ...(refused ? { refused: { ...first, data: refused } } : {}),
      ...(note ? { note } : {}),
    };
  });
  return { index, id: text, events };
}

/** The pool size for a run: enough players to spread the games, few enough that they meet often. */
export const poolSize = (sessions: number) => Math.max(12, Math.min(800, Math.round(sessions / 4)));

/** Everything one seed decides: the sessions, the player pool and the delivery seed. */
export function runCase(seed: number, sessions: number): RunCase {
  const header = fc.record({ deliverySeed: fc.noBias(fc.integer({ min: 0, max: 2 ** 31 - 1 })), salt: fc.noBias(fc.integer({ min: 0, max: 2 ** 31 - 1 })) });
  const [{ deliverySeed, salt }] = fc.sample(header, { seed, numRuns: 1 }) as [{ deliverySeed: number; salt: number }];
  const players = playerPool(poolSize(sessions));
  const shapes = sessions > 0 ? fc.sample(sessionShapeArb(players), { seed, numRuns: sessions }) : [];
  return { seed, players, sessions: shapes.map((s, i) => finalizeSession(s, i, salt)), deliverySeed };
}
