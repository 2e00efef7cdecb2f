/**
 * Sequence counters in PostgreSQL, for the PostgreSQL queue backend: rows of `sequence_counters`
 * (src/db/sql/sequence-counters.ts), one statement per round, the same rule as the Redis script.
 */
import { drawSequences, sequenceCounter, type Queryable } from '../db/sql/sequence-counters.ts';
import type { Gate } from './gate.ts';
import { SEQUENCE_KEY_TTL_SECONDS, type Draw, type SequenceCounters } from './sequences.ts';

export class PgCounters implements SequenceCounters {
  readonly #db: Queryable;
  readonly #gate: Gate;
  readonly #prefix: string;

  constructor(db: Queryable, gate: Gate, prefix: string) {
    this.#db = db;
    this.#gate = gate;
    this.#prefix = prefix;
  }

  async draw(draws: Draw[]): Promise<{ last: number; found: number }[]> {
    // The statement needs each session once; the allocator never repeats one within a round.
    const drawn = await this.#gate.run(() => drawSequences(this.#db, this.#prefix, draws, SEQUENCE_KEY_TTL_SECONDS));
    return draws.map((d) => {
      const r = drawn.get(d.sessionId);
      if (!r) throw new Error(`sequence draw returned no row for session ${d.sessionId}`);
      return { last: r.last, found: r.found };
    });
  }

  read(sessionId: string): Promise<number | null> {
    return this.#gate.run(() => sequenceCounter(this.#db, this.#prefix, sessionId));
  }
}
