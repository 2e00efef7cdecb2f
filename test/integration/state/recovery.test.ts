/**
 * Recovery as a restarted game server uses it: recover every active session, continue from the
 * recovered state, and end where a game that never restarted would; replay the audit trail.
 */
import { describe, expect, it } from 'vitest';
import { validateEvent } from '../../../src/contract/validate.ts';
import { createProducer } from '../../../src/producers/index.ts';
import { recoverActiveSessions, recoverSession, recoverSessions, replay } from '../../../src/recovery/recover.ts';
import { createReader, ormReader, type Reader } from '../../../src/db/reader.ts';
import { NEWEST_SNAPSHOTS_SQL } from '../../../src/db/sql/snapshots.ts';
import { RECOVERY_TAIL_SQL } from '../../../src/db/sql/history.ts';
import { stateHash } from '../../../src/snapshots/hash.ts';
import { mergePatch } from '../../../src/contract/merge-patch.ts';
import { allTypesEvents } from '../../helpers/examples.ts';
import { BACKENDS, queueUrl, rows, uniqueName, waitFor } from '../../helpers/services.ts';
import { plainQueue, workerFixture } from '../../helpers/worker.ts';

/** What the game does on turn t of a room: a move, then a turn result (a full state every 4 turns). */
function turnResult(room: number, t: number, state: Record<string, unknown>) {
  const next = { ...state, turn: t, [`p${t % 3}`]: (Number(state[`p${t % 3}`] ?? 0) + room + t) };
  return t % 4 === 0 ? { state: next, next } : { patch: { turn: t, [`p${t % 3}`]: next[`p${t % 3}`] }, next };
}

