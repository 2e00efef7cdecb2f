/**
 * The ingest path against real PostgreSQL, Redis and BullMQ: every event type lands in its table
 * with typed columns; duplicates and redeliveries give one row; out-of-order arrival keeps the right
 * sequence numbers; bad events are dead-lettered while the rest land. All of it on both queue
 * backends: BullMQ on Redis, and BullMQ's PostgreSQL backend (GP_QUEUE_BACKEND=postgres).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '../../../src/contract/ids.ts';
import { createProducer } from '../../../src/producers/index.ts';
import { query } from '../../../src/db/query.ts';
import { openOrm, type MikroORM } from '../../../src/db/orm.ts';
import type { WorkerHandle } from '../../../src/process/worker.ts';
import { allTypesEvents, moveEvent } from '../../helpers/examples.ts';
import { BACKENDS, backendEnv, count, dropQueue, openFixture, prepareQueue, queueUrl, rows, testConfig, uniqueName, waitFor, type Fixture } from '../../helpers/services.ts';
import { inProcessWorker, plainQueue } from '../../helpers/worker.ts';

describe.each(BACKENDS)('ingest on %s', (backend) => {
let fx: Fixture;
let adminOrm: MikroORM | undefined;
let worker: WorkerHandle;
let prefix: string;
const queue = () => plainQueue(prefix, backend === 'postgres' ? fx.db.url : undefined);

beforeAll(async () => {
  fx = await openFixture();
  prefix = uniqueName('q');
  await prepareQueue(backend, fx.db.url, prefix);
  worker = await inProcessWorker(testConfig(fx.db.url, prefix, backendEnv(backend)));
  adminOrm = await openOrm({ databaseUrl: fx.db.url, poolMax: 1 });
});
/** A second ORM on the test database, for killing the worker's connections without killing our own. */
function openFixtureAdmin(): MikroORM {
  if (!adminOrm) throw new Error('admin ORM not open');
  return adminOrm;
}

afterAll(async () => {
  await adminOrm?.close().catch(() => {});
  await worker?.close();
  if (fx) await dropQueue(backend, fx.db.url, prefix);
  await fx?.close();
});

/** Waits until the worker has seen `n` more events (inserted, duplicate or dead-lettered). */
async function settled(before: number, n: number) {
  await waitFor(`${n} events processed`, () => worker.stats.inserted + worker.stats.duplicates + worker.stats.deadLettered - before >= n);
}
const progress = () => worker.stats.inserted + worker.stats.duplicates + worker.stats.deadLettered;

