/**
 * Regressions of issue 9 ("sequence order is the truth"), one test per finding, each against real
 * services and each failing on ff459bf: events are published as a game server or a plain BullMQ
 * publisher would, in the order that broke the old code (a late job, a redelivery), and what is read
 * back must be what the events say in (seq, id) order — never what arrived or committed last.
 * Finding 9 (the SDK's counter after a Redis loss) is in test/integration/producer/sequences.test.ts,
 * finding 10 (session lifetimes) in test/integration/state/cleanup.test.ts.
 */
import canonicalize from 'canonicalize';
import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../../src/contract/ids.ts';
import { EVENT_TABLES } from '../../../src/db/families.ts';
import { createReader } from '../../../src/db/reader.ts';
import { createProducer } from '../../../src/producers/index.ts';
import { recoverSession, replay } from '../../../src/recovery/recover.ts';
// APIs this issue added, through the package entry: on the old code each test that needs one fails on its own.
import * as api from '../../../src/index.ts';
import { foldStatDeltas } from '../../../src/aggregates/write.ts';
import { rateFinishedSessions } from '../../../src/aggregates/ratings.ts';
import { verifyAggregates } from '../../../src/aggregates/verify.ts';
import { ContractError } from '../../../src/errors.ts';
import { runCli } from '../../helpers/cli.ts';
import { REDIS_URL, rows, testEnv, waitFor } from '../../helpers/services.ts';
import { plainQueue, workerFixture } from '../../helpers/worker.ts';

// Every turn snapshotted (so recovery has a snapshot and a tail to fold); ratings a second after a
// session is final and quiet; gaps never given up (the tests decide when late events arrive).
const ctx = workerFixture({ GP_SNAPSHOT_EVERY_TURNS: '1', GP_RATING_DELAY_S: '1', GP_GAP_TIMEOUT_S: '0', GP_STATS_FOLD_MS: '100' });

/** Event times from a fixed day, not today: nothing here depends on the date. */
const at = (seq: number) => new Date(Date.UTC(2030, 2, 10, 12, 0, seq)).toISOString();
type Ev = { id: string; type: string; sessionId: string | number; seq: number; at: string; player?: string | number; data: Record<string, unknown> };
function ev(sessionId: string, seq: number, type: string, data: Record<string, unknown> = {}, player?: string | number): Ev {
  return { id: uuidv7(), type, sessionId, seq, at: at(seq), ...(player !== undefined ? { player } : {}), data };
}
const json = (v: unknown) => canonicalize(v) as string;

