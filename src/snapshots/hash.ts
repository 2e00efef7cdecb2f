import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/**
 * SHA-256 (hex) of the RFC 8785 canonical JSON of a state: the same state gives the same hash in any
 * language, whatever its key order. Game servers that send `stateHash` compute it the same way.
 */
export function stateHash(state: unknown): string {
  const text = canonicalize(state);
  if (text === undefined) throw new TypeError('state is not JSON');
  return createHash('sha256').update(text).digest('hex');
}
