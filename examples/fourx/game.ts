/**
 * The 4X strategy game with LLM agents (seed 004). Each turn every empire's agent is prompted and
 * answers with an order (expand to a free tile, build a unit, research, attack an enemy tile, trade);
 * the orders resolve in seat order and every empire collects its yields. The game ends after its last
 * turn, or when one empire holds every claimed tile; the highest score (tiles, tech, units, gold) wins.
 *
 * What game-persist keeps (seed tables → events): games and the complete game state → the live state,
 * a `turn.result` per turn with a merge patch and the game's own state hash ("each turn generates a
 * state hash"), and every 10 turns the full state with its hash: game-persist verifies that hash and
 * keeps it as a snapshot (game_snapshots). game_turns → each turn's `results`; player_actions → `move`s;
 * prompt_logs (tokens, thinking, latency) → `agent.log`s; player_stats → outcomes. After a restart the
 * game restores from the newest verified snapshot and the events after it, checking the hash itself
 * (the seed's `POST /games/{id}/restore`).
 */
import { GameRuleError } from '../lib/errors.ts';
import { drawSeats, topScorers } from '../lib/players.ts';
import { event, type Commit, type Ending, type GameEvent, type SessionGame, type Step } from '../lib/session-game.ts';
import { AGENTS, decide, orderOf, prompt, usage, type Agent } from './agents.ts';
import { collect, resolve, score, startTiles, territory, type Order, type World } from './world.ts';

export interface FourXState extends World {
  phase: 'PLAYING' | 'OVER';
  /** Turns completed. */
  turn: number;
  maxTurns: number;
  /** Players in seat order (the order orders resolve in). */
  order: string[];
  /** Each player's agent, by name (agents.ts). */
  agents: Record<string, string>;
  /** The orders of the turn in progress: decided (the agent answered) and given (the move was sent). */
  pending: Record<string, { order: Order; given: boolean }>;
  scores: Record<string, number>;
  winners: string[];
}

export const SNAPSHOT_EVERY = 10;
const SIZES = { test: { players: 2, maxTurns: 20, mapSize: 5 }, demo: { players: 3, maxTurns: 40, mapSize: 7 } };

const agentOf = (s: FourXState, player: string): Agent => AGENTS.find((a) => a.name === s.agents[player])!;

/** Resolves the turn's orders, collects the yields, and sends the state: in full with its hash every SNAPSHOT_EVERY turns. */
function resolveTurn(s: FourXState): Commit<FourXState> {
  const turn = s.turn + 1;
  const results = Object.fromEntries(s.order.map((p) => [p, resolve(s, p, s.pending[p].order)]));
  collect(s);
  const alive = s.order.filter((p) => territory(s, p).length > 0);
  const next: FourXState = { ...s, turn, pending: {}, scores: Object.fromEntries(s.order.map((p) => [p, score(s, p)])) };
  if (turn >= s.maxTurns || alive.length === 1) {
    next.phase = 'OVER';
    next.winners = topScorers(next.scores, s.order);
  }
  return { kind: 'commit', state: next, turn, results: { turn, orders: results }, full: turn % SNAPSHOT_EVERY === 0, hash: true };
}

export const fourx: SessionGame<FourXState> = {
  name: 'fourx',
  gameType: 'fourx',
  restore: 'snapshot',

  setup(ctx) {
    const size = SIZES[ctx.scale];
    return {
      tenant: `${ctx.run}-fourx`,
      name: `4X game ${ctx.index}`,
      settings: { maxTurns: size.maxTurns, mapSize: size.mapSize, snapshotEvery: SNAPSHOT_EVERY },
      seats: drawSeats(ctx, AGENTS.map((a) => a.name), size.players),
    };
  },

  start(ctx, setup) {
    const size = SIZES[ctx.scale];
    const order = setup.seats.map((x) => x.player);
    const homes = startTiles(size.mapSize, order.length);
    const s: FourXState = {
      phase: 'PLAYING', turn: 0, maxTurns: size.maxTurns, size: size.mapSize, order, pending: {}, winners: [],
      agents: Object.fromEntries(setup.seats.map((x) => [x.player, x.name])),
      tiles: Object.fromEntries(order.map((p, i) => [homes[i], p])),
      empires: Object.fromEntries(
        setup.seats.map((x) => [x.player, { personality: AGENTS.find((a) => a.name === x.name)!.personality, food: 5, production: 3, gold: 10, science: 0, tech: 0, units: 1 }]),
      ),
      scores: {},
    };
    s.scores = Object.fromEntries(order.map((p) => [p, score(s, p)]));
    return { kind: 'commit', state: s, turn: 0, full: true, hash: true };
  },

  next(s, ctx): Step<FourXState> {
    const turn = s.turn + 1;
    for (const [seat, p] of s.order.entries()) {
      const pending = s.pending[p];
      if (!pending) {
        const agent = agentOf(s, p);
        const rng = ctx.rng('agent', turn, seat);
        const text = prompt(s, p, agent, turn);
        const { response } = decide(s, p, agent, rng);
        return event('agent.log', p, {
          model: agent.model, provider: agent.provider, agent: agent.personality, turn, prompt: text, response, ...usage(agent, text, response, rng),
        });
      }
      if (!pending.given) return event('move', p, { action: pending.order.action, turn, data: pending.order.target ? { target: pending.order.target } : {} });
    }
    return resolveTurn(s);
  },

  apply(s, e: GameEvent) {
    const player = String(e.player);
    if (!s.order.includes(player)) throw new GameRuleError(`${player} plays no empire here`);
    if (e.type === 'agent.log') {
      if (s.pending[player]) throw new GameRuleError(`${player}'s agent answered twice in turn ${s.turn + 1}`);
      return { ...s, pending: { ...s.pending, [player]: { order: orderOf(String(e.data.response)), given: false } } };
    }
    if (e.type !== 'move') throw new GameRuleError(`fourx sends no ${e.type}`);
    const pending = s.pending[player];
    if (!pending || pending.given || pending.order.action !== e.data.action) throw new GameRuleError(`${player} gives an order the agent did not decide`);
    return { ...s, pending: { ...s.pending, [player]: { ...pending, given: true } } };
  },

  ending(s): Ending | null {
    if (s.phase !== 'OVER') return null;
    const outcome = (p: string) => (!s.winners.includes(p) ? 'loss' : s.winners.length > 1 ? 'draw' : 'win');
    return {
      outcomes: s.order.map((p) => ({ player: p, outcome: outcome(p), score: s.scores[p], xp: s.scores[p] })),
      finished: { winners: s.winners, scores: s.scores, result: `${s.winners.join(' and ')} after ${s.turn} turns` },
    };
  },
};