/** RFC 7396, written here again so the test does not trust the code under test. */
function mergePatch(target: unknown, patch: unknown): any {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as object) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else Object.defineProperty(out, k, { value: mergePatch(out[k], v), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Each argument is one job, added in this order (a later job is a late delivery). */
async function publish(...jobs: unknown[][]) {
  const q = plainQueue(ctx.prefix);
  try {
    for (const events of jobs) await q.add('events', { v: 1, events });
  } finally {
    await q.close();
  }
}

async function stored(ids: string[]) {
  await waitFor(`${ids.length} events stored`, async () => {
    const [r] = await rows(ctx.fx.orm, `select count(*)::int as n from (
      ${EVENT_TABLES.map((t) => `select id from ${t}`).join(' union all ')}) e
      where id = any($1::uuid[])`, [ids]);
    return r.n === ids.length;
  });
  // The batch that stored the last one has committed; let a worker's follow-up jobs (snapshots) run.
  await new Promise((r) => setTimeout(r, 100));
}

const session = async (id: string) => (await rows(ctx.fx.orm, 'select * from sessions where id = $1', [id]))[0];

describe('issue 9: everything derived follows seq order', () => {
  it('1. recovery, replay and the CLI return user JSON exactly as sent: nulls (RFC 7396 deletes) and every key kept', async () => {
    const s = 'r1-nulls';
    const patch = { b: { c: null, d: [null, { e: null }] }, gone: null, keep: { x: null } };
    const events = [
      ev(s, 1, 'session.created', { gameType: 'rpg', settings: { a: null }, meta: { n: null } }),
      ev(s, 2, 'turn.result', { turn: 1, state: { a: 1, b: { c: 2 }, gone: true } }),
      ev(s, 3, 'turn.result', { turn: 2, patch, results: { r: null } }),
      ev(s, 4, 'move', { action: 'cast', data: { target: null, list: [null] } }, 'p1'),
    ];
    await publish(events);
    await stored(events.map((e) => e.id));
    await waitFor('snapshots hashed', async () => (await rows(ctx.fx.orm, 'select 1 from session_snapshots where session_id = $1 and hash is not null', [s])).length === 2);
    const reader = createReader(ctx.fx.db.url, { max: 2 });
    try {
      const rec = (await recoverSession(reader, s))!;
      expect(json(rec.state!.value)).toBe(json({ a: 1, b: { d: [null, { e: null }] }, keep: {} }));
      expect(rec.snapshot?.seq).toBe(3);
      expect(rec.tail.map((e) => json(e.data))).toEqual([json(events[3]!.data)]);
      // The snapshot after turn 1 plus what followed it folds to the live state only if the nulls survive.
      const [first] = await rows(ctx.fx.orm, 'select state from session_snapshots where session_id = $1 and seq = 2', [s]);
      const replayed = [];
      for await (const e of replay(reader, s)) replayed.push(e);
      expect(replayed.map((e) => json(e.data))).toEqual(events.map((e) => json(e.data)));
      const folded = replayed.filter((e) => e.seq > 2 && e.type === 'turn.result').reduce((st, e) => mergePatch(st, e.data.patch), first.state);
      expect(json(folded)).toBe(json(rec.state!.value));
    } finally {
      await reader.close();
    }
    const env = testEnv(ctx.fx.db.url, ctx.prefix);
    const cli = await runCli(['sessions', 'replay', s, '--json'], env);
    expect(cli.code).toBe(0);
    expect(cli.stdout.trim().split('\n').map((l) => json(JSON.parse(l).data))).toEqual(events.map((e) => json(e.data)));
    const rec = await runCli(['sessions', 'recover', s], env);
    expect(json(JSON.parse(rec.stdout).tail.find((e: Ev) => e.seq === 4).data)).toBe(json(events[3]!.data));
  });

  it('2. the first end by seq is the end: a redelivered earlier abandon wins over a later finish, which is not rated or counted', async () => {
    const s = 'r2-end';
    const head = [
      ev(s, 1, 'session.created', { gameType: 'duel', tenant: 'r2-chat' }),
      ev(s, 2, 'player.joined', {}, 'r2-a'),
      ev(s, 3, 'player.joined', {}, 'r2-b'),
    ];
    const abandon = ev(s, 4, 'session.abandoned', { reason: 'host left' });
    const finish = ev(s, 5, 'session.finished', { winners: ['r2-a'], result: 'a wins' });
    const afterEnd = ev(s, 6, 'session.finished', { winners: ['r2-b'], result: 'b wins' });
    await publish([...head, finish, afterEnd]);
    await stored([...head, finish, afterEnd].map((e) => e.id));
    await publish([abandon]); // the job that carried seq 4 comes back late (a redelivery after a crash)
    await stored([abandon.id]);
    const row = await session(s);
    expect(row).toMatchObject({ status: 'abandoned', end_reason: 'host left', winners: null, final_scores: null, result: null });
    expect(new Date(row.ended_at).toISOString()).toBe(at(4));
    await rateFinishedSessions(ctx.fx.orm, 0);
    expect((await session(s)).rated_at).toBeNull();
    const parts = await rows(ctx.fx.orm, 'select player_id, eff_outcome from session_participants where session_id = $1 order by player_id', [s]);
    expect(parts).toEqual([{ player_id: 'r2-a', eff_outcome: null }, { player_id: 'r2-b', eff_outcome: null }]);
    await foldStatDeltas(ctx.fx.orm, 10, { timeZone: 'UTC' });
    const [st] = await rows(ctx.fx.orm, `select games, wins from player_stats where player_id = 'r2-a' and scope = 'all'`);
    expect(st).toMatchObject({ games: 0, wins: 0 });
  });

  it('3. ratings wait until everything before the end is stored and the game type is known; an outcome after rating marks it stale, and verify says so', async () => {
    const s = 'r3-rate';
    const players = ['r3-a', 'r3-b', 'r3-c', 'r3-d'];
    const created = ev(s, 1, 'session.created', { gameType: 'r3-game' });
    const outcomes = players.map((p, i) => ev(s, 2 + i, 'player.outcome', { outcome: i === 0 ? 'win' : 'loss' }, p));
    const finish = ev(s, 6, 'session.finished', { winners: ['r3-a'] });
    // The end and three outcomes, no session.created yet; the fourth outcome (seq 5) is late.
    await publish([...outcomes.slice(0, 3), finish]);
    await stored([...outcomes.slice(0, 3), finish].map((e) => e.id));
    await new Promise((r) => setTimeout(r, 1500)); // past GP_RATING_DELAY_S
    await rateFinishedSessions(ctx.fx.orm, 0);
    expect((await session(s)).rated_at).toBeNull();
    expect((await session(s)).final_at).toBeNull();
    await publish([outcomes[3]]);
    await stored([outcomes[3]!.id]);
    expect((await session(s)).final_at).toBeNull(); // seq 1 still missing
    await rateFinishedSessions(ctx.fx.orm, 0);
    expect((await session(s)).rated_at).toBeNull();
    await publish([created]);
    await stored([created.id]);
    // The worker rates it by itself about GP_RATING_DELAY_S after the session became final and quiet.
    await waitFor('rated', async () => (await session(s)).rated_at !== null, 15_000);
    const [rated] = await rows(ctx.fx.orm, 'select game_type, teams, ranks from rated_sessions where session_id = $1', [s]);
    expect(rated).toEqual({ game_type: 'r3-game', teams: [['r3-a'], ['r3-b'], ['r3-c'], ['r3-d']], ranks: [1, 3, 3, 3] });
    const [gameRating] = await rows(ctx.fx.orm, `select rated_games from player_stats where player_id = 'r3-d' and scope = 'game:r3-game'`);
    expect(gameRating.rated_games).toBe(1);
    // A correction after the rating: recorded, not silently ignored.
    const late = ev(s, 7, 'player.outcome', { outcome: 'win' }, 'r3-d');
    await publish([late]);
    await stored([late.id]);
    expect((await session(s)).rating_stale).toBe(true);
    await foldStatDeltas(ctx.fx.orm, 10, { timeZone: 'UTC' });
    const report = await verifyAggregates(ctx.fx.orm, { timeZone: 'UTC', winRateMinGames: 10 });
    expect(report.drift.filter((d) => d.kind === 'ratings_input').map((d) => d.key)).toEqual([s]);
  });

  it('4. the final snapshot is the state after every turn before the end, even when the end commits first', async () => {
    const s = 'r4-final';
    const turns = [1, 2, 3, 4].map((t) => ev(s, 1 + t, 'turn.result', { turn: t, patch: { [`t${t}`]: t } }));
    const created = ev(s, 1, 'session.created', { gameType: 'r4' });
    const finish = ev(s, 6, 'session.finished', { result: 'done' });
    await publish([created, ...turns.slice(0, 3), finish]);
    await stored([created, ...turns.slice(0, 3), finish].map((e) => e.id));
    expect(await rows(ctx.fx.orm, 'select seq from session_snapshots where session_id = $1 and final', [s])).toEqual([]);
    await publish([turns[3]]);
    await stored([turns[3]!.id]);
    await waitFor('final snapshot hashed', async () => (await rows(ctx.fx.orm, 'select 1 from session_snapshots where session_id = $1 and final and hash is not null', [s])).length === 1);
    const [snap] = await rows(ctx.fx.orm, 'select seq, state from session_snapshots where session_id = $1 and final', [s]);
    expect(snap).toEqual({ seq: '6', state: { t1: 1, t2: 2, t3: 3, t4: 4 } });
  });

  it('4b. an end that arrives late closes the state where it stands: turns after it, and their snapshots, leave it', async () => {
    const s = 'r4b-late-end';
    const events = [
      ev(s, 1, 'session.created', { gameType: 'r4b' }),
      ev(s, 2, 'turn.result', { turn: 1, state: { a: 1 } }),
      ev(s, 4, 'turn.result', { turn: 2, state: { after: 'the end' }, stateHash: 'the-game-servers-own' }),
    ];
    const end = ev(s, 3, 'session.finished', { result: 'done' });
    await publish([...events, ev(s, 3, 'move', { action: 'placeholder' })]); // seq 3 taken, so turn 4 folds
    await stored(events.map((e) => e.id));
    await waitFor('the server snapshot at seq 4', async () => (await rows(ctx.fx.orm, 'select 1 from session_snapshots where session_id = $1 and seq = 4 and hash is not null', [s])).length === 1);
    await publish([end]);
    await stored([end.id]);
    await waitFor('final snapshot hashed', async () => (await rows(ctx.fx.orm, 'select 1 from session_snapshots where session_id = $1 and final and hash is not null', [s])).length === 1);
    const [state] = await rows(ctx.fx.orm, 'select state from session_states where session_id = $1', [s]);
    expect(state.state).toEqual({ a: 1 });
    expect((await rows(ctx.fx.orm, 'select seq, final from session_snapshots where session_id = $1 order by seq', [s])).map((r) => [r.seq, r.final])).toEqual([['2', false], ['3', true]]);
    const reader = createReader(ctx.fx.db.url, { max: 1 });
    try {
      const rec = (await recoverSession(reader, s))!;
      expect(rec.snapshot).toMatchObject({ seq: 3, value: { a: 1 } });
      expect(rec.session.endSeq).toBe(3);
    } finally {
      await reader.close();
    }
  });

  it('5. __proto__ and constructor keys in a patch are ordinary keys of the live state and the snapshots', async () => {
    const s = 'r5-proto';
    // JSON text, as another language sends it: an object literal would set the prototype instead.
    const events = JSON.parse(`[
      {"id": "${uuidv7()}", "type": "turn.result", "sessionId": "${s}", "seq": 1, "at": "${at(1)}", "data": {"turn": 1, "state": {"a": 1}}},
      {"id": "${uuidv7()}", "type": "turn.result", "sessionId": "${s}", "seq": 2, "at": "${at(2)}",
       "data": {"turn": 2, "patch": {"__proto__": {"polluted": true}, "constructor": {"name": "x"}, "prototype": 1, "b": 2}}}]`);
    await publish(events);
    await stored(events.map((e: Ev) => e.id));
    await waitFor('snapshot hashed', async () => (await rows(ctx.fx.orm, `select 1 from session_snapshots where session_id = $1 and seq = 2 and hash is not null`, [s])).length === 1);
    const want = JSON.parse('{"a": 1, "__proto__": {"polluted": true}, "constructor": {"name": "x"}, "prototype": 1, "b": 2}');
    const [state] = await rows(ctx.fx.orm, `select state::text as t from session_states where session_id = $1`, [s]);
    expect(json(JSON.parse(state.t))).toBe(json(want));
    const [snap] = await rows(ctx.fx.orm, `select state::text as t from session_snapshots where session_id = $1 and seq = 2`, [s]);
    expect(json(JSON.parse(snap.t))).toBe(json(want));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('6. join-queue events do not count in a session\'s event_count or last_seq', async () => {
    const s = 'r6-queue';
    const events = [
      ev(s, 1, 'session.created', { gameType: 'lobby', tenant: 'r6' }),
      ev(s, 2, 'player.joined', {}, 'r6-a'),
      { id: uuidv7(), type: 'queue.entered', sessionId: s, seq: 9, at: at(9), player: 'r6-b', data: { tenant: 'r6' } },
      { id: uuidv7(), type: 'queue.left', sessionId: s, seq: 10, at: at(10), player: 'r6-b', data: { tenant: 'r6' } },
    ];
    await publish(events);
    await stored(events.map((e) => e.id));
    expect(await session(s)).toMatchObject({ event_count: '2', last_seq: '2' });
  });

  it('7. integer session ids are the same session as their text everywhere', async () => {
    const events = [ev('90210', 1, 'session.created', { gameType: 'ints' }), { ...ev('90210', 2, 'move', { action: 'go' }, 7), sessionId: 90210 }];
    await publish(events);
    await stored(events.map((e) => e.id));
    const reader = createReader(ctx.fx.db.url, { max: 1 });
    try {
      const rec = await recoverSession(reader, 90210);
      expect(rec?.session.id).toBe('90210');
      expect(rec?.tail.map((e) => e.seq)).toEqual([1, 2]);
      const all = [];
      for await (const e of replay(reader, 90210)) all.push(e);
      expect(all).toHaveLength(2);
    } finally {
      await reader.close();
    }
  });

  it('8. numbers beyond 2^53 are refused by name, at the producer and at the worker, and the events beside them land', async () => {
    const s = 'r8-big';
    const p = createProducer({ connection: REDIS_URL, prefix: ctx.prefix });
    try {
      await expect(p.move({ sessionId: s, action: 'x', data: { id: 2 ** 60 } })).rejects.toMatchObject({ name: 'ContractError', field: 'data.data.id' });
      await expect(p.move({ sessionId: s, action: 'x', data: { id: 2 ** 60 } })).rejects.toBeInstanceOf(ContractError);
    } finally {
      await p.close();
    }
    const good = ev(s, 1, 'move', { action: 'ok', data: { n: Number.MAX_SAFE_INTEGER } });
    const badId = uuidv7();
    // As a Python server sends it: the digits of a 64-bit id, which JSON.parse rounds.
    const bad = JSON.parse(`{"id": "${badId}", "type": "move", "sessionId": "${s}", "seq": 2, "at": "${at(2)}", "data": {"action": "no", "data": {"snowflake": 1152921504606846977}}}`);
    await publish([good, bad]);
    await stored([good.id]);
    await waitFor('dead letter', async () => (await rows(ctx.fx.orm, 'select 1 from dead_letters where event_id = $1', [badId])).length === 1);
    const [dl] = await rows(ctx.fx.orm, 'select field, reason from dead_letters where event_id = $1', [badId]);
    expect(dl.field).toBe('data.data.snowflake');
    expect(dl.reason).toMatch(/2\^53/);
    const [m] = await rows(ctx.fx.orm, `select data->>'n' as n from moves where session_id = $1`, [s]);
    expect(m.n).toBe(String(Number.MAX_SAFE_INTEGER));
  });

  it('9. a seq issued twice (a counter rolled back) is flagged, never silent, and the state folds both in id order', async () => {
    const s = 'r9-conflict';
    const first = [
      ev(s, 1, 'session.created', { gameType: 'r9' }),
      ev(s, 2, 'turn.result', { turn: 1, state: { log: [] as string[] } }),
      ev(s, 3, 'turn.result', { turn: 2, patch: { a: 1 } }),
      ev(s, 4, 'turn.result', { turn: 3, patch: { c: 3 } }),
    ];
    await publish(first);
    await stored(first.map((e) => e.id));
    // Seq 3 again, with another id that sorts after the first (a re-issued number), below the watermark.
    const again = { ...ev(s, 3, 'turn.result', { turn: 2, patch: { a: null, b: 2 } }), id: first[2]!.id.replace(/.$/, (c) => (c === 'f' ? 'e' : 'f')) };
    const ordered = [first[2]!, again].sort((x, y) => (x.id < y.id ? -1 : 1));
    await publish([again]);
    await stored([again.id]);
    const row = await session(s);
    expect(row).toMatchObject({ seq_conflicts: 2, applied_seq: '4', event_count: '5' });
    const conflicts = await rows(ctx.fx.orm, 'select event_id, seq, type from seq_conflicts where session_id = $1 order by event_id', [s]);
    expect(conflicts).toEqual(ordered.map((e) => ({ event_id: e.id, seq: '3', type: 'turn.result' })));
    // The state is the fold in (seq, id) order, as if both had always been there.
    const want = ordered.reduce((st, e) => mergePatch(st, e.data.patch), { log: [] } as Record<string, unknown>);
    const [state] = await rows(ctx.fx.orm, 'select state from session_states where session_id = $1', [s]);
    expect(state.state).toEqual(mergePatch(want, { c: 3 }));
  });

  it('11. a tail longer than the limit says so and pages on with a cursor', async () => {
    const s = 'r11-tail';
    const events = Array.from({ length: 12 }, (_, i) => ev(s, i + 1, 'chat.message', { text: `m${i + 1}` }, 'p'));
    await publish(events);
    await stored(events.map((e) => e.id));
    const reader = createReader(ctx.fx.db.url, { max: 1 });
    try {
      const rec = (await recoverSession(reader, s, { tailLimit: 5 }))!;
      expect(rec.tail.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
      expect(rec.tailCursor).not.toBeNull();
      const seen = [...rec.tail.map((e) => e.seq)];
      for (let cursor = rec.tailCursor; cursor; ) {
        const page = await api.recoverTail(reader, s, cursor, { limit: 5 });
        seen.push(...page.events.map((e) => e.seq));
        cursor = page.cursor;
      }
      expect(seen).toEqual(events.map((e) => e.seq));
      expect((await recoverSession(reader, s, { tailLimit: 12 }))!.tailCursor).toBeNull();
    } finally {
      await reader.close();
    }
  });

  it('12. read-your-writes: a restarting server learns the last seq it issued and waits until it is persisted', async () => {
    const s = 'r12-ryw';
    const p = createProducer({ connection: REDIS_URL, prefix: ctx.prefix });
    for (let t = 1; t <= 20; t++) p.turnResult({ sessionId: s, turn: t, patch: { [`k${t}`]: t } }).catch(() => {});
    await p.flush();
    const issued = await p.lastSeq(s);
    expect(issued).toBe(20);
    await p.close();
    const reader = createReader(ctx.fx.db.url, { max: 1 });
    try {
      const done = await api.waitPersisted(reader, s, issued, { timeoutMs: 15_000 });
      expect(done.appliedSeq).toBeGreaterThanOrEqual(20);
      const rec = (await recoverSession(reader, s, { issuedSeq: issued }))!;
      expect(rec.persisted).toEqual({ issuedSeq: 20, appliedSeq: 20, notPersisted: 0 });
      expect(Object.keys(rec.state!.value)).toHaveLength(20);
      // Issued but not stored (a job still in flight, or lost): said, and the wait times out with a typed error.
      const late = 'r12-gap';
      const sent = [ev(late, 1, 'move', { action: 'a' }), ev(late, 3, 'move', { action: 'c' })];
      await publish(sent);
      await stored(sent.map((e) => e.id));
      expect((await recoverSession(reader, late, { issuedSeq: 4 }))!.persisted).toEqual({ issuedSeq: 4, appliedSeq: 1, notPersisted: 2 });
      await expect(api.waitPersisted(reader, late, 3, { timeoutMs: 300 })).rejects.toMatchObject({ name: 'TimeoutError', code: 'timeout' });
      const cli = await runCli(['sessions', 'wait', late, '--seq', '3', '--timeout-ms', '300'], testEnv(ctx.fx.db.url, ctx.prefix));
      expect(cli.code).toBe(1);
      expect(cli.stderr).toMatch(/persisted through seq 1, not 3/);
      const ok = await runCli(['sessions', 'wait', s, '--json'], testEnv(ctx.fx.db.url, ctx.prefix));
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({ seq: 20, appliedSeq: 20 });
    } finally {
      await reader.close();
    }
  });

  it("13. the seeds' vocabulary: lose, integer teams, and outcomes from a finish's winners or team scores", async () => {
    const liap = 'r13-liap'; // seed 001: only a finish with winners
    const hokm = 'r13-hokm'; // seed 002: integer teams, only team scores
    const impostor = 'r13-imp'; // seed 000: "lose"
    const events = [
      ev(liap, 1, 'session.created', { gameType: 'liap-tui' }),
      ...['l1', 'l2', 'l3', 'l4'].map((p, i) => ev(liap, 2 + i, 'player.joined', { position: i }, p)),
      ev(liap, 6, 'session.finished', { winners: ['l3'], scores: { l1: 20, l2: 35, l3: 61, l4: 12 } }),
      ev(hokm, 1, 'session.created', { gameType: 'hokm' }),
      ...['h1', 'h2', 'h3', 'h4'].map((p, i) => ev(hokm, 2 + i, 'player.joined', { team: (i % 2) + 1 }, p)),
      ev(hokm, 6, 'session.finished', { scores: { 1: 7, 2: 4 } }),
      ev(impostor, 1, 'session.created', { gameType: 'impostor' }),
      ev(impostor, 2, 'player.joined', { team: 'crew' }, 'i1'),
      ev(impostor, 3, 'player.outcome', { outcome: 'lose', xp: 5 }, 'i1'),
      ev(impostor, 4, 'session.finished', { winners: ['impostors'] }),
    ];
    await publish(events);
    await stored(events.map((e) => e.id));
    const eff = async (s: string) =>
      Object.fromEntries((await rows(ctx.fx.orm, 'select player_id, team, eff_outcome from session_participants where session_id = $1', [s])).map((r) => [r.player_id, [r.team, r.eff_outcome]]));
    expect(await eff(liap)).toEqual({ l1: [null, 'loss'], l2: [null, 'loss'], l3: [null, 'win'], l4: [null, 'loss'] });
    expect(await eff(hokm)).toEqual({ h1: ['1', 'win'], h2: ['2', 'loss'], h3: ['1', 'win'], h4: ['2', 'loss'] });
    expect(await eff(impostor)).toEqual({ i1: ['crew', 'loss'] });
    const [outcome] = await rows(ctx.fx.orm, `select outcome from participant_events where session_id = $1 and type = 'player.outcome'`, [impostor]);
    expect(outcome.outcome).toBe('loss');
    await foldStatDeltas(ctx.fx.orm, 10, { timeZone: 'UTC' });
    const stats = await rows(ctx.fx.orm, `select player_id, games, wins from player_stats where scope = 'all' and player_id in ('l3', 'l1', 'h1', 'h2') order by player_id`);
    expect(stats).toEqual([
      { player_id: 'h1', games: 1, wins: 1 },
      { player_id: 'h2', games: 1, wins: 0 },
      { player_id: 'l1', games: 1, wins: 0 },
      { player_id: 'l3', games: 1, wins: 1 },
    ]);
    await waitFor('hokm rated by teams', async () => (await session(hokm)).rated_at !== null, 15_000);
    const [r] = await rows(ctx.fx.orm, 'select teams, ranks from rated_sessions where session_id = $1', [hokm]);
    expect(r).toEqual({ teams: [['h1', 'h3'], ['h2', 'h4']], ranks: [1, 3] });
  });
});
