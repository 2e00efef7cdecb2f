/**
 * Hokm (seed 002): four players in two teams, seats 0 and 2 team 1, seats 1 and 3 team 2 (integer
 * teams, as the seed's game_participants has them). The first hakem is whoever is dealt the first ace.
 * A hand: the hakem gets five cards and calls trump from them, then everyone is dealt to thirteen; the
 * hakem leads, players follow suit when they can, the highest trump (else the highest card of the suit
 * led) takes the trick and leads the next. The first team to seven tricks wins the hand: one point, two
 * for a seven-nil (kot), three for a kot against the hakem's team. The hakem stays while their team
 * wins and passes to the next seat when it loses. The first team to the target wins the game.
 *
 * What game-persist keeps (seed tables → events): game_sessions.game_state and the team scores → the
 * live state (a full `turn.result` per deal, merge patches per trick, `results` naming the trick's
 * cards and winner); game_participants (position, team) → `player.joined`; game_moves (choose_trump,
 * play_card, with their sequence numbers) → `move`s; players' wins, losses and rating → outcomes per
 * team, rated 2 v 2; the daily statistics → the sessions' lifecycle events.
 */
import { GameRuleError } from '../lib/errors.ts';
import { drawSeats } from '../lib/players.ts';
import { event, type Commit, type Ending, type GameEvent, type SessionContext, type SessionGame, type Step } from '../lib/session-game.ts';
import { chooseTrump, DECK, legalCards, rankOf, sortHand, suitOf, trickWinner } from './cards.ts';

type Team = '1' | '2';

export interface HokmState {
  phase: 'TRUMP' | 'PLAY' | 'GAME_OVER';
  hand: number;
  /** Hands a team needs to win the game. */
  target: number;
  seats: string[];
  hakem: number;
  /** '' until the hakem calls it. */
  trump: string;
  /** Cards not dealt yet (while the hakem holds their first five). */
  deck: string[];
  hands: Record<string, string[]>;
  /** The trick in progress (1-based), and tricks played in the game (the turn results' `turn`). */
  trick: number;
  tricksPlayed: number;
  leader: number;
  table: { player: string; card: string }[];
  /** Tricks each team took this hand; hands each team won (the team scores). */
  tricks: Record<Team, number>;
  score: Record<Team, number>;
  /** The winning team, 0 while the game goes on. */
  winner: number;
}

const POOL = ['Arash', 'Bahar', 'Cyrus', 'Darya', 'Elham', 'Farid', 'Golnar', 'Hamid'];
const TARGET = { test: 2, demo: 4 };
const teamOf = (seat: number): Team => (seat % 2 === 0 ? '1' : '2');
const other = (t: Team): Team => (t === '1' ? '2' : '1');

/** Deals one card at a time from a shuffled deck: the first ace's receiver is the first hakem. */
function firstHakem(ctx: SessionContext): number {
  const deck = ctx.rng('hakem').shuffle(DECK);
  return deck.findIndex((c) => c.startsWith('A')) % 4;
}

/** A new hand: the hakem holds five cards, the rest wait in the deck until trump is called. */
function deal(s: HokmState, ctx: SessionContext, hand: number, hakem: number): HokmState {
  const deck = ctx.rng('deal', hand).shuffle(DECK);
  const hands = Object.fromEntries(s.seats.map((p, i) => [p, i === hakem ? sortHand(deck.slice(0, 5)) : []]));
  return { ...s, phase: 'TRUMP', hand, hakem, trump: '', deck: deck.slice(5), hands, trick: 1, leader: hakem, table: [], tricks: { 1: 0, 2: 0 } };
}

/** After trump: the others get five, then everyone four and four, from the hakem round the table. */
function dealRest(s: HokmState): Record<string, string[]> {
  const hands = Object.fromEntries(Object.entries(s.hands).map(([p, h]) => [p, [...h]]));
  const order = [0, 1, 2, 3].map((i) => s.seats[(s.hakem + i) % 4]);
  let next = 0;
  const give = (p: string, n: number) => hands[p].push(...s.deck.slice(next, (next += n)));
  for (const p of order.slice(1)) give(p, 5);
  for (const packet of [4, 4]) for (const p of order) give(p, packet);
  return Object.fromEntries(Object.entries(hands).map(([p, h]) => [p, sortHand(h)]));
}

/** The card a seat plays: leads an ace when it has one; follows cheaply when its partner already wins, else wins as cheaply as it can. */
function chooseCard(s: HokmState, ctx: SessionContext, seat: number): string {
  const legal = legalCards(s.hands[s.seats[seat]], s.table[0]?.card);
  const low = (cs: string[]) => [...cs].sort((a, b) => Number(suitOf(a) === s.trump) - Number(suitOf(b) === s.trump) || rankOf(a) - rankOf(b))[0];
  if (!s.table.length) {
    const aces = legal.filter((c) => c.startsWith('A') && suitOf(c) !== s.trump);
    return aces.length ? aces[0] : ctx.rng('lead', s.hand, s.trick).pick(legal);
  }
  const played = s.table.map((t) => t.card);
  const winning = trickWinner(played, s.trump);
  if (teamOf(s.seats.indexOf(s.table[winning].player)) === teamOf(seat)) return low(legal);
  const winners = legal.filter((c) => trickWinner([...played, c], s.trump) === played.length);
  return winners.length ? low(winners) : low(legal);
}

