/**
 * The producer's `sequenceSeed` backed by PostgreSQL: the highest stored seq of each session. Lives
 * here, not in the SDK, so `game-persist/producer` stays free of database code:
 *
 * ```ts
 * createProducer({ connection, sequenceSeed: pgSequenceSeed(createReader(process.env.DATABASE_URL!)) });
 * ```
 *
 * It sees what workers have stored: numbers drawn for events still waiting in Redis are covered by
 * the counter itself (or, if Redis lost those too, by the drawing process's own high-water mark).
 */
import { asReader, type ReadSource } from '../db/reader.ts';
import { sessionLastSeqs } from '../db/sql/sequence-seed.ts';

export function pgSequenceSeed(src: ReadSource): (sessionIds: string[]) => Promise<Map<string, number>> {
  const reader = asReader(src);
  return async (sessionIds) => {
    const rows = await sessionLastSeqs(reader, sessionIds);
    return new Map(rows.map((r) => [r.id, Number(r.last_seq)]));
  };
}
