/**
 * Liap Tui (seed 001): four players, eight pieces each. A round: the deal (a player with a weak hand
 * may ask for a redeal, which doubles the round's multiplier), the declarations (each player says how
 * many piles they will capture; the four may not add up to 8), then turns until the hands are empty:
 * the leader plays a valid play of 1–5 pieces, the others answer with as many, the best answer of the
 * leader's kind wins the turn and captures that many piles and leads next. Scoring: declared = captured
 * scores declared + 5 (3 for a kept zero), else minus the difference, times the multiplier. The game
 * ends when a player reaches the winning score, or after the last round; the highest score wins.
 *
 * What game-persist keeps (seed tables → events): games.current_phase/phase_data, game_players'
 * hands, declared and captured piles → the live state (a full `turn.result` per deal, merge patches
 * per turn); turns (leader, required count, plays, winner, piles) → each turn's `turn.result` results;
 * player_actions (declare, redeal, play) → `move`s, the ordered replay; rounds (multiplier, redeal,
 * round data) → `x.liap-tui.round`; players' games, wins and best score → `player.outcome`s.
 */
import { GameRuleError } from '../lib/errors.ts';
import { drawSeats, topScorers } from '../lib/players.ts';
import { event, type Commit, type Ending, type GameEvent, type SessionContext, type SessionGame, type SessionSetup, type Step } from '../lib/session-game.ts';
import { DECK, isWeak, playType, points, validPlays, value, without } from './pieces.ts';

type Phase = 'PREPARATION' | 'REDEAL' | 'DECLARATION' | 'TURN' | 'SCORING' | 'GAME_OVER';

export interface LiapState {
  phase: Phase;
  round: number;
  multiplier: number;
  /** Redeals asked for this round (at most MAX_REDEALS). */
  redeals: number;
  /** Player ids by seat. */
  seats: string[];
  scores: Record<string, number>;
  hands: Record<string, string[]>;
  /** Seat that declares first and leads the round's first turn. */
  starter: number;
  declared: Record<string, number>;
  captured: Record<string, number>;
  /** Turns played this round, and in the whole game (the turn results' `turn`). */
  turn: number;
  turns: number;
  /** Seat leading the turn in progress. */
  leader: number;
  plays: { player: string; pieces: string[] }[];
  /** The round's x.liap-tui.round record was sent (SCORING). */
  roundLogged: boolean;
  winningScore: number;
  maxRounds: number;
  winners: string[];
}

const POOL = ['Anong', 'Bao', 'Chai', 'Dara', 'Ekkachai', 'Fon'];
const MAX_REDEALS = 2;
const SIZES = { test: { winningScore: 10, maxRounds: 2 }, demo: { winningScore: 30, maxRounds: 8 } };

/** A round's score for one player, before the multiplier. */
export function roundScore(declared: number, captured: number): number {
  if (declared !== captured) return -Math.abs(declared - captured);
  return declared === 0 ? 3 : declared + 5;
}

function deal(ctx: SessionContext, seats: string[], round: number, redeals: number): Record<string, string[]> {
  const deck = ctx.rng('deal', round, redeals).shuffle(DECK);
  const byPoints = (a: string, b: string) => points(b) - points(a) || a.localeCompare(b);
  return Object.fromEntries(seats.map((p, i) => [p, deck.slice(i * 8, i * 8 + 8).sort(byPoints)]));
}

const seatOf = (s: LiapState, player: string | null | undefined) => s.seats.indexOf(String(player));
const move = (s: LiapState, player: string, action: string, data: Record<string, unknown>, turn?: number): Step<LiapState> =>
  event('move', player, { action, round: s.round, ...(turn !== undefined ? { turn } : {}), data });

/** How many piles the seat declares: its strong pieces, give or take one, never making the total 8. */
function declaration(s: LiapState, ctx: SessionContext, seat: number): number {
  const hand = s.hands[s.seats[seat]];
  const strong = hand.filter((p) => points(p) >= 11).length + validPlays(hand).filter((x) => x.length >= 3).length;
  let n = Math.min(8, Math.max(0, strong + ctx.rng('declare', s.round, seat).int(-1, 1)));
  const sum = Object.values(s.declared).reduce((a, b) => a + b, 0);
  if (Object.keys(s.declared).length === 3 && sum + n === 8) n = n > 0 ? n - 1 : n + 1;
  return n;
}

