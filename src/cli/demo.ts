/**
 * The main job: create and migrate the database, start a worker, play a few sessions of each seed
 * game through the SDK (plus one malformed event sent with plain BullMQ), wait until every job is
 * acknowledged, and print what was persisted.
 */
import type { Config } from '../config.ts';
import { redactUrl } from '../config.ts';
import { EVENT_TABLES } from '../db/families.ts';
import { ensureDatabase, migrateUp } from '../db/migrate.ts';
import { openOrm } from '../db/orm.ts';
import { query } from '../db/query.ts';
import { GAME_KINDS, playSession } from '../loadgen/games.ts';
import { createLogger } from '../log.ts';
import { createProducer } from '../producers/producer.ts';
import { startWorker } from '../workers/worker.ts';
import { intFlag, type Flags } from './args.ts';
import { leaderboard } from '../aggregates/read.ts';
import { rateFinishedSessions } from '../aggregates/ratings.ts';
import { verifyAggregates } from '../aggregates/verify.ts';
import { replay, type HistoryEvent } from '../recovery/recover.ts';

/** The tables whose row counts the demo prints: the derived ones, every event table, the join queue and dead letters. */
const TABLES = ['sessions', 'session_participants', 'players', ...EVENT_TABLES, 'join_queue_entries', 'dead_letters'];

/** A few words about an event for the demo's history (its typed fields are under their names in `data`). */
function detail(e: HistoryEvent): string {
  const d = e.data;
  const v = d.gameType ?? d.winners ?? d.team ?? d.outcome ?? d.action ?? d.taskType ?? d.text ?? d.model ?? '';
  const card = (d.data as { card?: { rank?: unknown; suit?: unknown } } | undefined)?.card;
  return (typeof v === 'string' ? v : JSON.stringify(v)) + (card ? ` ${card.rank} of ${card.suit}` : '');
}