// On both queue backends: BullMQ on Redis, and on PostgreSQL (GP_QUEUE_BACKEND=postgres).
describe.each(BACKENDS)('recovery on %s', (backend) => {
  const ctx = workerFixture({}, backend);
  const connection = () => queueUrl(backend, ctx.fx.db.url);
  it('returns a tail that fits the snapshot and state it returns, even when a snapshot is hashed while it reads', async () => {
    // Found by the Python client's restart test under load: the tail was read concurrently with the
    // snapshot, so a snapshot hashed in between cut the tail after it while no snapshot was returned.
    const id = uniqueName('race');
    const p = createProducer({ connection: connection(), prefix: ctx.prefix });
    const patches = [{ map: { a1: 'plains', b2: 'forest' }, gold: 10 }, { gold: 12, units: { u1: 10 } }, { map: { b2: null, c3: 'hills' } }];
    await p.sessionCreated({ sessionId: id, gameType: 'fourx' });
    for (const [i, patch] of patches.entries()) await p.turnResult({ sessionId: id, turn: i + 1, patch });
    await p.close();
    await waitFor('the turns', async () => (await rows(ctx.fx.orm, 'select seq from session_states where session_id = $1', [id]))[0]?.seq === '4');
    const truth = patches.reduce<Record<string, unknown>>((s, x) => mergePatch(s, x) as Record<string, unknown>, {});
    const afterTurn1 = mergePatch({}, patches[0]!);
    // No snapshot yet as far as recovery can see (the fold's first one may be pending or hashed).
    await rows(ctx.fx.orm, 'delete from session_snapshots where session_id = $1', [id]);

    // The snapshot read runs first and sees none; a snapshot of turn 1 is hashed; then the tail is read.
    const base = ormReader(ctx.fx.orm);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const racing: Reader = {
      async read(sql, params) {
        if (sql === RECOVERY_TAIL_SQL) await gate;
        const out = await base.read(sql, params);
        if (sql === NEWEST_SNAPSHOTS_SQL) {
          await rows(ctx.fx.orm, `insert into session_snapshots (session_id, seq, turn, state, hash, reason) values ($1, 2, 1, $2::jsonb, $3, 'interval')
            on conflict (session_id, seq) do update set state = excluded.state, hash = excluded.hash`, [id, JSON.stringify(afterTurn1), stateHash(afterTurn1 as Record<string, unknown>)]);
          release();
        }
        return out as never;
      },
      close: () => base.close(),
    };
    // Two sessions asked at once: their statements run concurrently (one session alone is read in one
    // statement, which sees one moment and cannot race).
    const [rec] = (await recoverSessions(racing, [id, `${id}-none`])) as [NonNullable<Awaited<ReturnType<typeof recoverSession>>>];
    const from = rec.snapshot ? rec.snapshot.value : {};
    const rebuilt = rec.tail.filter((e) => e.type === 'turn.result').reduce<unknown>((s, e) => mergePatch(s, (e.data as { patch: unknown }).patch), from);
    expect(rebuilt).toEqual(truth);
    expect(rec.state!.value).toEqual(truth);
  });

  it('lets a restarted game server recover every active room and continue to the same end state', async () => {
    const rooms = 6;
    const tenant = uniqueName('chat');
    let p = createProducer({ connection: connection(), prefix: ctx.prefix });
    const truth: Record<string, unknown>[] = Array.from({ length: rooms }, () => ({}));
    for (let r = 0; r < rooms; r++) {
      await p.sessionCreated({ sessionId: `${tenant}-${r}`, gameType: 'fourx', tenant });
      await p.playerJoined({ sessionId: `${tenant}-${r}`, player: `a${r}`, position: 0 });
    }
    for (let t = 1; t <= 7; t++)
      for (let r = 0; r < rooms; r++) {
        await p.move({ sessionId: `${tenant}-${r}`, player: `a${r}`, action: 'expand', turn: t });
        const { next, ...data } = turnResult(r, t, truth[r]);
        truth[r] = next;
        await p.turnResult({ sessionId: `${tenant}-${r}`, turn: t, ...data });
      }
    // Two moves of turn 8 happen, then the game server dies.
    for (let r = 0; r < 2; r++) await p.move({ sessionId: `${tenant}-${r}`, player: `a${r}`, action: 'build', turn: 8 });
    await p.close();
    // Every room stored through its last seq (rooms 0 and 1 hold one more event, the move of turn 8).
    for (let r = 0; r < rooms; r++)
      await waitFor(`room ${r} stored`, async () => (await recoverSession(ctx.fx.orm, `${tenant}-${r}`))?.session.appliedSeq === (r < 2 ? 17 : 16));

    // Restart: recover all rooms of this tenant, two per page.
    p = createProducer({ connection: connection(), prefix: ctx.prefix });
    const recovered = [];
    for (let cursor: string | null = null, pages = 0; ; pages++) {
      const page = await recoverActiveSessions(ctx.fx.orm, { tenant, cursor, limit: 2 });
      recovered.push(...page.sessions);
      cursor = page.nextCursor;
      if (!cursor) {
        expect(pages).toBe(3);
        break;
      }
    }
    expect(recovered.map((s) => s.session.id)).toEqual(Array.from({ length: rooms }, (_, r) => `${tenant}-${r}`));
    for (const [r, s] of recovered.entries()) {
      expect(s.state?.value).toEqual(truth[r]);
      expect(s.state?.turn).toBe(7);
      expect(s.participants.map((x) => x.playerId)).toEqual([`a${r}`]);
      // What happened after the state: the moves of turn 8 in rooms 0 and 1.
      expect(s.sinceState.map((e) => [e.type, e.data.action])).toEqual(r < 2 ? [['move', 'build']] : []);
      // Continue the game from the recovered state; sequence numbers continue too.
      let state = s.state!.value;
      for (let t = 8; t <= 10; t++) {
        const { next, ...data } = turnResult(r, t, state);
        state = next;
        truth[r] = next;
        const sent = await p.turnResult({ sessionId: s.session.id, turn: t, ...data });
        expect(sent.seq).toBeGreaterThan(s.session.lastSeq);
      }
    }
    await p.close();
    for (let r = 0; r < rooms; r++) {
      await waitFor(`room ${r} folded`, async () => (await recoverSession(ctx.fx.orm, `${tenant}-${r}`))?.state?.turn === 10);
      const end = await recoverSession(ctx.fx.orm, `${tenant}-${r}`);
      expect(end!.state!.value).toEqual(truth[r]);
      expect(end!.session.gapSince).toBeNull();
    }
    expect(await recoverSession(ctx.fx.orm, 'no-such-session')).toBeNull();
    // The dedicated read pool (prepared statements) returns exactly what the ORM path does, once the
    // snapshot jobs have hashed what the fold captured (a snapshot counts from then on).
    await waitFor('snapshots hashed', async () => (await rows(ctx.fx.orm, 'select count(*)::int as n from session_snapshots where hash is null'))[0]!.n === 0);
    const reader = createReader(ctx.fx.db.url);
    try {
      expect(await recoverSession(reader, `${tenant}-3`)).toEqual(await recoverSession(ctx.fx.orm, `${tenant}-3`));
      expect((await recoverActiveSessions(reader, { tenant, limit: 10 })).sessions).toEqual((await recoverActiveSessions(ctx.fx.orm, { tenant, limit: 10 })).sessions);
    } finally {
      await reader.close();
    }
  });

  it('replays the full history in order, in wire form the contract accepts again', async () => {
    const sent = allTypesEvents('replay-me');
    const q = plainQueue(ctx.prefix, backend === 'postgres' ? ctx.fx.db.url : undefined);
    await q.add('events', { v: 1, events: sent });
    await q.close();
    const n = sent.filter((e) => e.sessionId !== undefined).length;
    await waitFor('stored', async () => (await recoverSession(ctx.fx.orm, 'replay-me'))?.session.eventCount === n);
    // The snapshot of the turn result is hashed by a job after its commit: the two recoveries compared
    // below must not straddle that moment.
    await waitFor('snapshot hashed', async () => (await recoverSession(ctx.fx.orm, 'replay-me'))?.snapshot != null);
    const out = [];
    for await (const e of replay(ctx.fx.orm, 'replay-me', { pageSize: 4 })) out.push(e);
    expect(out.map((e) => e.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    const bySent = new Map(sent.map((e) => [e.id as string, e]));
    for (const e of out) {
      const orig = bySent.get(e.id)!;
      expect(e.type).toBe(orig.type);
      expect(e.player ?? undefined).toBe(orig.player);
      // Same data as sent, and valid under the contract. Agent logs also carry the prompt and response
      // sizes the worker derived from the texts.
      const again = validateEvent({ id: e.id, type: e.type, sessionId: 'replay-me', seq: e.seq, at: e.at, player: e.player, data: e.data });
      if (e.type === 'agent.log') expect(again.data).toEqual({ ...(orig.data as object), promptChars: 9, responseChars: 6 });
      else expect(again.data).toEqual(orig.data);
    }
    const window = [];
    for await (const e of replay(ctx.fx.orm, 'replay-me', { fromSeq: 5, toSeq: 7 })) window.push(e.seq);
    expect(window).toEqual([5, 6, 7]);
    const rec = await recoverSession(ctx.fx.orm, 'replay-me');
    expect(rec!.session.status).toBe('finished');
    expect(rec!.state!.seq).toBe(8);
    expect(rec!.sinceState.map((e) => e.seq)).toEqual(Array.from({ length: n - 8 }, (_, i) => i + 9));
    // One session is read in one statement, several with one statement each: the same answer.
    const [viaMany] = await recoverSessions(ctx.fx.orm, ['replay-me', 'no-such-session']);
    expect(rec).toEqual(viaMany);
    expect(rec!.participants.length).toBeGreaterThan(0);
  });
});