/** The pieces the seat plays: a lead from its valid plays; an answer that wins as cheaply as it can, else its lowest pieces. */
function choosePlay(s: LiapState, ctx: SessionContext, seat: number): string[] {
  const hand = s.hands[s.seats[seat]];
  const rng = ctx.rng('play', s.round, s.turn, seat);
  if (!s.plays.length) {
    const plays = validPlays(hand);
    const biggest = [...plays].sort((a, b) => b.length - a.length || value(b) - value(a))[0];
    return rng.chance(0.4) ? biggest : rng.pick(plays);
  }
  const lead = s.plays[0].pieces;
  const best = Math.max(...s.plays.filter((p) => sameKind(p.pieces, lead)).map((p) => value(p.pieces)));
  const winning = validPlays(hand)
    .filter((x) => sameKind(x, lead) && value(x) > best)
    .sort((a, b) => value(a) - value(b));
  if (winning.length && rng.chance(0.8)) return winning[0];
  return [...hand].sort((a, b) => points(a) - points(b)).slice(0, lead.length);
}

const sameKind = (pieces: string[], lead: string[]) => pieces.length === lead.length && playType(pieces) === playType(lead);

/** The turn's winner: the highest-valued play of the leader's kind, the earliest on a tie. */
function turnWinner(plays: LiapState['plays']): string {
  let win = plays[0];
  for (const p of plays.slice(1)) if (sameKind(p.pieces, win.pieces) && value(p.pieces) > value(win.pieces)) win = p;
  return win.player;
}

function resolveTurn(s: LiapState): Commit<LiapState> {
  const lead = s.plays[0];
  const winner = turnWinner(s.plays);
  const piles = lead.pieces.length;
  const results = { round: s.round, turn: s.turn + 1, leader: lead.player, required: piles, plays: s.plays, winner, piles };
  s.captured[winner] += piles;
  s.leader = seatOf(s, winner);
  s.turn += 1;
  s.turns += 1;
  s.plays = [];
  if (s.hands[s.seats[0]].length === 0) s.phase = 'SCORING';
  return { kind: 'commit', state: s, turn: s.turns, round: s.round, results };
}

function roundRecord(s: LiapState) {
  const deltas = Object.fromEntries(s.seats.map((p) => [p, roundScore(s.declared[p], s.captured[p]) * s.multiplier]));
  const scores = Object.fromEntries(s.seats.map((p) => [p, s.scores[p] + deltas[p]]));
  return { round: s.round, multiplier: s.multiplier, hadRedeal: s.redeals > 0, declared: s.declared, captured: s.captured, deltas, scores };
}

/** Scores the round; then either the game is over or the next round is dealt (a full state). */
function scoreRound(s: LiapState, ctx: SessionContext): Commit<LiapState> {
  const record = roundRecord(s);
  s.scores = record.scores;
  const top = Math.max(...Object.values(s.scores));
  if (top >= s.winningScore || s.round >= s.maxRounds) {
    s.phase = 'GAME_OVER';
    s.winners = topScorers(s.scores, s.seats);
    return { kind: 'commit', state: s, turn: s.turns, round: s.round, results: { ...record, winners: s.winners } };
  }
  const next = newRound(s, ctx, s.round + 1, s.leader);
  return { kind: 'commit', state: next, turn: s.turns, round: next.round, results: record, full: true };
}

function newRound(s: LiapState, ctx: SessionContext, round: number, starter: number, redeals = 0, multiplier = 1): LiapState {
  const zero = Object.fromEntries(s.seats.map((p) => [p, 0]));
  return {
    ...s, phase: 'PREPARATION', round, multiplier, redeals, hands: deal(ctx, s.seats, round, redeals), starter, declared: {}, captured: zero,
    turn: 0, leader: starter, plays: [], roundLogged: false,
  };
}