function resolveTrick(s: HokmState, ctx: SessionContext): Commit<HokmState> {
  const cards = s.table.map((t) => t.card);
  const winnerSeat = s.seats.indexOf(s.table[trickWinner(cards, s.trump)].player);
  const team = teamOf(winnerSeat);
  s.tricks[team] += 1;
  s.tricksPlayed += 1;
  const results: Record<string, unknown> = { hand: s.hand, trick: s.trick, trump: s.trump, cards: s.table, winner: s.seats[winnerSeat], team: Number(team) };
  s.table = [];
  s.leader = winnerSeat;
  s.trick += 1;
  if (s.tricks[team] < 7) return { kind: 'commit', state: s, turn: s.tricksPlayed, round: s.hand, results };

  // The hand is over. A kot (seven-nil) is worth two, three against the hakem's team.
  const hakemTeam = teamOf(s.hakem);
  const kot = s.tricks[other(team)] === 0;
  const points = kot ? (hakemTeam !== team ? 3 : 2) : 1;
  s.score[team] += points;
  results.handResult = { hand: s.hand, team: Number(team), tricks: s.tricks, points, kot, score: s.score };
  if (s.score[team] >= s.target) {
    return { kind: 'commit', state: { ...s, phase: 'GAME_OVER', winner: Number(team) }, turn: s.tricksPlayed, round: s.hand, results };
  }
  const hakem = hakemTeam === team ? s.hakem : (s.hakem + 1) % 4;
  return { kind: 'commit', state: deal(s, ctx, s.hand + 1, hakem), turn: s.tricksPlayed, round: s.hand + 1, results, full: true };
}

export const hokm: SessionGame<HokmState> = {
  name: 'hokm',
  gameType: 'hokm',
  restore: 'live',

  setup(ctx) {
    return {
      tenant: `${ctx.run}-hokm`,
      name: `Hokm table ${ctx.index}`,
      settings: { target: TARGET[ctx.scale], maxPlayers: 4 },
      seats: drawSeats(ctx, POOL, 4, (position) => Number(teamOf(position))),
    };
  },

  start(ctx, setup) {
    const blank: HokmState = {
      phase: 'TRUMP', hand: 1, target: TARGET[ctx.scale], seats: setup.seats.map((x) => x.player), hakem: 0, trump: '', deck: [], hands: {},
      trick: 1, tricksPlayed: 0, leader: 0, table: [], tricks: { 1: 0, 2: 0 }, score: { 1: 0, 2: 0 }, winner: 0,
    };
    return { kind: 'commit', state: deal(blank, ctx, 1, firstHakem(ctx)), turn: 0, round: 1, full: true };
  },

  next(s, ctx): Step<HokmState> {
    if (s.phase === 'TRUMP') {
      const hakem = s.seats[s.hakem];
      return event('move', hakem, { action: 'choose_trump', round: s.hand, data: { suit: chooseTrump(s.hands[hakem]) } });
    }
    if (s.table.length === 4) return resolveTrick(s, ctx);
    const seat = (s.leader + s.table.length) % 4;
    return event('move', s.seats[seat], { action: 'play_card', round: s.hand, turn: s.trick, data: { card: chooseCard(s, ctx, seat) } });
  },

  apply(s, e: GameEvent) {
    if (e.type !== 'move') throw new GameRuleError(`hokm sends no ${e.type}`);
    const player = String(e.player);
    const data = e.data.data as { suit?: string; card?: string };
    if (e.data.action === 'choose_trump') {
      if (s.phase !== 'TRUMP' || player !== s.seats[s.hakem]) throw new GameRuleError(`${player} may not call trump`);
      return { ...s, trump: String(data.suit), hands: dealRest(s), deck: [], phase: 'PLAY' };
    }
    if (e.data.action !== 'play_card') throw new GameRuleError(`unknown hokm action ${String(e.data.action)}`);
    const card = String(data.card);
    if (s.phase !== 'PLAY' || player !== s.seats[(s.leader + s.table.length) % 4]) throw new GameRuleError(`${player} plays out of turn`);
    if (!legalCards(s.hands[player], s.table[0]?.card).includes(card)) throw new GameRuleError(`${player} may not play ${card}`);
    return { ...s, hands: { ...s.hands, [player]: s.hands[player].filter((c) => c !== card) }, table: [...s.table, { player, card }] };
  },

  ending(s): Ending | null {
    if (s.phase !== 'GAME_OVER') return null;
    const won = (seat: number) => Number(teamOf(seat)) === s.winner;
    return {
      outcomes: s.seats.map((p, seat) => ({
        player: p, team: Number(teamOf(seat)), outcome: won(seat) ? 'win' : 'loss', score: s.score[teamOf(seat)], xp: won(seat) ? 30 : 10,
      })),
      finished: { winners: [s.winner], scores: { ...s.score }, result: `team ${s.winner} wins ${s.score[String(s.winner) as Team]}-${s.score[other(String(s.winner) as Team)]}` },
    };
  },
};
