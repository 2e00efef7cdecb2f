/**
 * `erase-player` (CLI) and POST /v1/players/:id/erase (run by the worker): after a player played,
 * chatted, moved, sent game-defined events, called an agent, owned and was named by documents (keys
 * `characters/<id>`), waited in a join queue without a session, had an event refused and a job still
 * queued — and another player with an integer id sent as a JSON number — neither id, name nor text is
 * left in any column of any table; the audit keeps no hash anyone can recompute; verify and snapshot
 * verification report nothing; the other players' statistics are the same; an unfinished session still
 * recovers with its documents' versions and keeps ingesting; late events are erased by a second run,
 * whose collision with the first run's rows gives them a new pseudonym; every request is audited.
 * `export-player` (CLI and API) returns every row kind about a player and nothing of another one.
 */
import { createHash, createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../../../src/api/server.ts';
import { createApiKey } from '../../../src/api/keys.ts';
import { uuidv7 } from '../../../src/contract/ids.ts';
import { verifyAggregates } from '../../../src/aggregates/verify.ts';
import { foldStatDeltas } from '../../../src/aggregates/write.ts';
import { rateSession } from '../../../src/aggregates/ratings.ts';
import { recoverSession } from '../../../src/recovery/recover.ts';
import { verifySnapshots } from '../../../src/ops/verify-snapshots.ts';
import { migrateUp } from '../../../src/db/migrate.ts';
import { openOrm } from '../../../src/db/orm.ts';
import { REDIS_URL, emptyDatabase, rows, testConfig, testEnv, waitFor } from '../../helpers/services.ts';
import { runCli } from '../../helpers/cli.ts';
import { plainQueue, workerFixture } from '../../helpers/worker.ts';

const KEY = 'erasure-key-for-tests-0123456789abcdef';
const opts = { timeZone: 'UTC', winRateMinGames: 1 };
// Jobs on: the worker runs the API's erasure requests, takes and hashes snapshots, rates sessions.
const ctx = workerFixture({ GP_WIN_RATE_MIN_GAMES: '1', GP_STATS_FOLD_MS: '60000', GP_RATING_DELAY_S: '0', GP_ERASURE_KEY: KEY });
const at = new Date().toISOString();
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const hmac = (key: string, s: string) => createHmac('sha256', key).update(s).digest('hex');

let app: FastifyInstance;
let base = '';
let redis: Redis;
let adminKey = '';

type Spec = [type: string, player: string | number | undefined, data: Record<string, unknown>];
function session(id: string, events: Spec[], firstSeq = 1) {
  return events.map(([type, player, data], i) => ({ id: uuidv7(), type, sessionId: id, seq: firstSeq + i, at, ...(player !== undefined ? { player } : {}), data }));
}

async function publish(events: unknown[], jobOpts: Record<string, unknown> = {}) {
  const q = plainQueue(ctx.prefix);
  try {
    await q.add('events', { v: 1, events }, jobOpts);
  } finally {
    await q.close();
  }
}

const eventCount = async (id: string) => Number((await rows(ctx.fx.orm, `select event_count from sessions where id = $1`, [id]))[0]?.event_count ?? 0);
const settle = async () => {
  // Stored, folded and hashed: no pending snapshot hash, nothing above a watermark.
  await waitFor('snapshots hashed', async () => (await rows(ctx.fx.orm, `select 1 from session_snapshots where hash is null`)).length === 0);
  await foldStatDeltas(ctx.fx.orm, 1, opts);
};

/** Per needle, every table's text, jsonb and array columns that contain it, as `table.column`. */
async function mentionsOf(needles: string[]): Promise<Record<string, string[]>> {
  const cols = await rows<{ table_name: string; column_name: string }>(
    ctx.fx.orm,
    `select c.table_name, c.column_name from information_schema.columns c join information_schema.tables t using (table_schema, table_name)
     where c.table_schema = current_schema() and t.table_type = 'BASE TABLE' and c.data_type in ('text', 'jsonb', 'ARRAY', 'character varying')`,
  );
  const found: Record<string, string[]> = Object.fromEntries(needles.map((n) => [n, []]));
  for (const c of cols) {
    const hits = await rows<{ needle: string }>(
      ctx.fx.orm,
      `select distinct gp_needle.v as needle from "${c.table_name}" x, unnest($1::text[]) as gp_needle(v) where strpos(x."${c.column_name}"::text, gp_needle.v) > 0`,
      [needles],
    );
    for (const h of hits) found[h.needle]!.push(`${c.table_name}.${c.column_name}`);
  }
  return found;
}
const noMentions = (needles: string[]) => Object.fromEntries(needles.map((n) => [n, []]));

const others = async () =>
  rows(ctx.fx.orm, `select player_id, scope, games, wins, xp::int, tasks, votes, win_rate, best_score from player_stats where player_id like 'keep-%' order by 1, 2`);

const post = (path: string, key = adminKey) => fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });
const get = (path: string, key = adminKey) => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}` } });

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  app = await buildApi({ cfg: testConfig(ctx.fx.db.url, ctx.prefix, { GP_ERASURE_KEY: KEY }), orm: ctx.fx.orm, redis });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  adminKey = (await createApiKey(ctx.fx.orm, { name: 'admin', scopes: ['admin'] })).key;
});
afterAll(async () => {
  await app?.close();
  redis?.disconnect();
});

describe('erase-player', () => {
  const ERASED = 'er-7f3a9c';
  const NAME = 'Zelda Quuxworth';
  const NUM = 7342981; // an integer id, sent as a JSON number
  const NUM_NAME = 'Numa Digitsworth';
  const ERASED_API = 'er-api-51b0';
  const NAME_API = 'Ygritte Vandermolen';
  const SECRETS = ['my secret move words', 'my secret diary entry'];
  const env = () => testEnv(ctx.fx.db.url, ctx.prefix, { GP_ERASURE_KEY: KEY });

  it('leaves no id, name or text anywhere (join queue without a session, document keys, integer ids in JSON, moves and game events), keeps verify and snapshots exact', async () => {
    const players: (string | number)[] = [ERASED, ERASED_API, NUM, 'keep-a', 'keep-b'];
    const nameOf = (p: string | number) => (p === ERASED ? NAME : p === ERASED_API ? NAME_API : p === NUM ? NUM_NAME : `Keeper ${p}`);
    const finished = session('er-g1', [
      ['session.created', undefined, { gameType: 'impostor', tenant: 'chat-er', createdBy: ERASED }],
      ['session.started', undefined, {}],
      ...players.map((p): Spec => ['player.joined', p, { name: nameOf(p) }]),
      ...players.map((p): Spec => ['task.completed', p, { taskType: 'wires', xp: 10, description: `${p} fixed wires` }]),
      ...players.map((p): Spec => ['vote', p, { target: ERASED, round: 1 }]),
      ['vote', 'keep-a', { target: NUM, round: 2 }],
      ...players.map((p, i): Spec => ['player.outcome', p, { outcome: i % 2 ? 'loss' : 'win', xp: 20, score: 10 + i }]),
      ['chat.message', ERASED, { text: `hi, I am ${NAME}`, channel: 'all' }],
      ['chat.message', 'keep-a', { text: 'hello', channel: 'all' }],
      ['move', ERASED, { action: 'say', data: { words: SECRETS[0] } }],
      ['x.er.note', ERASED, { text: SECRETS[1] }],
      ['session.finished', undefined, { winners: [ERASED, 'keep-b', NUM], scores: { [ERASED]: 10, [NUM]: 12, 'keep-b': 14 } }],
    ]);
    const open = session('er-open', [
      ['session.created', undefined, { gameType: 'adventure', tenant: 'chat-er' }],
      ['session.started', undefined, {}],
      ['player.joined', ERASED, { name: NAME }],
      ['player.joined', 'keep-a', { name: 'Keeper keep-a' }],
      ['player.joined', NUM, { name: NUM_NAME }],
      ['agent.log', ERASED, { model: 'm1', prompt: `You are ${NAME}, play well`, response: 'ok' }],
      ['doc.put', ERASED, { collection: 'inventory', key: 'bag', owner: 'player', value: { items: ['sword'], by: NAME } }],
      ['doc.put', undefined, { collection: 'world', key: `characters/${ERASED}`, value: { hp: 3 }, expectedVersion: 0 }],
      ['doc.put', undefined, { collection: 'world', key: `characters/${ERASED}`, value: { hp: 2 }, expectedVersion: 1 }],
      ['doc.put', undefined, { collection: 'world', key: `${ERASED}/journal`, value: { pages: 1 } }],
      ['doc.put', undefined, { collection: 'world', key: 'seats', value: { holder: NUM, next: 'keep-a' } }],
      ['turn.result', undefined, { turn: 1, state: { players: [ERASED, 'keep-a', NUM], hp: { [ERASED]: 3, 'keep-a': 4 }, sheet: `characters/${ERASED}` } }],
    ]);
    await publish(finished);
    await publish(open);
    // Join-queue entries without a session, one by an integer id.
    await publish([
      { id: uuidv7(), type: 'queue.entered', at, player: ERASED, data: { tenant: 'chat-er', meta: { rank: 3 } } },
      { id: uuidv7(), type: 'queue.entered', at, player: NUM, data: { tenant: 'chat-er' } },
    ]);
    // Refused (chat without text): dead letters naming each player.
    await publish([{ id: uuidv7(), type: 'chat.message', sessionId: 'er-dl', seq: 1, at, player: ERASED, data: { channel: 'all' } }]);
    await publish([{ id: uuidv7(), type: 'chat.message', sessionId: 'er-dl', seq: 2, at, player: NUM, data: { channel: 'all' } }]);
    await waitFor('events stored', async () => {
      const [s] = await rows(ctx.fx.orm, `select (select count(*) from dead_letters) as d, (select count(*) from join_queue_entries) as q`);
      return (await eventCount('er-g1')) >= finished.length && (await eventCount('er-open')) >= open.length && Number(s!.d) >= 2 && Number(s!.q) >= 2;
    });
    await settle();
    // A job still queued (delayed an hour) carrying the player's events.
    await publish(session('er-late', [['chat.message', ERASED, { text: 'late' }]]), { delay: 3_600_000 });

    for (const [needle, where] of Object.entries(await mentionsOf([ERASED, NAME, String(NUM), ...SECRETS]))) expect(where, needle).not.toEqual([]);
    expect((await rows(ctx.fx.orm, `select 1 from join_queue_entries where player_id = $1 and session_id is null`, [ERASED])).length).toBe(1);
    expect((await rows(ctx.fx.orm, `select 1 from session_snapshots where session_id = 'er-open' and hash is not null`)).length).toBeGreaterThan(0);
    const before = await others();
    expect((await verifyAggregates(ctx.fx.orm, opts)).drift).toEqual([]);

    const cli = await runCli(['erase-player', ERASED, '--json'], env());
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    const first = JSON.parse(cli.stdout);
    expect(first.changed).toBe(true);
    const num = await runCli(['erase-player', String(NUM), '--json'], env());
    expect(num.code, num.stderr).toBe(0);
    const numReport = JSON.parse(num.stdout);

    const api = await post(`/v1/players/${ERASED_API}/erase`);
    expect(api.status).toBe(200);
    expect(await api.json()).toMatchObject({ changed: true, pseudonym: expect.stringMatching(/^erased-/) });
    // Not with a read key.
    const readKey = (await createApiKey(ctx.fx.orm, { name: 'reader', scopes: ['read'] })).key;
    expect((await post('/v1/players/keep-a/erase', readKey)).status).toBe(403);

    const gone = [ERASED, NAME, ERASED_API, NAME_API, String(NUM), NUM_NAME, ...SECRETS];
    expect(await mentionsOf(gone)).toEqual(noMentions(gone));
    expect((await verifyAggregates(ctx.fx.orm, opts)).drift).toEqual([]);
    expect((await verifySnapshots(ctx.fx.orm)).mismatches).toEqual([]);
    expect(await others()).toEqual(before);
    expect(first).toMatchObject({ reused: false, queue: { removed: { delayed: 1 }, inFlight: 0 } });
    expect(first.pseudonym).toMatch(/^erased-/);
    expect(first.counts).toMatchObject({
      'players.id': 1, 'players.name': 1, 'chat_messages.text': 1, 'agent_logs.prompt': 1, 'dead_letters': 1, 'documents.value': 1,
      'moves.data': 1, 'custom_events.data': 1, 'join_queue_entries.player_id': 1, 'documents.key': 2, 'document_events.doc_key': 3,
    });
    const [st] = await rows(ctx.fx.orm, `select games, wins from player_stats where player_id = $1 and scope = 'all'`, [first.pseudonym]);
    expect(st).toEqual({ games: 1, wins: 1 });
    // The integer id inside JSON became the pseudonym, a string, as the id's text forms did.
    const [g1] = await rows(ctx.fx.orm, `select winners, final_scores from sessions where id = 'er-g1'`);
    expect(g1).toEqual({ winners: [first.pseudonym, 'keep-b', numReport.pseudonym], final_scores: { [first.pseudonym]: 10, [numReport.pseudonym]: 12, 'keep-b': 14 } });
    expect((await rows(ctx.fx.orm, `select tenant, session_id from join_queue_entries where player_id = $1`, [first.pseudonym]))).toEqual([{ tenant: 'chat-er', session_id: null }]);

    // The unfinished session recovers: its state and documents under the re-keyed keys, versions as they were.
    const rec = await recoverSession(ctx.fx.orm, 'er-open', { documents: true });
    expect(rec).not.toBeNull();
    expect(JSON.stringify(rec)).not.toContain(ERASED);
    expect(rec!.state!.value).toEqual({ players: [first.pseudonym, 'keep-a', numReport.pseudonym], hp: { [first.pseudonym]: 3, 'keep-a': 4 }, sheet: `characters/${first.pseudonym}` });
    const docs = Object.fromEntries(rec!.documents!.items.map((d: any) => [`${d.collection}:${d.key}`, d]));
    expect(docs[`world:characters/${first.pseudonym}`]).toMatchObject({ value: { hp: 2 }, version: 2 });
    expect(docs[`world:${first.pseudonym}/journal`]).toMatchObject({ value: { pages: 1 }, version: 1 });
    expect(docs['world:seats']).toMatchObject({ value: { holder: numReport.pseudonym, next: 'keep-a' } });

    // ... and goes on: the worker writes new events onto the re-keyed rows, a conditional write on the
    // re-keyed document included.
    const more = session('er-open', [
      ['move', 'keep-a', { action: 'step' }],
      ['doc.put', undefined, { collection: 'world', key: `characters/${first.pseudonym}`, value: { hp: 1 }, expectedVersion: 2 }],
      ['turn.result', undefined, { turn: 2, patch: { hp: { 'keep-a': 5 } } }],
    ], open.length + 1);
    await publish(more);
    await waitFor('more stored', async () => (await eventCount('er-open')) >= open.length + more.length);
    await waitFor('applied', async () => Number((await rows(ctx.fx.orm, `select applied_seq from sessions where id = 'er-open'`))[0]!.applied_seq) === open.length + more.length);
    const [doc] = await rows(ctx.fx.orm, `select version, value from documents where session_id = 'er-open' and key = $1`, [`characters/${first.pseudonym}`]);
    expect(doc).toEqual({ version: 3, value: { hp: 1 } });
    expect((await recoverSession(ctx.fx.orm, 'er-open'))!.state!.value).toMatchObject({ hp: { [first.pseudonym]: 3, 'keep-a': 5 } });
    await settle();
    expect((await verifyAggregates(ctx.fx.orm, opts)).drift).toEqual([]);
    expect((await verifySnapshots(ctx.fx.orm)).mismatches).toEqual([]);
  }, 120_000);

  it('keeps no hash of the id anyone could recompute: the audit holds an HMAC under GP_ERASURE_KEY', async () => {
    const P = 'er-hmac-4c1d';
    const evs = session('er-hmac', [
      ['session.created', undefined, { gameType: 'impostor' }],
      ['player.joined', P, { name: 'Hmac Person' }],
    ]);
    await publish(evs);
    await waitFor('stored', async () => (await eventCount('er-hmac')) >= evs.length);
    const r = await runCli(['erase-player', P, '--json'], env());
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(await mentionsOf([sha256(P)])).toEqual(noMentions([sha256(P)]));
    const audit = await rows(ctx.fx.orm, `select id_hmac, pseudonym from erasures where pseudonym = $1`, [report.pseudonym]);
    expect(audit).toEqual([{ id_hmac: hmac(KEY, P), pseudonym: report.pseudonym }]);
    expect(hmac('another-key-0123456789abcdef0123456789', P)).not.toBe(audit[0]!.id_hmac);
    // Without the key, nothing is erased and the command says which variable to set.
    await rows(ctx.fx.orm, `insert into players (id, first_seen_at, last_seen_at) values ('er-kept', now(), now())`);
    const noKey = await runCli(['erase-player', 'er-kept', '--json'], testEnv(ctx.fx.db.url, ctx.prefix));
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('GP_ERASURE_KEY');
    expect((await rows(ctx.fx.orm, `select 1 from players where id = 'er-kept'`)).length).toBe(1);
  }, 60_000);

  it('erases late events by a second run (a new pseudonym where they collide with the first run\'s rows), then has nothing left', async () => {
    const P = 'er-late-8e2f';
    const PNAME = 'Latecomer Quill';
    const game = (id: string) =>
      session(id, [
        ['session.created', undefined, { gameType: 'impostor' }],
        ['player.joined', P, { name: PNAME }],
        ['player.joined', 'keep-late', { name: 'Keeper late' }],
        ['player.outcome', P, { outcome: 'win', xp: 5 }],
        ['player.outcome', 'keep-late', { outcome: 'loss', xp: 1 }],
        ['chat.message', P, { text: `still ${PNAME}` }],
        ['session.finished', undefined, { winners: [P] }],
      ]);
    const early = game('er-late1');
    await publish(early);
    await waitFor('early stored', async () => (await eventCount('er-late1')) >= early.length);
    await settle();
    const firstRun = await runCli(['erase-player', P, '--json'], env());
    expect(firstRun.code, firstRun.stderr).toBe(0);
    const one = JSON.parse(firstRun.stdout);
    // Events sent after the erasure: statistics of the id again, colliding with the pseudonym's.
    const late = game('er-late2');
    await publish(late);
    await waitFor('late stored', async () => (await eventCount('er-late2')) >= late.length);
    await settle();
    expect(await mentionsOf([P])).not.toEqual(noMentions([P]));
    const run = await runCli(['erase-player', P, '--json'], env());
    expect(run.code, run.stderr).toBe(0);
    const two = JSON.parse(run.stdout);
    expect(two).toMatchObject({ changed: true, reused: false });
    expect(two.pseudonym).not.toBe(one.pseudonym);
    expect(await mentionsOf([P, PNAME])).toEqual(noMentions([P, PNAME]));
    expect((await verifyAggregates(ctx.fx.orm, opts)).drift).toEqual([]);
    // Again, through the API: nothing left; every request audited.
    const again = await post(`/v1/players/${P}/erase`);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ changed: false, counts: {}, pseudonym: two.pseudonym, reused: true, queue: { removed: {}, inFlight: 0 } });
    const audit = await rows(ctx.fx.orm, `select requested_by, changed from erasures where id_hmac = $1 order by id`, [hmac(KEY, P)]);
    expect(audit).toEqual([
      { requested_by: expect.stringMatching(/^cli:/), changed: true },
      { requested_by: expect.stringMatching(/^cli:/), changed: true },
      { requested_by: expect.stringMatching(/^api-key:/), changed: false },
    ]);
    // The API's requests keep no id once done.
    expect(await rows(ctx.fx.orm, `select player_id, done_at is not null as done from erasure_requests where player_id is not null or done_at is null`)).toEqual([]);
  }, 90_000);

  it('answers 202 with a request id when the worker has not run it within waitMs, and the request can be read', async () => {
    await rows(ctx.fx.orm, `insert into players (id, name, first_seen_at, last_seen_at) values ('er-async', 'Async', now(), now())`);
    const r = await post('/v1/players/er-async/erase?waitMs=0');
    expect(r.status).toBe(202);
    const { requestId } = (await r.json()) as { requestId: number };
    await waitFor('request done', async () => ((await (await get(`/v1/erasures/${requestId}`)).json()) as { status: string }).status === 'done');
    expect(await (await get(`/v1/erasures/${requestId}`)).json()).toMatchObject({ requestId, status: 'done', error: null, report: { changed: true } });
    expect((await get('/v1/erasures/999999')).status).toBe(404);
  });
});

describe('export-player', () => {
  const P = 'ex-9d21';
  const OTHER = 'ex-other';
  const events = () => {
    const g = session('ex-g1', [
      ['session.created', undefined, { gameType: 'hokm', createdBy: P }],
      ['session.started', undefined, {}],
      ['player.joined', P, { name: 'Exa', team: 'A' }],
      ['player.joined', OTHER, { name: 'Other', team: 'B' }],
      ['move', P, { action: 'play', data: { card: 'AH' } }],
      ['move', OTHER, { action: 'play', data: { card: 'KS' } }],
      ['vote', P, { target: OTHER }],
      ['vote', OTHER, { target: P }],
      ['chat.message', P, { text: 'gg' }],
      ['chat.message', OTHER, { text: 'wp' }],
      ['task.completed', P, { taskType: 't', xp: 3 }],
      ['turn.result', P, { turn: 1, state: { a: 1 } }],
      ['agent.log', P, { model: 'm', prompt: 'p' }],
      ['doc.put', P, { collection: 'inv', key: 'bag', owner: 'player', value: { n: 1 } }],
      ['doc.put', OTHER, { collection: 'inv', key: 'bag', owner: 'player', value: { n: 2 } }],
      ['x.ex.custom', P, { any: 'thing' }],
      ['player.outcome', P, { outcome: 'win', xp: 10 }],
      ['player.outcome', OTHER, { outcome: 'loss', xp: 1 }],
      ['session.finished', undefined, { winners: [P] }],
    ]);
    return [
      ...g,
      { id: uuidv7(), type: 'queue.entered', at, player: P, data: { tenant: 'ex-t' } },
      { id: uuidv7(), type: 'queue.entered', at, player: OTHER, data: { tenant: 'ex-t' } },
    ];
  };

  it('streams every row kind about the player as NDJSON (CLI and API), none of another player, and refuses other keys', async () => {
    const evs = events();
    await publish(evs);
    await publish([{ id: uuidv7(), type: 'chat.message', sessionId: 'ex-dl', seq: 1, at, player: P, data: {} }]);
    await waitFor('export events stored', async () => (await eventCount('ex-g1')) >= evs.length - 2 && (await rows(ctx.fx.orm, `select 1 from dead_letters where session_id = 'ex-dl'`)).length === 1);
    await waitFor('queue entries', async () => (await rows(ctx.fx.orm, `select 1 from join_queue_entries where tenant = 'ex-t'`)).length === 2);
    await settle();
    await rateSession(ctx.fx.orm, 'ex-g1');

    const cli = await runCli(['export-player', P], testEnv(ctx.fx.db.url, ctx.prefix));
    expect(cli.code, cli.stderr).toBe(0);
    const res = await get(`/v1/players/${P}/export`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/x-ndjson');
    const apiText = await res.text();
    for (const text of [cli.stdout, apiText]) {
      const lines = text.trim().split('\n').map((l) => JSON.parse(l));
      expect(lines[0]).toMatchObject({ export: 'player', version: 1, player: P });
      const end = lines.at(-1);
      const body = lines.slice(1, -1);
      expect(end).toMatchObject({ end: true, total: body.length });
      const kinds = new Set(body.map((l) => `${l.table}.${l.match}`));
      for (const k of [
        'players.id', 'player_stats.player_id', 'session_participants.player_id', 'sessions.created_by', 'participant_events.player_id',
        'moves.player_id', 'votes.player_id', 'votes.target_id', 'chat_messages.player_id', 'task_logs.player_id', 'turn_results.player_id', 'agent_logs.player_id',
        'queue_events.player_id', 'document_events.player_id', 'custom_events.player_id', 'documents.owner', 'join_queue_entries.player_id', 'rated_sessions.participation',
        'dead_letters.payload',
      ])
        expect([...kinds], k).toContain(k);
      for (const l of body) {
        if (l.match === 'payload') expect(l.row.payload).toContain(JSON.stringify(P));
        else if (l.match === 'participation') expect(l.row.teams.flat()).toContain(P);
        else expect([l.table, l.row[l.match]]).toEqual([l.table, P]);
      }
      expect(body.filter((l) => l.table === 'custom_events')[0].row).toMatchObject({ type: 'x.ex.custom', data: { any: 'thing' } });
      expect(body.some((l) => l.table === 'player_stats' && l.row.scope === 'all' && l.row.rating !== null)).toBe(true);
    }
    const readKey = (await createApiKey(ctx.fx.orm, { name: 'ex-reader', scopes: ['read'] })).key;
    expect((await get(`/v1/players/${P}/export`, readKey)).status).toBe(403);
    // A tenant-restricted key never has admin (docs/http.md, "Tenants"): it cannot even be made.
    await expect(createApiKey(ctx.fx.orm, { name: 'ex-tenant', scopes: ['admin'], tenant: 'ex-t' })).rejects.toThrow(/cannot have the admin scope/);
    const tenantReader = (await createApiKey(ctx.fx.orm, { name: 'ex-tenant', scopes: ['read'], tenant: 'ex-t' })).key;
    expect((await get(`/v1/players/${P}/export`, tenantReader)).status).toBe(403);
  }, 60_000);
});

describe('the migration that keyed the audit', () => {
  it('removes the unsalted hashes of earlier erasures', async () => {
    const db = await emptyDatabase();
    const orm = await openOrm({ databaseUrl: db.url, poolMax: 1 });
    try {
      await orm.migrator.up({ to: 'Migration20261202043823_erasures' });
      await rows(orm, `insert into erasures (id_hash, pseudonym, requested_by, counts, queue, changed) values ($1, 'erased-x', 'cli:t', '{}', '{}', true)`, [sha256('old-player')]);
      await migrateUp(orm, db.url);
      const text = await rows<{ t: string }>(orm, `select e::text as t from erasures e`);
      expect(text).toHaveLength(1);
      expect(text[0]!.t).not.toContain(sha256('old-player'));
      expect((await rows(orm, `select column_name from information_schema.columns where table_name = 'erasures' and column_name = 'id_hash'`)).length).toBe(0);
    } finally {
      await orm.close();
      await db.drop();
    }
  });
});