export const liapTui: SessionGame<LiapState> = {
  name: 'liap-tui',
  gameType: 'liap-tui',
  restore: 'live',

  setup(ctx): SessionSetup {
    const size = SIZES[ctx.scale];
    return { tenant: `${ctx.run}-liap-tui`, name: `Liap Tui room ${ctx.index}`, settings: { ...size, maxPlayers: 4 }, seats: drawSeats(ctx, POOL, 4) };
  },

  start(ctx, setup) {
    const seats = setup.seats.map((x) => x.player);
    const blank: LiapState = {
      phase: 'PREPARATION', round: 1, multiplier: 1, redeals: 0, seats, scores: Object.fromEntries(seats.map((p) => [p, 0])), hands: {}, starter: 0,
      declared: {}, captured: {}, turn: 0, turns: 0, leader: 0, plays: [], roundLogged: false, ...SIZES[ctx.scale], winners: [],
    };
    // The red general's holder starts the first round.
    const first = newRound(blank, ctx, 1, 0);
    const starter = seats.findIndex((p) => first.hands[p].includes('GENERAL_RED'));
    return { kind: 'commit', state: { ...first, starter, leader: starter }, turn: 0, round: 1, full: true };
  },

  next(s, ctx) {
    switch (s.phase) {
      case 'PREPARATION': {
        const order = s.seats.map((_, i) => (s.starter + i) % 4);
        const weak = order.find((i) => isWeak(s.hands[s.seats[i]]));
        if (weak !== undefined && s.redeals < MAX_REDEALS && ctx.rng('redeal', s.round, s.redeals).chance(0.6))
          return move(s, s.seats[weak], 'redeal', { reason: 'weak_hand', multiplier: s.multiplier * 2 });
        return move(s, s.seats[s.starter], 'declare', { value: declaration(s, ctx, s.starter) });
      }
      case 'REDEAL': {
        const next = newRound(s, ctx, s.round, s.starter, s.redeals + 1, s.multiplier * 2);
        return { kind: 'commit', state: next, turn: s.turns, round: s.round, results: { redeal: next.redeals, multiplier: next.multiplier }, full: true };
      }
      case 'DECLARATION': {
        const seat = (s.starter + Object.keys(s.declared).length) % 4;
        return move(s, s.seats[seat], 'declare', { value: declaration(s, ctx, seat) });
      }
      case 'TURN': {
        if (s.plays.length === 4) return resolveTurn(s);
        const seat = (s.leader + s.plays.length) % 4;
        const pieces = choosePlay(s, ctx, seat);
        return move(s, s.seats[seat], 'play', { pieces, type: playType(pieces) ?? 'DISCARD' }, s.turn + 1);
      }
      case 'SCORING':
        if (!s.roundLogged) return event('x.liap-tui.round', null, roundRecord(s));
        return scoreRound(s, ctx);
      case 'GAME_OVER':
        throw new GameRuleError('the game is over');
    }
  },

  apply(s, e: GameEvent) {
    if (e.type === 'x.liap-tui.round') return { ...s, roundLogged: true };
    if (e.type !== 'move') throw new GameRuleError(`liap-tui sends no ${e.type}`);
    const player = String(e.player);
    const seat = seatOf(s, player);
    const data = e.data.data as Record<string, any>;
    switch (e.data.action) {
      case 'redeal':
        if (s.phase !== 'PREPARATION' || !isWeak(s.hands[player])) throw new GameRuleError(`${player} may not ask for a redeal`);
        return { ...s, phase: 'REDEAL' };
      case 'declare': {
        if (seat !== (s.starter + Object.keys(s.declared).length) % 4) throw new GameRuleError(`${player} declares out of turn`);
        const declared = { ...s.declared, [player]: Number(data.value) };
        return Object.keys(declared).length === 4 ? { ...s, declared, phase: 'TURN', leader: s.starter, plays: [] } : { ...s, declared, phase: 'DECLARATION' };
      }
      case 'play': {
        if (s.phase !== 'TURN' || seat !== (s.leader + s.plays.length) % 4) throw new GameRuleError(`${player} plays out of turn`);
        const pieces = data.pieces as string[];
        const rest = without(s.hands[player], pieces);
        if (!rest) throw new GameRuleError(`${player} does not hold ${pieces.join(' ')}`);
        if (s.plays.length ? pieces.length !== s.plays[0].pieces.length : !playType(pieces)) throw new GameRuleError(`${player} plays ${pieces.join(' ')}: not a valid play`);
        return { ...s, hands: { ...s.hands, [player]: rest }, plays: [...s.plays, { player, pieces }] };
      }
      default:
        throw new GameRuleError(`unknown liap-tui action ${String(e.data.action)}`);
    }
  },

  ending(s): Ending | null {
    if (s.phase !== 'GAME_OVER') return null;
    const outcome = (p: string) => (!s.winners.includes(p) ? 'loss' : s.winners.length > 1 ? 'draw' : 'win');
    return {
      outcomes: s.seats.map((p) => ({ player: p, outcome: outcome(p), score: s.scores[p], xp: Math.max(0, s.scores[p]) })),
      finished: { winners: s.winners, scores: s.scores, result: `${s.winners.join(' and ')} with ${s.scores[s.winners[0]]} after ${s.round} rounds` },
    };
  },
};
