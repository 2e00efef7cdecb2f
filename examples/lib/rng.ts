/**
 * Keyed deterministic randomness for the seed games. A decision's generator is derived from GAME_SEED,
 * the session index and what is being decided (`rng('deal', round)`), not drawn from one running
 * stream: a restarted game server that rebuilt the same state makes the same next decision, without
 * keeping a generator's position anywhere.
 */

/** FNV-1a over the key's text: spreads (seed, session, keys) over 32 bits. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class Rng {
  #a: number;

  constructor(seed: number) {
    this.#a = seed >>> 0;
  }

  /** Mulberry32: small and good enough to vary a simulation. A float in [0, 1). */
  next(): number {
    this.#a = (this.#a + 0x6d2b79f5) >>> 0;
    let t = this.#a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(xs: readonly T[]): T {
    if (!xs.length) throw new RangeError('pick from an empty list');
    return xs[Math.floor(this.next() * xs.length)];
  }

  /** A shuffled copy (Fisher-Yates). */
  shuffle<T>(xs: readonly T[]): T[] {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }
}

/** The generator of one decision: the same (seed, keys) always give the same sequence. */
export function keyedRng(seed: number, ...keys: (string | number)[]): Rng {
  return new Rng(hash32(`${seed}|${keys.join('|')}`));
}
