/**
 * Retention (GP_RETAIN_*_DAYS): a session finished long ago loses exactly its chat, moves, agent logs
 * and other events (turn results, document and game events) older than each class's days, and keeps
 * its lifecycle, participant, task and vote events; a session finished recently, an unfinished one and
 * one abandoned for idleness (no end event) keep every row and recover as before; old dead letters go,
 * new ones stay; verify stays at zero and rebuild keeps every statistic; a second run deletes nothing;
 * days at 0 delete nothing. Times are set by SQL and the runs take a fixed clock (the CLI's, the system
 * clock, runs on rows from 2000 and from 2999).
 */
import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../../src/contract/ids.ts';
import { fixedClock } from '../../../src/clock.ts';
import { loadConfig } from '../../../src/config.ts';
import { verifyAggregates } from '../../../src/aggregates/verify.ts';
import { rebuildAggregates } from '../../../src/aggregates/rebuild.ts';
import { foldStatDeltas } from '../../../src/aggregates/write.ts';
import { recoverSession } from '../../../src/recovery/recover.ts';
import { runCleanup, startJobs, RETENTION_QUEUE } from '../../../src/jobs/boss.ts';
import { runRetention } from '../../../src/ops/retention.ts';
import { EVENT_TABLES } from '../../../src/db/families.ts';
import { RETENTION_TABLES } from '../../../src/db/retention.ts';
import { createMetrics, METRIC } from '../../../src/metrics/metrics.ts';
import { createLogger } from '../../../src/log.ts';
import { ConfigError } from '../../../src/errors.ts';
import { rows, testConfig, testEnv, waitFor } from '../../helpers/services.ts';
import { runCli } from '../../helpers/cli.ts';
import { plainQueue, workerFixture } from '../../helpers/worker.ts';

const opts = { timeZone: 'UTC', winRateMinGames: 1 };
const SETTINGS = { GP_JOBS: 'false', GP_WIN_RATE_MIN_GAMES: '1', GP_STATS_FOLD_MS: '60000', GP_STATS_TZ: 'UTC' };
/** The runs' clock; "old" rows are from January, "new" ones from the end of June (cutoffs at 30 days: June 1st). */
const NOW = fixedClock('2030-07-01T00:00:00Z');
const OLD = '2030-01-01T00:00:00Z';
const NEW = '2030-06-28T00:00:00Z';
const DAYS30 = { chat: 30, moves: 30, agent_logs: 30, events: 30, idle: 0, dead_letters: 30 };
const NONE = { chat: 0, moves: 0, agent_logs: 0, events: 0, idle: 0, dead_letters: 0 };
const at = new Date().toISOString();

type Ev = [type: string, player: string | undefined, data: Record<string, unknown>];

/** A game with one event of every kind retention knows (and of every kept kind), ended or not. */
function game(id: string, end: boolean): Ev[] {
  return [
    ['session.created', undefined, { gameType: 'impostor', tenant: 'chat-rt' }],
    ['session.started', undefined, {}],
    ['player.joined', `${id}-a`, { name: 'Ana' }],
    ['player.joined', `${id}-b`, { name: 'Bo' }],
    ['move', `${id}-a`, { action: 'walk', turn: 1 }],
    ['move', `${id}-b`, { action: 'kill', turn: 1 }],
    ['chat.message', `${id}-a`, { text: 'who?', channel: 'all' }],
    ['chat.message', `${id}-b`, { text: 'not me', channel: 'all' }],
    ['agent.log', `${id}-b`, { model: 'm1', prompt: 'play as Bo', response: 'ok' }],
    ['task.completed', `${id}-a`, { taskType: 'wires', xp: 10 }],
    ['vote', `${id}-a`, { target: `${id}-b`, round: 1 }],
    ['turn.result', undefined, { turn: 1, state: { alive: [`${id}-a`, `${id}-b`], round: 1 } }],
    ['turn.result', undefined, { turn: 2, state: { alive: [`${id}-a`], round: 2 } }],
    ['doc.put', undefined, { collection: 'map', key: 'm', value: { rooms: 3 } }],
    ['x.rt.note', `${id}-a`, { n: 1 }],
    ...(end
      ? ([
          ['player.outcome', `${id}-a`, { outcome: 'win', xp: 20, score: 7 }],
          ['player.outcome', `${id}-b`, { outcome: 'loss', xp: 5, score: 2 }],
          ['session.finished', undefined, { winners: [`${id}-a`] }],
          // After the end: a late chat message, written recently (kept: younger than the cutoff).
          ['chat.message', `${id}-a`, { text: 'gg', channel: 'all' }],
        ] as Ev[])
      : []),
  ];
}

