/**
 * One validator, one verdict (issue 19, item 2): the same generated events — valid ones of every type,
 * valid ones mutated at a few places (wrong types, bad ids, missing fields, oversize strings, deep
 * nesting, numbers beyond 2^53, \u0000, lone surrogates), events with an unknown envelope key
 * (`__proto__`, `constructor` and other names, own keys as JSON.parse makes them) and values that are
 * not events at all — go through the three ways in:
 *   (a) the SDK's wire-form `producer.emit`,
 *   (b) a raw BullMQ job (one per event) that a real worker consumes: stored, or dead-lettered naming
 *       the field,
 *   (c) `POST /v1/events` against a real `buildApi` server (one request per run),
 * and the three verdicts must agree: accepted or refused, and the same field where all three name one.
 * Every event the SDK or the API accepted is then stored by the worker.
 *
 * Each event goes to each path as its own JSON text parsed, what each receives in production. What
 * the SDK and the API fill in by design is filled the same way for all three first: an absent or null
 * `id` or `at`, and a missing `seq` of a session event (a raw job must carry them; docs/contract.md).
 * Valid ids are made unique per path, so the worker's deduplication by id cannot hide a path's event.
 * Longer: FUZZ_RUNS=20 npm test -- test/property/fuzz-paths (FUZZ_SEED replays a run).
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { isPlainObject } from '../../src/contract/fields.ts';
import { uuidv7 } from '../../src/contract/ids.ts';
import { DEFAULT_LIMITS, EVENT_JOB_NAME } from '../../src/contract/limits.ts';
import { isUuid } from '../../src/contract/validate.ts';
import { EVENT_TABLES } from '../../src/db/families.ts';
import { ContractError } from '../../src/errors.ts';
import type { Producer } from '../../src/producers/index.ts';
import { rows, waitFor } from '../helpers/services.ts';
import { waysInFixture } from '../helpers/ways-in.ts';
import { anyValue, deepJson, fuzzParams, mutatedEvent, poisonJson, validEvent } from './fuzz-arbitraries.ts';

const ctx = waysInFixture('fuzz-paths');

/** Placeholder session of the generated events, made unique per event and path. */
const SID = 'fuzz-paths';
const PATHS = ['sdk', 'job', 'http'] as const;
type Path = (typeof PATHS)[number];
/** accepted, or refused naming a field (null: the path named none). */
type Verdict = { ok: true } | { ok: false; field: string | null };

