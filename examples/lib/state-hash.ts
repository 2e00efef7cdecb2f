/**
 * The game's own state hash, computed the way game-persist verifies a `turn.result`'s `stateHash`
 * (README, "Snapshots"): SHA-256, in lower-case hex, of the state's RFC 8785 canonical JSON (sorted
 * keys, no whitespace, ECMAScript number form). Written here rather than imported, as a game server in
 * another language would, so the worker's check compares two independent computations.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { GameStateError } from './errors.ts';

export function gameStateHash(state: unknown): string {
  const text = canonicalize(state);
  if (text === undefined) throw new GameStateError('state is not JSON');
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