function events(id: string, evs: Ev[]) {
  return evs.map(([type, player, data], i) => ({ id: uuidv7(), type, sessionId: id, seq: i + 1, at, ...(player ? { player } : {}), data }));
}

type Ctx = ReturnType<typeof workerFixture>;

async function publish(ctx: Ctx, list: unknown[]) {
  const q = plainQueue(ctx.prefix);
  try {
    await q.add('events', { v: 1, events: list });
  } finally {
    await q.close();
  }
}

/** Publishes sessions and waits until every event is stored. */
async function ingest(ctx: Ctx, sessions: Record<string, Ev[]>, deadLetters = 0) {
  const before = Number((await rows(ctx.fx.orm, `select count(*) as n from dead_letters`))[0]!.n);
  for (const [id, evs] of Object.entries(sessions)) await publish(ctx, events(id, evs));
  await waitFor('events stored', async () => {
    for (const [id, evs] of Object.entries(sessions)) {
      const [s] = await rows(ctx.fx.orm, `select applied_seq from sessions where id = $1`, [id]);
      if (Number(s?.applied_seq ?? 0) < evs.length) return false;
    }
    return Number((await rows(ctx.fx.orm, `select count(*) as n from dead_letters`))[0]!.n) >= before + deadLetters;
  });
}

/** Sets when a session's rows were written (every event table) and, when given, when it became final. */
async function age(ctx: Ctx, id: string, recordedAt: string, finalAt?: string) {
  for (const t of EVENT_TABLES) await rows(ctx.fx.orm, `update ${t} set recorded_at = $2 where session_id = $1`, [id, recordedAt]);
  if (finalAt) await rows(ctx.fx.orm, `update sessions set final_at = $2 where id = $1 and final_at is not null`, [id, finalAt]);
}

/** Row counts of every event table for session `id`. */
async function tableCounts(ctx: Ctx, id: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of EVENT_TABLES) {
    const [r] = await rows(ctx.fx.orm, `select count(*)::int as n from ${t} where session_id = $1`, [id]);
    out[t] = r!.n;
  }
  return out;
}

const stats = (ctx: Ctx) =>
  rows(ctx.fx.orm, `select player_id, scope, games, wins, losses, xp::int, tasks, votes, last_played_at, win_rate, best_score from player_stats order by 1, 2`);