export async function runDemo(cfg: Readonly<Config>, flags: Flags): Promise<number> {
  const perKind = intFlag(flags, 'sessions', 2);
  const out = (s: string) => !flags.json && console.log(s);
  await ensureDatabase(cfg.databaseUrl);
  const orm = await openOrm({ databaseUrl: cfg.databaseUrl, poolMax: cfg.dbPoolMax });
  // The demo prints its own summary; the worker's logs would only interleave with it.
  const log = createLogger(cfg.logLevel === 'info' ? 'error' : cfg.logLevel);
  try {
    const applied = await migrateUp(orm);
    out(`database ${redactUrl(cfg.databaseUrl)}: ${applied.length ? `applied ${applied.length} migration(s)` : 'up to date'}`);
    const worker = await startWorker(cfg, { log, orm });
    const producer = createProducer({ connection: cfg.redisUrl, prefix: cfg.queuePrefix, queueName: cfg.queueName });
    const run = Date.now().toString(36);
    let emitted = 0;
    const t0 = performance.now();
    try {
      const plays: Promise<number>[] = [];
      for (const [k, kind] of GAME_KINDS.entries())
        for (let i = 0; i < perKind; i++) {
          const players = Array.from({ length: 7 }, (_, j) => `${kind}-player-${(i * 3 + j) % 12}`);
          plays.push(playSession(producer, kind, { sessionId: `demo-${run}-${kind}-${i}`, tenant: `${kind}-chat-${i % 2}`, players, seed: k * 1000 + i, rounds: 4 }));
        }
      emitted = (await Promise.all(plays)).reduce((a, b) => a + b, 0);
      // What a game server without our SDK might send by mistake: it is dead-lettered, nothing else is lost.
      await producer.queue.add('events', { v: 1, events: [{ id: 'not-a-uuid', type: 'vote', sessionId: `demo-${run}-bad`, seq: 1, at: new Date().toISOString(), data: {} }] });
      out(`emitted ${emitted} valid events in ${GAME_KINDS.length * perKind} sessions, and 1 malformed one`);
      for (;;) {
        const c = await producer.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
        if (!c.waiting && !c.active && !c.delayed && !c.prioritized) break;
        // A batch that failed past its retries goes back to the queue for ever: say so instead of waiting.
        if (worker.stats.failedBatches) throw new Error('the worker could not write a batch (see the error above); is the database migrated by this version?');
        await new Promise((r) => setTimeout(r, 25));
      }
    } finally {
      await producer.close();
      await worker.close();
    }
    const ms = Math.round(performance.now() - t0);
    const em = orm.em.fork();
    const counts: Record<string, number> = {};
    for (const t of TABLES) counts[t] = Number((await query<{ n: string }>(em, `select count(*) as n from ${t}`))[0].n);
    const sessions = await query<Record<string, unknown>>(
      em,
      `select id, game_type, tenant, status, event_count, last_seq from sessions where id like $1 order by id`,
      [`demo-${run}-%`],
    );
    const dead = await query<Record<string, unknown>>(em, `select id, reason_code, reason from dead_letters order by id desc limit 3`);
    // One session's first events across event tables, in sequence order: what a replay reads.
    const history: { seq: number; type: string; player_id: string | null; detail: string }[] = [];
    for await (const e of replay(orm, `demo-${run}-hokm-0`, { pageSize: 12 })) {
      history.push({ seq: e.seq, type: e.type, player_id: e.player, detail: detail(e) });
      if (history.length === 12) break;
    }
    // Aggregates: rate the sessions that just finished (a worker's minute schedule would), then read them back and check them.
    const { rated } = await rateFinishedSessions(orm, 0);
    const board = await leaderboard(orm, { by: 'xp', limit: 5 });
    const check = await verifyAggregates(orm, { timeZone: cfg.statsTimeZone, winRateMinGames: cfg.winRateMinGames });
    const summary = {
      run, emitted, ms, worker: { ...worker.stats, lag: worker.stats.lag.summary() }, tables: counts, sessions, history, deadLetters: dead,
      leaderboard: board, ratedSessions: rated, aggregateDrift: check.drift.length,
    };
    if (flags.json) console.log(JSON.stringify(summary));
    else {
      out(`worker committed ${worker.stats.inserted} events in ${worker.stats.batches} batches (${worker.stats.duplicates} duplicates, ${worker.stats.deadLettered} dead-lettered) in ${ms} ms\n`);
      out('rows per table (whole database):');
      for (const [t, n] of Object.entries(counts)) out(`  ${t.padEnd(22)} ${String(n).padStart(8)}`);
      out('\nsessions of this run:');
      out(`  ${'id'.padEnd(34)} ${'game'.padEnd(10)} ${'tenant'.padEnd(18)} ${'status'.padEnd(10)} events`);
      for (const s of sessions) out(`  ${String(s.id).padEnd(34)} ${String(s.game_type).padEnd(10)} ${String(s.tenant).padEnd(18)} ${String(s.status).padEnd(10)} ${s.event_count}`);
      out(`\nfirst events of demo-${run}-hokm-0, in sequence order across tables:`);
      for (const h of history) out(`  ${String(h.seq).padStart(3)}  ${String(h.type).padEnd(16)} ${String(h.player_id ?? '').padEnd(18)} ${h.detail}`);
      out('\nnewest dead letters:');
      for (const d of dead) out(`  #${d.id} ${d.reason_code}: ${d.reason}`);
      out(`\n🏆 global leaderboard by XP (${board.players} players; \`npm run gp -- leaderboard --help\` for more):`);
      for (const r of board.rows) out(`  ${String(r.rank).padStart(2)}. ${r.playerId.padEnd(24)} ✨ ${String(r.value).padStart(6)} XP  🎮 ${r.games} games, ${r.wins} won`);
      out(`${rated} finished sessions rated; \`verify\`: ${check.drift.length} drift(s) between the aggregates and the events`);
    }
    const ok = worker.stats.inserted === emitted && worker.stats.deadLettered >= 1 && check.drift.length === 0;
    if (!ok) console.error(`demo: expected ${emitted} new events and 1 dead letter, got ${worker.stats.inserted} and ${worker.stats.deadLettered}`);
    return ok ? 0 : 1;
  } finally {
    await orm.close();
  }
}
