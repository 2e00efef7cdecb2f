/**
 * Fuzzing the worker (issue 12 ★): jobs mixing valid events with fuzzed garbage (arbitrary JSON with
 * poison strings, keys and numbers; valid events mutated at a few places) go through real BullMQ into
 * a real worker. The contract's verdict on each item (validateEvent, fuzzed on its own in
 * fuzz-validator.test.ts) says what must happen: every valid event is stored exactly once, every other
 * item is one dead letter of its job, and no batch fails as a whole.
 * Longer: FUZZ_RUNS=20 npm test -- test/property/fuzz-worker.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { uuidv7 } from '../../src/contract/ids.ts';
import { EVENT_JOB_NAME } from '../../src/contract/limits.ts';
import { validateEvent } from '../../src/contract/validate.ts';
import { EVENT_TABLES } from '../../src/db/families.ts';
import type { EventsQueue } from '../../src/queue/backend.ts';
import { rows, waitFor } from '../helpers/services.ts';
import { plainQueue, workerFixture } from '../helpers/worker.ts';
import { fuzzParams, mutatedEvent, poisonJson, validEvent } from './fuzz-arbitraries.ts';

const ctx = workerFixture();
let queue: EventsQueue;
beforeAll(() => {
  queue = plainQueue(ctx.prefix);
});
afterAll(async () => {
  await queue?.close();
});

/** As the worker receives it: through JSON text (undefined when the value has none, e.g. a BigInt). */
function throughJson(v: unknown): unknown {
  try {
    const text = JSON.stringify(v);
    return text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Placeholder session of the generated events, made unique per item so no two share a seq. */
const SID = 'fuzz-worker';
const item = fc.oneof({ weight: 3, arbitrary: validEvent(SID) }, { weight: 3, arbitrary: mutatedEvent(SID) }, { weight: 1, arbitrary: poisonJson });

it('stores every valid event of a fuzzed job once and dead-letters each other item, never failing a batch', async () => {
  const owed: string[] = [];
  const deadPerJob = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(fc.array(item, { minLength: 1, maxLength: 8 }), async (items) => {
      const events: unknown[] = [];
      let invalid = 0;
      for (const raw of items) {
        const v = throughJson(raw);
        if (v === undefined) continue;
        if (v && typeof v === 'object' && (v as Record<string, unknown>).sessionId === SID) (v as Record<string, unknown>).sessionId = `${SID}-${uuidv7()}`;
        events.push(v);
        try {
          owed.push(validateEvent(structuredClone(v)).id);
        } catch {
          invalid++;
        }
      }
      if (!events.length) return;
      const job = await queue.add(EVENT_JOB_NAME, { v: 1, events });
      deadPerJob.set(String(job.id), invalid);
    }),
    fuzzParams(80),
  );
  expect(owed.length).toBeGreaterThan(0);
  expect([...deadPerJob.values()].some((n) => n > 0)).toBe(true);

  const jobIds = [...deadPerJob.keys()];
  const stored = async () => {
    const n = new Map<string, number>();
    for (const t of EVENT_TABLES) for (const r of await rows<{ id: string }>(ctx.fx.orm, `select id::text as id from ${t} where id = any($1::uuid[])`, [owed])) n.set(r.id, (n.get(r.id) ?? 0) + 1);
    return n;
  };
  const dead = async () => new Map((await rows<{ job_id: string; n: number }>(ctx.fx.orm, 'select job_id, count(*)::int as n from dead_letters where job_id = any($1::text[]) group by job_id', [jobIds])).map((r) => [r.job_id, r.n]));
  const expectedDead = [...deadPerJob.values()].reduce((a, b) => a + b, 0);
  await waitFor('the fuzzed jobs to be written', async () => {
    const [s, d] = [await stored(), await dead()];
    return s.size === new Set(owed).size && [...d.values()].reduce((a, b) => a + b, 0) >= expectedDead;
  }, 60_000);
  const [s, d] = [await stored(), await dead()];
  expect(owed.filter((id) => s.get(id) !== 1)).toEqual([]);
  expect(jobIds.filter((j) => (d.get(j) ?? 0) !== deadPerJob.get(j)).map((j) => ({ job: j, expected: deadPerJob.get(j), got: d.get(j) ?? 0 }))).toEqual([]);
  // Bad items never failed a batch: each was refused alone.
  expect(ctx.worker.stats.failedBatches).toBe(0);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
}, 120_000);
