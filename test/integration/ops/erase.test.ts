/**
 * `erase-player` (CLI) and POST /v1/players/:id/erase: after a player played, chatted, called an agent,
 * owned a document, had an event refused and a job still queued, neither their id nor their name is
 * left in any column of any table; verify reports no drift; the other players' statistics are the same;
 * an unfinished session still recovers; a repeat changes nothing; every request is audited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../../../src/api/server.ts';
import { createApiKey } from '../../../src/api/keys.ts';
import { uuidv7 } from '../../../src/contract/ids.ts';
import { verifyAggregates } from '../../../src/aggregates/verify.ts';
import { foldStatDeltas } from '../../../src/aggregates/write.ts';
import { recoverSession } from '../../../src/recovery/recover.ts';
import { idHash } from '../../../src/ops/erase-player.ts';
import { REDIS_URL, rows, testConfig, testEnv, waitFor } from '../../helpers/services.ts';
import { runCli } from '../../helpers/cli.ts';
import { plainQueue, workerFixture } from '../../helpers/worker.ts';

const opts = { timeZone: 'UTC', winRateMinGames: 1 };
const ctx = workerFixture({ GP_JOBS: 'false', GP_WIN_RATE_MIN_GAMES: '1', GP_STATS_FOLD_MS: '60000' });
const ERASED = 'er-7f3a9c';
const NAME = 'Zelda Quuxworth';
const ERASED_API = 'er-api-51b0';
const NAME_API = 'Ygritte Vandermolen';
const at = new Date().toISOString();

let app: FastifyInstance;
let base = '';
let redis: Redis;
let adminKey = '';

function session(id: string, events: [type: string, player: string | undefined, data: Record<string, unknown>][]) {
  return events.map(([type, player, data], i) => ({ id: uuidv7(), type, sessionId: id, seq: i + 1, at, ...(player ? { player } : {}), data }));
}

async function publish(events: unknown[], jobOpts: Record<string, unknown> = {}) {
  const q = plainQueue(ctx.prefix);
  try {
    await q.add('events', { v: 1, events }, jobOpts);
  } finally {
    await q.close();
  }
}

/** Every table's text, jsonb and array columns that contain `needle`, as `table.column`. */
async function mentions(needle: string): Promise<string[]> {
  const cols = await rows<{ table_name: string; column_name: string }>(
    ctx.fx.orm,
    `select c.table_name, c.column_name from information_schema.columns c join information_schema.tables t using (table_schema, table_name)
     where c.table_schema = current_schema() and t.table_type = 'BASE TABLE' and c.data_type in ('text', 'jsonb', 'ARRAY', 'character varying')`,
  );
  const found: string[] = [];
  for (const c of cols) {
    const [r] = await rows<{ n: string }>(ctx.fx.orm, `select count(*) as n from "${c.table_name}" where strpos("${c.column_name}"::text, $1) > 0`, [needle]);
    if (Number(r!.n)) found.push(`${c.table_name}.${c.column_name}`);
  }
  return found;
}

const others = async () =>
  rows(ctx.fx.orm, `select player_id, scope, games, wins, xp::int, tasks, votes, win_rate, best_score from player_stats where player_id like 'keep-%' order by 1, 2`);

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  app = await buildApi({ cfg: testConfig(ctx.fx.db.url, ctx.prefix), orm: ctx.fx.orm, redis });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  adminKey = (await createApiKey(ctx.fx.orm, { name: 'admin', scopes: ['admin'] })).key;
});
afterAll(async () => {
  await app?.close();
  redis?.disconnect();
});

