/**
 * What a seed game is to the shared session runner (play-session.ts): its seats, its first state, its
 * next step from a state, and how an event it sent changes its state. The runner owns everything the
 * harness contract asks of every game alike: the session's lifecycle events, turn results as full
 * states or merge patches, recovery after a kill, pacing, the ledger.
 *
 * A game is written so that its state is the whole truth: `next` decides only from the state (and
 * randomness keyed by what it decides), `apply` folds an event the game sent into the state. So the
 * state rebuilt from recovery (live state or snapshot, then the events since) plays on exactly as the
 * killed process would have.
 */
import type { Rng } from './rng.ts';

export type Scale = 'test' | 'demo';

export interface SessionContext {
  /** `${GAME_RUN}-<game>-<index>` */
  id: string;
  index: number;
  run: string;
  seed: number;
  scale: Scale;
  /** The generator of one decision of this session (see rng.ts). */
  rng(...keys: (string | number)[]): Rng;
}

export interface Seat {
  player: string;
  name: string;
  position: number;
  team?: number;
}

export interface SessionSetup {
  tenant: string;
  name: string;
  settings: Record<string, unknown>;
  seats: Seat[];
}

/** An event as the game sends it (the runner adds the session id) and as recovery gives it back. */
export interface GameEvent {
  type: string;
  player?: string | null;
  data: Record<string, unknown>;
}

/**
 * A processed turn. The runner sends it as a `turn.result`: the full state when `full` (or when
 * game-persist holds none yet), else the merge patch from the state game-persist holds; with
 * `hash`, the state's own hash (state-hash.ts) as `stateHash`.
 */
export interface Commit<S> {
  kind: 'commit';
  state: S;
  turn: number;
  round?: number;
  results?: unknown;
  full?: boolean;
  hash?: boolean;
}

export type Step<S> = { kind: 'event'; event: GameEvent } | Commit<S>;

export interface Ending {
  outcomes: { player: string; outcome: 'win' | 'loss' | 'draw'; xp?: number; score?: number; team?: number }[];
  finished: { winners?: (string | number)[]; scores?: Record<string, number>; result?: string };
}

export interface SessionGame<S> {
  /** The game's part of its session ids (`${run}-<name>-<i>`) and of GAME_OUT. */
  name: string;
  gameType: string;
  /**
   * How a restart rebuilds the game: `live`, from the live state and the events since it; `snapshot`,
   * from the newest verified snapshot (its hash checked by the game) and the events after it.
   */
  restore: 'live' | 'snapshot';
  setup(ctx: SessionContext): SessionSetup;
  /** The first state (dealt, placed): sent in full. */
  start(ctx: SessionContext, setup: SessionSetup): Commit<S>;
  /** The next step from a state that has no ending. May change `state` (it is the runner's copy). */
  next(state: S, ctx: SessionContext): Step<S>;
  /** Folds an event this game sent into its state (live, and again at recovery). May change `state`. */
  apply(state: S, e: GameEvent): S;
  /** Outcomes and the finish, once the state is over; null while it is not. */
  ending(state: S): Ending | null;
}

export const event = <S>(type: string, player: string | null, data: Record<string, unknown>): Step<S> => ({ kind: 'event', event: { type, player, data } });