describe('retention', () => {
  const ctx = workerFixture(SETTINGS);

  it('deletes exactly each class of finished sessions past its days, keeps unfinished and idle sessions whole, and the aggregates exact', async () => {
    await ingest(ctx, { 'rt-old': game('rt-old', true), 'rt-recent': game('rt-recent', true), 'rt-open': game('rt-open', false), 'rt-idle': game('rt-idle', false) });
    // Two refused events (chat without text): dead letters.
    await publish(ctx, [{ id: uuidv7(), type: 'chat.message', sessionId: 'rt-dl', seq: 1, at, player: 'p', data: {} }]);
    await publish(ctx, [{ id: uuidv7(), type: 'chat.message', sessionId: 'rt-dl', seq: 2, at, player: 'p', data: {} }]);
    await waitFor('dead letters', async () => Number((await rows(ctx.fx.orm, `select count(*) as n from dead_letters`))[0]!.n) >= 2);
    // rt-open waits behind a gap whose event was refused (a dead letter, old: kept while the gap is open).
    const openLen = game('rt-open', false).length;
    await publish(ctx, [{ id: uuidv7(), type: 'chat.message', sessionId: 'rt-open', seq: openLen + 1, at, player: 'rt-open-a', data: {} }]);
    await waitFor('dead letters', async () => Number((await rows(ctx.fx.orm, `select count(*) as n from dead_letters`))[0]!.n) >= 3);
    await publish(ctx, [{ id: uuidv7(), type: 'chat.message', sessionId: 'rt-open', seq: openLen + 2, at, player: 'rt-open-a', data: { text: 'anyone?' } }]);
    await waitFor('gap open', async () => (await rows(ctx.fx.orm, `select 1 from sessions where id = 'rt-open' and gap_since is not null`)).length === 1);
    const dl = (await rows<{ id: string }>(ctx.fx.orm, `select id from dead_letters order by id`)).map((r) => r.id);
    await rows(ctx.fx.orm, `update dead_letters set created_at = $2 where id = $1`, [dl[0], OLD]);
    await rows(ctx.fx.orm, `update dead_letters set created_at = $2 where id = $1`, [dl[1], NEW]);
    await rows(ctx.fx.orm, `update dead_letters set created_at = $2 where id = $1`, [dl[2], OLD]);
    expect((await rows(ctx.fx.orm, `select session_id from dead_letters where id = $1`, [dl[2]]))[0]).toEqual({ session_id: 'rt-open' });

    // rt-idle: abandoned for idleness by the clean-up (no end event: not final).
    await rows(ctx.fx.orm, `update sessions set updated_at = now() - interval '2 hours' where id = 'rt-idle'`);
    const cleanup = await runCleanup(ctx.fx.orm, testConfig(ctx.fx.db.url, ctx.prefix, { GP_ABANDON_AFTER_S: '60' }), undefined, NOW);
    expect(cleanup.abandoned).toContain('rt-idle');
    for (const id of ['rt-old', 'rt-open', 'rt-idle']) await age(ctx, id, OLD, OLD);
    // rt-recent's rows are as old, but it ended recently: kept until it has been final for the days too.
    await age(ctx, 'rt-recent', OLD, NEW);
    // rt-old's late chat message was written recently.
    await rows(ctx.fx.orm, `update chat_messages set recorded_at = $1 where session_id = 'rt-old' and text = 'gg'`, [NEW]);
    // And one more, after the end, stored behind a sequence gap (its seq skips one), old: it waits to be applied, so it stays.
    const ahead = game('rt-old', true).length + 2;
    await publish(ctx, [{ id: uuidv7(), type: 'chat.message', sessionId: 'rt-old', seq: ahead, at, player: 'rt-old-b', data: { text: 'wait' } }]);
    await waitFor('event behind a gap', async () => (await rows(ctx.fx.orm, `select 1 from chat_messages where session_id = 'rt-old' and seq = $1`, [ahead])).length === 1);
    await rows(ctx.fx.orm, `update chat_messages set recorded_at = $1 where session_id = 'rt-old' and seq = $2`, [OLD, ahead]);
    const [fin] = await rows(ctx.fx.orm, `select (select final_at from sessions where id = 'rt-old') as old, (select final_at from sessions where id = 'rt-open') as open,
      (select final_at from sessions where id = 'rt-idle') as idle, (select status from sessions where id = 'rt-idle') as idle_status`);
    expect(fin).toMatchObject({ open: null, idle: null, idle_status: 'abandoned' });
    expect(new Date(fin!.old).toISOString()).toBe(new Date(OLD).toISOString());

    await foldStatDeltas(ctx.fx.orm, 1, opts);
    expect((await verifyAggregates(ctx.fx.orm, opts)).drift).toEqual([]);
    const before = Object.fromEntries(await Promise.all(['rt-old', 'rt-recent', 'rt-open', 'rt-idle'].map(async (id) => [id, await tableCounts(ctx, id)] as const)));
    const recovered = { open: await recoverSession(ctx.fx.orm, 'rt-open', { documents: true }), idle: await recoverSession(ctx.fx.orm, 'rt-idle', { documents: true }) };
    expect(recovered.open?.state).toMatchObject({ value: { alive: ['rt-open-a'], round: 2 }, turn: 2 });
    const statsBefore = await stats(ctx);

    // Days at 0 (unset): nothing, not even counted.
    const none = await runRetention(ctx.fx.orm, { retentionDays: NONE }, NOW);
    expect(Object.values(none.classes).map((c) => c.deleted)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(none.classes.chat).toEqual({ days: 0, cutoff: null, deleted: 0 });

    // Dry run: counts what would go, deletes nothing.
    const dry = await runRetention(ctx.fx.orm, { retentionDays: DAYS30 }, NOW, { dryRun: true });
    expect(dry.classes.chat).toEqual({ days: 30, cutoff: '2030-06-01T00:00:00.000Z', deleted: 2 });
    expect(dry.tables).toEqual({ chat_messages: 2, moves: 2, agent_logs: 1, turn_results: 2, document_events: 1, custom_events: 1, dead_letters: 1 });
    expect(await tableCounts(ctx, 'rt-old')).toEqual(before['rt-old']);

    // One class at a time (chunks of 1 row, pages of 1 session: the loops run over several statements).
    const chatOnly = await runRetention(ctx.fx.orm, { retentionDays: { ...NONE, chat: 30 } }, NOW, { chunk: 1, sessionPage: 1 });
    expect(chatOnly.tables).toEqual({ chat_messages: 2 });
    expect(await tableCounts(ctx, 'rt-old')).toEqual({ ...before['rt-old'], chat_messages: 2 });
    const late = await rows(ctx.fx.orm, `select text from chat_messages where session_id = 'rt-old' order by seq`);
    expect(late).toEqual([{ text: 'gg' }, { text: 'wait' }]);

    const all = await runRetention(ctx.fx.orm, { retentionDays: DAYS30 }, NOW, { chunk: 1, sessionPage: 1 });
    expect(Object.fromEntries(Object.entries(all.classes).map(([c, v]) => [c, v.deleted]))).toEqual({ chat: 0, moves: 2, agent_logs: 1, events: 4, idle: 0, dead_letters: 1 });
    const classed = Object.values(RETENTION_TABLES).flat();
    expect(await tableCounts(ctx, 'rt-old')).toEqual({
      ...before['rt-old'],
      ...Object.fromEntries(classed.map((t) => [t, 0])),
      chat_messages: 2,
    });
    // The aggregates' sources of the finished session are all there.
    expect(before['rt-old']!.session_events).toBeGreaterThan(0);
    for (const id of ['rt-recent', 'rt-open', 'rt-idle']) expect(await tableCounts(ctx, id), id).toEqual(before[id]);
    expect((await rows(ctx.fx.orm, `select id from dead_letters order by id`)).map((r) => r.id)).toEqual([dl[1], dl[2]]);

    // Unfinished and idle sessions recover exactly as before; verify at zero; rebuild loses nothing.
    expect(await recoverSession(ctx.fx.orm, 'rt-open', { documents: true })).toEqual(recovered.open);
    expect(await recoverSession(ctx.fx.orm, 'rt-idle', { documents: true })).toEqual(recovered.idle);
    expect((await verifyAggregates(ctx.fx.orm, opts)).drift).toEqual([]);
    await rebuildAggregates(ctx.fx.orm, opts);
    expect((await verifyAggregates(ctx.fx.orm, opts)).drift).toEqual([]);
    expect(await stats(ctx)).toEqual(statsBefore);
    expect(statsBefore.find((s) => s.player_id === 'rt-old-a' && s.scope === 'all')).toMatchObject({ games: 1, wins: 1, tasks: 1, votes: 1, xp: 30 });

    // Idempotent.
    const again = await runRetention(ctx.fx.orm, { retentionDays: DAYS30 }, NOW);
    expect(again.tables).toEqual({});
  }, 60_000);

  it('refuses a bad chunk size and bad days, naming them', async () => {
    await expect(runRetention(ctx.fx.orm, { retentionDays: DAYS30 }, NOW, { chunk: 0 })).rejects.toThrow(/chunk must be a positive integer/);
    expect(() => loadConfig({ GP_RETAIN_CHAT_DAYS: '-1' })).toThrow(ConfigError);
    expect(() => loadConfig({ GP_RETAIN_MOVES_DAYS: 'week' })).toThrow(/GP_RETAIN_MOVES_DAYS must be an integer/);
    expect(loadConfig({ GP_RETAIN_AGENT_LOGS_DAYS: '90' }).retentionDays).toEqual({ ...NONE, agent_logs: 90 });
  });
});

describe('the idle class (GP_RETAIN_IDLE_DAYS)', () => {
  const ctx = workerFixture(SETTINGS);

  it('deletes the event classes\' rows of sessions never finished with nothing written for its days, keeps what verify and recovery need, and their next event brings them back', async () => {
    const world = game('ri-world', false);
    world[0] = ['session.created', undefined, { gameType: 'world', settings: { idleTimeoutS: 0 } }];
    await ingest(ctx, { 'ri-idle': game('ri-idle', false), 'ri-world': world, 'ri-busy': game('ri-busy', false), 'ri-done': game('ri-done', true) });
    // ri-idle abandoned for idleness by the clean-up; ri-world never is (idleTimeoutS 0); both silent since January.
    await rows(ctx.fx.orm, `update sessions set updated_at = now() - interval '2 hours' where id = 'ri-idle'`);
    expect((await runCleanup(ctx.fx.orm, testConfig(ctx.fx.db.url, ctx.prefix, { GP_ABANDON_AFTER_S: '60' }), undefined, NOW)).abandoned).toEqual(['ri-idle']);
    for (const id of ['ri-idle', 'ri-world', 'ri-busy', 'ri-done']) await age(ctx, id, OLD, OLD);
    await rows(ctx.fx.orm, `update sessions set updated_at = $1 where id in ('ri-idle', 'ri-world', 'ri-done')`, [OLD]);
    // ri-busy's rows are as old, but something was written to it recently.
    await rows(ctx.fx.orm, `update sessions set updated_at = $1 where id = 'ri-busy'`, [NEW]);
    await foldStatDeltas(ctx.fx.orm, 1, opts);
    const before = Object.fromEntries(await Promise.all(['ri-idle', 'ri-world', 'ri-busy', 'ri-done'].map(async (id) => [id, await tableCounts(ctx, id)] as const)));
    const recovered = await recoverSession(ctx.fx.orm, 'ri-idle', { documents: true });
    const statsBefore = await stats(ctx);

    const idle30 = { ...NONE, idle: 30 };
    const dry = await runRetention(ctx.fx.orm, { retentionDays: idle30 }, NOW, { dryRun: true });
    expect(dry.classes.idle).toEqual({ days: 30, cutoff: '2030-06-01T00:00:00.000Z', deleted: 18 });
    expect(await tableCounts(ctx, 'ri-idle')).toEqual(before['ri-idle']);
    const run = await runRetention(ctx.fx.orm, { retentionDays: idle30 }, NOW, { chunk: 1, sessionPage: 1 });
    expect(run.classes.idle.deleted).toBe(18);
    expect(run.tables).toEqual({ chat_messages: 4, moves: 4, agent_logs: 2, turn_results: 4, document_events: 2, custom_events: 2 });
    const classed = Object.fromEntries(Object.values(RETENTION_TABLES).flat().map((t) => [t, 0]));
    for (const id of ['ri-idle', 'ri-world']) expect(await tableCounts(ctx, id), id).toEqual({ ...before[id], ...classed });
    for (const id of ['ri-busy', 'ri-done']) expect(await tableCounts(ctx, id), id).toEqual(before[id]);

    // Not ended: still unfinished (abandoned for idleness stays so), its live state, snapshots and documents kept.
    expect(await rows(ctx.fx.orm, `select id, status, end_seq, final_at from sessions where id in ('ri-idle', 'ri-world') order by id`)).toEqual([
      { id: 'ri-idle', status: 'abandoned', end_seq: null, final_at: null },
      { id: 'ri-world', status: 'started', end_seq: null, final_at: null },
    ]);
    const after = await recoverSession(ctx.fx.orm, 'ri-idle', { documents: true });
    expect(after!.state).toEqual(recovered!.state);
    expect(after!.documents).toEqual(recovered!.documents);
    expect(after!.participants).toEqual(recovered!.participants);
    expect((await verifyAggregates(ctx.fx.orm, opts)).drift).toEqual([]);
    expect(await stats(ctx)).toEqual(statsBefore);
    expect((await runRetention(ctx.fx.orm, { retentionDays: idle30 }, NOW)).tables).toEqual({});

    // Its next event brings it back.
    const next = game('ri-idle', false).length + 1;
    await publish(ctx, [{ id: uuidv7(), type: 'chat.message', sessionId: 'ri-idle', seq: next, at, player: 'ri-idle-a', data: { text: 'back' } }]);
    await waitFor('back', async () => (await rows(ctx.fx.orm, `select status from sessions where id = 'ri-idle' and applied_seq = $1`, [next]))[0]?.status === 'started');
    expect((await verifyAggregates(ctx.fx.orm, opts)).drift).toEqual([]);
  }, 60_000);
});

describe('retention on its pg-boss schedule', () => {
  const ctx = workerFixture(SETTINGS);

  it('is scheduled hourly, and a run deletes, counts per class in gp_retention_deleted_total', async () => {
    await ingest(ctx, { 'rs-old': game('rs-old', true) });
    await age(ctx, 'rs-old', OLD, OLD);
    const cfg = testConfig(ctx.fx.db.url, ctx.prefix, { GP_RETAIN_CHAT_DAYS: '30', GP_RETAIN_MOVES_DAYS: '30' });
    const jobs = await startJobs(cfg, ctx.fx.orm, createLogger('silent'), NOW);
    const queue = plainQueue(ctx.prefix);
    try {
      const schedules = await jobs.boss.getSchedules();
      expect(schedules.find((s) => s.name === RETENTION_QUEUE)).toMatchObject({ cron: '17 * * * *' });
      await jobs.boss.send(RETENTION_QUEUE, {});
      await waitFor('retention job', () => jobs.retained.moves > 0);
      // Every row of rs-old is old here, its late chat message included.
      expect(jobs.retained).toEqual({ chat: 3, moves: 2, agent_logs: 0, events: 0, idle: 0, dead_letters: 0 });
      expect(await tableCounts(ctx, 'rs-old')).toMatchObject({ chat_messages: 0, moves: 0, agent_logs: 1, turn_results: 2 });
      const metrics = createMetrics({ orm: ctx.fx.orm, redis: null, queue, draining: () => false, version: 'test', retention: jobs.retained });
      const text = await metrics.registry.getSingleMetricAsString(METRIC.retentionDeleted);
      expect(text).toContain(`${METRIC.retentionDeleted}{class="chat"} 3`);
      expect(text).toContain(`${METRIC.retentionDeleted}{class="moves"} 2`);
      expect(text).toContain(`${METRIC.retentionDeleted}{class="events"} 0`);
    } finally {
      await queue.close();
      await jobs.stop();
    }
  }, 60_000);
});

describe('game-persist retention', () => {
  const ctx = workerFixture(SETTINGS);

  it('runs once and prints the counts per class; --dry-run deletes nothing', async () => {
    await ingest(ctx, { 'rc-2000': game('rc-2000', true), 'rc-2999': game('rc-2999', true) });
    await age(ctx, 'rc-2000', '2000-01-01T00:00:00Z', '2000-01-01T00:00:00Z');
    await age(ctx, 'rc-2999', '2999-01-01T00:00:00Z', '2999-01-01T00:00:00Z');
    const env = testEnv(ctx.fx.db.url, ctx.prefix, { GP_RETAIN_AGENT_LOGS_DAYS: '30', GP_RETAIN_EVENTS_DAYS: '30' });
    const dry = await runCli(['retention', '--dry-run', '--json'], env);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, tables: { agent_logs: 1, turn_results: 2, document_events: 1, custom_events: 1 } });
    expect(await tableCounts(ctx, 'rc-2000')).toMatchObject({ agent_logs: 1, turn_results: 2 });

    const run = await runCli(['retention'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^agent_logs: deleted 1 \(older than 30 days: before /m);
    expect(run.stdout).toMatch(/^events: deleted 4 /m);
    expect(run.stdout).toMatch(/^chat: kept forever \(GP_RETAIN_CHAT_DAYS unset or 0\)$/m);
    expect(await tableCounts(ctx, 'rc-2000')).toMatchObject({ agent_logs: 0, turn_results: 0, document_events: 0, custom_events: 0, chat_messages: 3, moves: 2 });
    expect(await tableCounts(ctx, 'rc-2999')).toMatchObject({ agent_logs: 1, turn_results: 2, document_events: 1, custom_events: 1 });

    const bad = await runCli(['retention'], { ...env, GP_RETAIN_CHAT_DAYS: 'forever' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('GP_RETAIN_CHAT_DAYS');
  }, 60_000);
});
