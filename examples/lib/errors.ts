/** Typed errors of the seed game servers: a restart that cannot rebuild its game stops the process. */

export class GameError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A state the game cannot persist as it is (a null a merge patch would turn into a deletion). */
export class GameStateError extends GameError {
  constructor(message: string) {
    super('bad_state', message);
  }
}

/** An event, sent or recovered, that breaks the game's own rules (a card not in hand, a move out of turn). */
export class GameRuleError extends GameError {
  constructor(message: string) {
    super('rule_broken', message);
  }
}

/** What recovery returned does not rebuild the game: a snapshot whose hash is not its state's, or a fold that disagrees with the live state. */
export class RestoreError extends GameError {
  readonly sessionId: string;
  constructor(sessionId: string, message: string) {
    super('restore_failed', `session ${sessionId}: ${message}`);
    this.sessionId = sessionId;
  }
}