describe('erase-player', () => {
  it('leaves neither id nor name anywhere, keeps the aggregates exact and sessions recoverable, and is idempotent and audited', async () => {
    const players = [ERASED, ERASED_API, 'keep-a', 'keep-b'];
    const finished = session('er-g1', [
      ['session.created', undefined, { gameType: 'impostor', tenant: 'chat-er', createdBy: ERASED }],
      ['session.started', undefined, {}],
      ...players.map((p) => ['player.joined', p, { name: p === ERASED ? NAME : p === ERASED_API ? NAME_API : `Keeper ${p}` }] as [string, string, Record<string, unknown>]),
      ...players.map((p) => ['task.completed', p, { taskType: 'wires', xp: 10, description: `${p} fixed wires` }] as [string, string, Record<string, unknown>]),
      ...players.map((p) => ['vote', p, { target: ERASED, round: 1 }] as [string, string, Record<string, unknown>]),
      ...players.map((p, i) => ['player.outcome', p, { outcome: i % 2 ? 'loss' : 'win', xp: 20, score: 10 + i }] as [string, string, Record<string, unknown>]),
      ['chat.message', ERASED, { text: `hi, I am ${NAME}`, channel: 'all' }],
      ['chat.message', 'keep-a', { text: 'hello', channel: 'all' }],
      ['session.finished', undefined, { winners: [ERASED, 'keep-b'] }],
    ]);
    const open = session('er-open', [
      ['session.created', undefined, { gameType: 'adventure', tenant: 'chat-er' }],
      ['session.started', undefined, {}],
      ['player.joined', ERASED, { name: NAME }],
      ['player.joined', 'keep-a', { name: 'Keeper keep-a' }],
      ['agent.log', ERASED, { model: 'm1', prompt: `You are ${NAME}, play well`, response: 'ok' }],
      ['doc.put', ERASED, { collection: 'inventory', key: 'bag', owner: 'player', value: { items: ['sword'], by: NAME } }],
      ['turn.result', undefined, { turn: 1, state: { players: [ERASED, 'keep-a'], hp: { [ERASED]: 3, 'keep-a': 4 } } }],
    ]);
    await publish(finished);
    await publish(open);
    // Refused (chat without text): a dead letter naming the player.
    await publish([{ id: uuidv7(), type: 'chat.message', sessionId: 'er-dl', seq: 1, at, player: ERASED, data: { channel: 'all' } }]);
    await waitFor('events stored', async () => {
      const [s] = await rows(ctx.fx.orm, `select (select event_count from sessions where id = 'er-g1') as g, (select event_count from sessions where id = 'er-open') as o, (select count(*) from dead_letters) as d`);
      return Number(s!.g) >= finished.length && Number(s!.o) >= open.length && Number(s!.d) >= 1;
    });
    await new Promise((r) => setTimeout(r, 200));
    await foldStatDeltas(ctx.fx.orm, 1, opts);
    // A job still queued (delayed an hour) carrying the player's events.
    await publish(session('er-late', [['chat.message', ERASED, { text: 'late' }]]), { delay: 3_600_000 });

    expect(await mentions(ERASED)).not.toEqual([]);
    expect(await mentions(NAME)).not.toEqual([]);
    const before = await others();
    expect((await verifyAggregates(ctx.fx.orm, opts)).drift).toEqual([]);

    const env = testEnv(ctx.fx.db.url, ctx.prefix);
    const cli = await runCli(['erase-player', ERASED, '--json'], env);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    const first = JSON.parse(cli.stdout);
    expect(first.changed).toBe(true);
    expect(first.pseudonym).toMatch(/^erased-/);
    expect(first.queue).toEqual({ removed: { delayed: 1 }, inFlight: 0 });
    expect(first.counts).toMatchObject({ 'players.id': 1, 'players.name': 1, 'chat_messages.text': 1, 'agent_logs.prompt': 1, 'dead_letters': 1, 'documents.value': 1 });

    const api = await fetch(`${base}/v1/players/${ERASED_API}/erase`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}` } });
    expect(api.status).toBe(200);
    expect(((await api.json()) as { changed: boolean }).changed).toBe(true);
    // Not with a read key.
    const readKey = (await createApiKey(ctx.fx.orm, { name: 'reader', scopes: ['read'] })).key;
    expect((await fetch(`${base}/v1/players/keep-a/erase`, { method: 'POST', headers: { authorization: `Bearer ${readKey}` } })).status).toBe(403);

    for (const needle of [ERASED, NAME, ERASED_API, NAME_API]) expect(await mentions(needle), needle).toEqual([]);
    expect((await verifyAggregates(ctx.fx.orm, opts)).drift).toEqual([]);
    expect(await others()).toEqual(before);
    const [st] = await rows(ctx.fx.orm, `select games, wins from player_stats where player_id = $1 and scope = 'all'`, [first.pseudonym]);
    expect(st).toEqual({ games: 1, wins: 1 });

    const rec = await recoverSession(ctx.fx.orm, 'er-open');
    expect(rec).not.toBeNull();
    expect(JSON.stringify(rec)).not.toContain(ERASED);
    expect(JSON.stringify(rec)).toContain(first.pseudonym);

    // Again, through the API: nothing left; both requests audited.
    const again = await fetch(`${base}/v1/players/${ERASED}/erase`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}` } });
    const second = await again.json();
    expect(second).toMatchObject({ changed: false, counts: {}, pseudonym: first.pseudonym, queue: { removed: {}, inFlight: 0 } });
    const audit = await rows(ctx.fx.orm, `select requested_by, changed from erasures where id_hash = $1 order by id`, [idHash(ERASED)]);
    expect(audit).toEqual([
      { requested_by: expect.stringMatching(/^cli:/), changed: true },
      { requested_by: expect.stringMatching(/^api-key:/), changed: false },
    ]);
    expect((await verifyAggregates(ctx.fx.orm, opts)).drift).toEqual([]);
  }, 60_000);
});