/** An object with `k` set as an own key (`__proto__` included), as JSON.parse makes it. */
function withOwn(o: Record<string, unknown>, k: string, v: unknown): Record<string, unknown> {
  const out = { ...o };
  Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

/** A valid event with one key the envelope does not have. */
const unknownEnvelopeKey = fc
  .tuple(validEvent(SID), fc.constantFrom('__proto__', 'constructor', 'prototype', 'foo', 'V', 'Type', 'session_id', ''), fc.oneof(poisonJson, fc.constant({ x: 1 })))
  .map(([ev, k, v]) => withOwn(ev, k, v));

/** Hand-picked edges, so every run of CI meets them whatever the seed. */
const at = () => new Date().toISOString();
const EDGES: (() => unknown)[] = [
  () => ({ id: uuidv7(), type: 'chat.message', sessionId: SID, seq: 1, at: at(), data: { text: 'x'.repeat(4097) } }),
  () => ({ id: uuidv7(), type: 'chat.message', sessionId: SID, seq: 1, at: at(), data: { text: 'a\u0000b' } }),
  () => ({ id: uuidv7(), type: 'move', sessionId: SID, seq: 1, at: at(), data: { action: 'a', data: deep(20) } }),
  () => ({ id: uuidv7(), type: 'move', sessionId: SID, seq: 2 ** 53, at: at(), data: { action: 'a' } }),
  () => ({ id: uuidv7(), type: 'move', sessionId: SID, seq: 1, at: at(), data: { action: 'a', data: { n: 2 ** 53 + 2 } } }),
  () => ({ id: 'not-a-uuid', type: 'move', sessionId: SID, seq: 1, at: at(), data: { action: 'a' } }),
  () => ({ id: uuidv7(), type: 'move', sessionId: SID, seq: 1, at: '2026-01-01T00:00:00', data: { action: 'a' } }),
  () => ({ id: uuidv7(), type: 'vote', sessionId: SID, seq: 1, at: at(), data: { target: null } }),
  () => ({ id: uuidv7(), type: 'move', seq: 1, at: at(), data: { action: 'a' } }),
  () => ({ id: uuidv7(), type: 'nope', sessionId: SID, seq: 1, at: at(), data: {} }),
  () => ({ id: uuidv7(), type: 'x.fuzz.thing', sessionId: SID, seq: 1, at: at(), data: { free: [1, 'two', null] } }),
  () => ({ id: uuidv7(), type: 'agent.log', sessionId: SID, seq: 1, at: at(), data: { model: 'm', prompt: 'p'.repeat(40_000), thinking: 'é'.repeat(20_000) } }),
  () => ({ id: uuidv7(), type: 'agent.log', sessionId: SID, seq: 1, at: at(), data: { model: 'm', response: 'r'.repeat(DEFAULT_LIMITS.maxAgentTextBytes + 1) } }),
  () => ({ id: uuidv7(), type: 'move', sessionId: SID, seq: 1, at: at(), v: 2, data: { action: 'a' } }),
];
function deep(n: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = { a: v };
  return v;
}

const item = fc.oneof(
  { weight: 2, arbitrary: validEvent(SID) },
  { weight: 5, arbitrary: mutatedEvent(SID) },
  { weight: 2, arbitrary: unknownEnvelopeKey },
  { weight: 1, arbitrary: fc.constantFrom(...EDGES).map((make) => make()) },
  { weight: 1, arbitrary: fc.oneof(poisonJson, deepJson, anyValue) },
);

/** The JSON text a client would send of `v`; null when it has none (a BigInt, a function, undefined). */
function jsonText(v: unknown): string | null {
  try {
    return JSON.stringify(v) ?? null;
  } catch {
    return null;
  }
}

let serial = 0;
/**
 * What `path` receives of an event: its JSON text parsed, with what the SDK and the API would fill in
 * filled the same way for every path, a valid id made unique per path, and the placeholder session
 * made unique.
 */
function forPath(text: string, path: Path, n: number, fill: { at: string }): unknown {
  const e = JSON.parse(text) as unknown;
  if (!isPlainObject(e)) return e;
  if (e.id === undefined || e.id === null || isUuid(e.id)) e.id = uuidv7();
  if (e.at === undefined || e.at === null) e.at = fill.at;
  if (e.sessionId === SID) e.sessionId = `${SID}-${n}-${path}`;
  const inSession = e.sessionId !== undefined && e.sessionId !== null;
  if (inSession && (e.seq === undefined || e.seq === null) && !(typeof e.type === 'string' && e.type.startsWith('queue.'))) e.seq = 1;
  return e;
}

async function viaSdk(events: unknown[]): Promise<Verdict[]> {
  return Promise.all(
    events.map((e) =>
      ctx.producer.emit(e as Parameters<Producer['emit']>[0]).then(
        (): Verdict => ({ ok: true }),
        (err: unknown): Verdict => {
          if (err instanceof ContractError) return { ok: false, field: err.field };
          throw err;
        },
      ),
    ),
  );
}

async function viaHttp(events: unknown[]): Promise<{ verdicts: Verdict[]; ids: string[] }> {
  const res = await fetch(`${ctx.base}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${ctx.key}`, 'content-type': 'application/json' }, body: `[${events.map((e) => JSON.stringify(e)).join(',')}]` });
  const text = await res.text();
  expect(res.status, text.slice(0, 500)).toBe(200);
  const body = JSON.parse(text) as { results: { status: string; field?: string; id?: string }[] };
  return {
    verdicts: body.results.map((r): Verdict => (r.status === 'accepted' ? { ok: true } : { ok: false, field: r.field ?? null })),
    ids: body.results.flatMap((r) => (r.status === 'accepted' ? [r.id!] : [])),
  };
}

/** Which of `ids` are stored, in any event table. */
async function storedIds(ids: string[]): Promise<Set<string>> {
  if (!ids.length) return new Set();
  const sql = EVENT_TABLES.map((t) => `select id::text as id from ${t} where id = any($1::uuid[])`).join(' union all ');
  return new Set((await rows<{ id: string }>(ctx.fx.orm, sql, [ids])).map((r) => r.id));
}

/** One job per event; the job ids, in order. */
async function viaJobs(events: unknown[]): Promise<string[]> {
  return (await Promise.all(events.map((e) => ctx.queue.add(EVENT_JOB_NAME, { v: 1, events: [e] })))).map((j) => String(j.id));
}