describe('ingest', () => {
  it('stores every event type in its table with typed columns, and keeps sessions and participants current', async () => {
    const before = progress();
    const q = queue();
    const all = allTypesEvents('all-types');
    const inSession = all.filter((e) => e.sessionId !== undefined).length;
    await q.add('events', { v: 1, events: all });
    await q.close();
    await settled(before, all.length);
    const { orm } = fx;
    const [s] = await rows(orm, 'select * from sessions where id = $1', ['all-types']);
    expect(s).toMatchObject({ game_type: 'impostor', tenant: 'chat-67890', name: 'Game Room #1', created_by: '11111', status: 'finished', winners: ['p1'], final_scores: { p1: 120, p2: 80 }, result: 'crew wins' });
    expect(Number(s.last_seq)).toBe(inSession);
    expect(Number(s.event_count)).toBe(inSession);
    const [p] = await rows(orm, 'select * from session_participants where session_id = $1', ['all-types']);
    expect(p).toMatchObject({ player_id: 'p1', role: 'crewmate', team: 'A', position: 0, name: 'Ann', outcome: 'win', xp: 50, score: 120 });
    expect(p.left_at).not.toBeNull();
    expect(await rows(orm, 'select target_id, round, kind, player_id from votes where session_id = $1', ['all-types'])).toEqual([{ target_id: 'p2', round: 1, kind: 'eject', player_id: 'p1' }]);
    expect(await rows(orm, 'select action, round, turn, data from moves where session_id = $1', ['all-types'])).toEqual([{ action: 'play_card', round: 1, turn: 2, data: { card: { suit: 'hearts', rank: 'A' } } }]);
    expect(await rows(orm, 'select task_type, xp, fake from task_logs where session_id = $1', ['all-types'])).toEqual([{ task_type: 'ai_riddle', xp: 10, fake: false }]);
    expect(await rows(orm, 'select channel, text from chat_messages where session_id = $1', ['all-types'])).toEqual([{ channel: 'discussion', text: 'I think player 2 is sus 🤔' }]);
    expect(await rows(orm, 'select turn, state, patch, state_hash from turn_results where session_id = $1', ['all-types'])).toEqual([{ turn: 1, state: { turn: 1, map: { a: 1 } }, patch: null, state_hash: 'abc123' }]);
    const [a] = await rows(orm, 'select model, prompt_tokens, completion_tokens, thinking_tokens, latency_ms, prompt_chars from agent_logs where session_id = $1', ['all-types']);
    expect(a).toEqual({ model: 'gpt-x', prompt_tokens: 12, completion_tokens: 3, thinking_tokens: 40, latency_ms: 812.5, prompt_chars: 9 });
    expect(await count(orm, 'session_events', 'session_id = $1', ['all-types'])).toBe(4);
    expect(await count(orm, 'participant_events', 'session_id = $1', ['all-types'])).toBe(3);
    expect(await rows(orm, `select player_id, session_id, coalesce(entered_at > coalesce(left_at, '-infinity'), false) as waiting from join_queue_entries where tenant = 'chat-67890' order by player_id`)).toEqual([
      { player_id: 'p3', session_id: null, waiting: true },
      { player_id: 'p4', session_id: null, waiting: false },
    ]);
    // The document written (the player's, conditional on not existing), then the delete of one never written.
    expect(await rows(orm, 'select owner, collection, key, value, version from documents where session_id = $1', ['all-types'])).toEqual([
      { owner: 'p1', collection: 'characters', key: 'p1', value: { name: 'Ann', hp: 12, items: ['rope'] }, version: 1 },
    ]);
    expect(await rows(orm, 'select type, outcome, version from document_events where session_id = $1 order by seq', ['all-types'])).toEqual([
      { type: 'doc.put', outcome: 'applied', version: 1 },
      { type: 'doc.delete', outcome: 'applied', version: 0 },
    ]);
    expect(await count(orm, 'players', 'id = $1', ['p1'])).toBe(1);
    expect(await count(orm, 'dead_letters')).toBe(0);
  });

  it('writes an event once when it is delivered twice: in one job, in two jobs, and redelivered later', async () => {
    const before = progress();
    const e1 = moveEvent('dup', 1);
    const e2 = moveEvent('dup', 2);
    const q = queue();
    await q.add('events', { v: 1, events: [e1, e1, e2] });
    await q.add('events', { v: 1, events: [e2] });
    await settled(before, 4);
    await q.add('events', e1); // a redelivery, as a bare event
    await settled(before, 5);
    await q.close();
    expect(await count(fx.orm, 'moves', 'session_id = $1', ['dup'])).toBe(2);
    const [s] = await rows(fx.orm, 'select event_count, last_seq from sessions where id = $1', ['dup']);
    expect(Number(s.event_count)).toBe(2);
    expect(Number(s.last_seq)).toBe(2);
  });

  it('stores out-of-order arrivals with their own sequence numbers and keeps late lifecycle events from regressing state', async () => {
    const before = progress();
    const q = queue();
    const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();
    const mk = (seq: number, type: string, data: Record<string, unknown>, player?: string) => ({ id: uuidv7(), type, sessionId: 'ooo', seq, at: at(seq * 1000), ...(player ? { player } : {}), data });
    // Sent newest first, each in its own job.
    const events = [
      mk(1, 'session.created', { gameType: 'hokm' }),
      mk(2, 'player.joined', { team: 'A', position: 0 }, 'u1'),
      mk(3, 'move', { action: 'play_card', turn: 1 }, 'u1'),
      mk(4, 'player.outcome', { outcome: 'loss', xp: 5 }, 'u1'),
      mk(5, 'player.outcome', { outcome: 'win', xp: 50 }, 'u1'),
      mk(6, 'session.finished', { winners: ['u1'] }),
    ];
    for (const e of [...events].reverse()) await q.add('events', e);
    await q.close();
    await settled(before, 6);
    const [s] = await rows(fx.orm, 'select status, game_type, last_seq, created_at, ended_at from sessions where id = $1', ['ooo']);
    expect(s).toMatchObject({ status: 'finished', game_type: 'hokm', last_seq: '6' });
    const seqs = await rows(fx.orm, `select seq, type from (select seq, type from session_events where session_id = 'ooo' union all select seq, type from participant_events where session_id = 'ooo' union all select seq, type from moves where session_id = 'ooo') x order by seq`);
    expect(seqs.map((r) => [Number(r.seq), r.type])).toEqual(events.map((e) => [e.seq, e.type]));
    // The newer outcome (seq 5) wins though it was written before seq 4.
    const [p] = await rows(fx.orm, 'select outcome, xp, team from session_participants where session_id = $1', ['ooo']);
    expect(p).toEqual({ outcome: 'win', xp: 50, team: 'A' });
  });

  it('dead-letters invalid events with the field named while every valid event beside them lands', async () => {
    const before = progress();
    const good = [moveEvent('mixed', 1), moveEvent('mixed', 2), moveEvent('mixed', 3)];
    const bad = [
      { ...moveEvent('mixed', 4), data: { action: 'x', colour: 'red' } },
      { ...moveEvent('mixed', 5), at: 'tuesday' },
      { ...moveEvent('mixed', 6), data: { action: 'x', data: { s: 'a\u0000b' } } },
      'not even an object',
      { ...moveEvent('mixed', 7), at: null },
    ];
    const q = queue();
    // BullMQ's PostgreSQL backend keeps job data as jsonb, which cannot hold U+0000: there a job with a
    // NUL in a string is refused when it is added (SQLSTATE 22P05) instead of reaching a worker to be
    // dead-lettered. Our producers never send one (the contract refuses NUL before enqueueing).
    const nul = backend === 'postgres';
    if (nul) await expect(q.add('events', { v: 1, events: [bad[2]] })).rejects.toMatchObject({ code: '22P05' });
    const firstJob = [bad[4], good[0], bad[0], good[1], bad[1], bad[2], good[2], bad[3]].filter((e) => !nul || e !== bad[2]);
    // The first event this worker process validates has at: null (a once-seen crash: it must not fail the job).
    await q.add('events', { v: 1, events: firstJob });
    await q.add('events', 42); // malformed job
    await q.add('events', { v: 2, events: [] }); // a future contract version
    await q.close();
    await settled(before, firstJob.length + 2);
    expect(await count(fx.orm, 'moves', 'session_id = $1', ['mixed'])).toBe(3);
    // The three jobs may be written in any order; within the first, dead letters keep event order.
    const dead = await rows(fx.orm, 'select reason_code, field, reason, session_id, payload, job_id from dead_letters order by id');
    const byJob = Map.groupBy(dead, (d) => d.job_id as string);
    const first = [...byJob.values()].find((g) => g.length === firstJob.length - 3)!;
    expect(first.map((d) => [d.reason_code, d.field])).toEqual([
      ['invalid_event', 'at'],
      ['invalid_event', 'data.colour'],
      ['invalid_event', 'at'],
      ...(nul ? [] : [['invalid_event', 'data.data.s']]),
      ['invalid_event', 'event'],
    ]);
    expect(dead.map((d) => d.reason_code).sort()).toEqual([...Array(first.length).fill('invalid_event'), 'malformed_job', 'unsupported_version']);
    expect(dead.find((d) => d.reason_code === 'unsupported_version')!.field).toBe('v');
    expect(first[1].reason).toMatch(/data.colour is not a field of move/);
    expect(first[1].session_id).toBe('mixed');
    if (!nul) expect(JSON.parse(first[3].payload).data.data.s).toBe('a\u0000b');
  });

  it('isolates a row PostgreSQL refuses by splitting the batch, and dead-letters only that row', async () => {
    // A constraint the contract does not know about stands in for any value the database refuses.
    await query(fx.orm.em.fork(), `ALTER TABLE moves ADD CONSTRAINT no_poison CHECK (action <> 'poison')`);
    try {
      const before = progress();
      const events = Array.from({ length: 40 }, (_, i) => moveEvent('poison', i + 1, i === 23 ? { data: { action: 'poison' } } : {}));
      const q = queue();
      await q.addBulk(events.map((e) => ({ name: 'events', data: e })));
      await q.close();
      await settled(before, 40);
      expect(await count(fx.orm, 'moves', 'session_id = $1', ['poison'])).toBe(39);
      const [d] = await rows(fx.orm, `select reason_code, reason, event_id from dead_letters where reason_code = 'db_rejected'`);
      expect(d.event_id).toBe(events[23].id);
      expect(d.reason).toMatch(/^23514: .*no_poison/);
      const [s] = await rows(fx.orm, 'select event_count from sessions where id = $1', ['poison']);
      expect(Number(s.event_count)).toBe(39);
    } finally {
      await query(fx.orm.em.fork(), 'ALTER TABLE moves DROP CONSTRAINT no_poison');
    }
  });

  it('retries through lost database connections (backends terminated mid-load) and still writes everything once', async () => {
    const before = progress();
    const retriesBefore = worker.stats.retries;
    const p = createProducer({ connection: queueUrl(backend, fx.db.url), prefix });
    const n = 20_000;
    const sending = (async () => {
      for (let i = 0; i < n; i += 2000)
        await Promise.all(Array.from({ length: 2000 }, (_, j) => p.move({ sessionId: `term-${(i + j) % 10}`, player: 'u', action: 'a', turn: i + j })));
    })();
    // Kill the worker's write sessions (57P01) a few times while batches are in flight (its own pool's:
    // on the PostgreSQL backend the queue's connections are in this database too).
    const admin = openFixtureAdmin();
    for (let k = 0; k < 4; k++) {
      await waitFor('a batch in flight', async () => progress() - before > (k * n) / 5);
      await query(admin.em.fork(), `select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid() and state <> 'idle' and application_name = 'game-persist:worker'`, [fx.db.name]);
    }
    await sending;
    await p.close();
    await settled(before, n);
    expect(await count(fx.orm, 'moves', `session_id like 'term-%'`)).toBe(n);
    const [s] = await rows(fx.orm, `select sum(event_count) as c from sessions where id like 'term-%'`);
    expect(Number(s.c)).toBe(n);
    expect(worker.stats.retries).toBeGreaterThan(retriesBefore);
    expect(worker.stats.failedBatches).toBe(0);
  });

  it('ingests what the SDK sends, across many jobs and sessions, exactly once', async () => {
    const before = progress();
    const p = createProducer({ connection: queueUrl(backend, fx.db.url), prefix });
    const n = 3000;
    const sent = await Promise.all(Array.from({ length: n }, (_, i) => p.move({ sessionId: `many-${i % 30}`, player: `u${i % 4}`, action: 'a', turn: i })));
    await p.close();
    await settled(before, n);
    expect(await count(fx.orm, 'moves', `session_id like 'many-%'`)).toBe(n);
    const perSession = await rows(fx.orm, `select session_id, count(*) as n, max(seq) as m, count(distinct seq) as d from moves where session_id like 'many-%' group by session_id`);
    expect(perSession).toHaveLength(30);
    for (const r of perSession) expect([Number(r.n), Number(r.m), Number(r.d)]).toEqual([100, 100, 100]);
    expect(new Set(sent.map((s) => s.id)).size).toBe(n);
  });
});
});