/** Each job's verdict once the worker wrote it: stored (its event id in a table), or a dead letter's field. */
async function jobVerdicts(jobs: { jobId: string; eventId: string | null }[]): Promise<Verdict[]> {
  let verdicts: (Verdict | null)[] = [];
  await waitFor('the worker to write every job', async () => {
    const dead = new Map((await rows<{ job_id: string; field: string | null }>(ctx.fx.orm, 'select job_id, field from dead_letters where job_id = any($1::text[])', [jobs.map((j) => j.jobId)])).map((r) => [r.job_id, r.field]));
    const stored = await storedIds(jobs.flatMap((j) => (j.eventId === null ? [] : [j.eventId])));
    verdicts = jobs.map((j) => (dead.has(j.jobId) ? { ok: false, field: dead.get(j.jobId) ?? null } : j.eventId !== null && stored.has(j.eventId) ? { ok: true } : null));
    return verdicts.every((v) => v !== null);
  }, 60_000);
  return verdicts as Verdict[];
}

interface Case {
  text: string;
  sdk: Verdict;
  http: Verdict;
  job: { jobId: string; eventId: string | null };
}
const cases: Case[] = [];
const acceptedElsewhere: string[] = [];
/** The run's seed (FUZZ_SEED replays it): the worker's verdicts are compared after the run, so fast-check cannot print it. */
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : (Date.now() ^ (Math.random() * 2 ** 31)) | 0;

it('gives every generated event the same verdict through the SDK, a raw BullMQ job and the HTTP API', async () => {
  // The SDK's and the API's verdicts come with their answers; the jobs are all sent first and their
  // verdicts read once the worker has written them (one wait for the whole run, not one per event).
  await fc.assert(
    fc.asyncProperty(fc.array(item, { minLength: 1, maxLength: 8 }), async (items) => {
      const texts = items.map(jsonText).filter((t): t is string => t !== null);
      if (!texts.length) return;
      const fill = { at: new Date().toISOString() };
      const ns = texts.map(() => ++serial);
      const sent = Object.fromEntries(PATHS.map((p) => [p, texts.map((t, i) => forPath(t, p, ns[i]!, fill))])) as Record<Path, unknown[]>;
      const [sdk, jobIds, http] = await Promise.all([viaSdk(sent.sdk), viaJobs(sent.job), viaHttp(sent.http)]);
      acceptedElsewhere.push(...http.ids);
      texts.forEach((text, i) => {
        const id = (e: unknown) => (isPlainObject(e) && isUuid(e.id) ? e.id.toLowerCase() : null);
        if (sdk[i]!.ok) acceptedElsewhere.push(id(sent.sdk[i])!);
        cases.push({ text, sdk: sdk[i]!, http: http.verdicts[i]!, job: { jobId: jobIds[i]!, eventId: id(sent.job[i]) } });
      });
    }),
    { ...fuzzParams(60), seed },
  );
  const job = await jobVerdicts(cases.map((c) => c.job));
  const tally = { cases: cases.length, accepted: 0, refused: 0, envelopeKeys: 0 };
  const disagreements: string[] = [];
  cases.forEach((c, i) => {
    const v: Record<Path, Verdict> = { sdk: c.sdk, job: job[i]!, http: c.http };
    const fields = PATHS.map((p) => (v[p].ok ? null : (v[p] as { field: string | null }).field));
    const agree = new Set(PATHS.map((p) => v[p].ok)).size === 1 && (fields.some((f) => f === null) || new Set(fields).size === 1);
    if (!agree) disagreements.push(`${JSON.stringify(v)} for ${c.text.slice(0, 400)}`);
    if (v.sdk.ok) tally.accepted++;
    else {
      tally.refused++;
      const f = fields[0];
      if (f !== null && f !== 'event' && !f.startsWith('data.') && !['id', 'v', 'type', 'sessionId', 'seq', 'at', 'player', 'data'].includes(f)) tally.envelopeKeys++;
    }
  });
  expect(disagreements, `verdicts differ (replay with FUZZ_SEED=${seed})`).toEqual([]);
  // The fuzzer reached both sides, and unknown envelope keys among the refusals.
  expect(tally.accepted, JSON.stringify(tally)).toBeGreaterThan(10);
  expect(tally.refused, JSON.stringify(tally)).toBeGreaterThan(10);
  expect(tally.envelopeKeys, JSON.stringify(tally)).toBeGreaterThan(0);
  expect(({} as Record<string, unknown>).x).toBeUndefined();
  expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain('polluted');
}, 120_000);

it('stores every event the SDK or the API accepted', async () => {
  const owed = [...new Set(acceptedElsewhere)];
  expect(owed.length).toBeGreaterThan(0);
  await waitFor('what the SDK and the API accepted to be stored', async () => (await storedIds(owed)).size === owed.length, 60_000);
});
