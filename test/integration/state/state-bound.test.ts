/**
 * The live-state bound (GP_MAX_STATE_BYTES) against real services: a turn result whose fold would make
 * a session's state larger is refused (the state stays what it was), the event itself is stored, and
 * one `state_too_large` dead letter names the session, seq and sizes, counted by
 * gp_state_too_large_total. The refusals follow seq order, not arrival: the same turns delivered in
 * one job, out of order, or folded again from the start give the same state and the same dead letters,
 * and the ledger checker's re-fold (the same step) agrees with what the workers kept.
 */
import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../../src/contract/ids.ts';
import { checkStates } from '../../../src/loadgen/ledger.ts';
import { ormReader } from '../../../src/db/reader.ts';
import { count, rows, waitFor } from '../../helpers/services.ts';
import { plainQueue, workerFixture } from '../../helpers/worker.ts';

const LIMIT = 1024;
const ctx = workerFixture({ GP_MAX_STATE_BYTES: String(LIMIT) });

type Turn = { seq: number; state?: Record<string, unknown>; patch?: Record<string, unknown> };
/** Turn 2 (a patch) and turn 4 (a full state) would pass 1 KiB; turns 3 and 5 fit. */
const TURNS: Turn[] = [
  { seq: 1, state: { hp: 10, name: 'a'.repeat(100) } },
  { seq: 2, patch: { log: 'x'.repeat(2000) } },
  { seq: 3, patch: { hp: 9, mana: 3 } },
  { seq: 4, state: { huge: 'y'.repeat(5000) } },
  { seq: 5, patch: { hp: 8, name: null } },
];
const EXPECTED = { hp: 8, mana: 3 };

function turnEvent(sessionId: string, t: Turn, id = uuidv7()) {
  return { id, type: 'turn.result', sessionId, seq: t.seq, at: new Date().toISOString(), data: { turn: t.seq, ...(t.state ? { state: t.state } : { patch: t.patch }) } };
}

async function stateOf(sessionId: string) {
  const [st] = await rows(ctx.fx.orm, 'select state, seq from session_states where session_id = $1', [sessionId]);
  return st ? { state: st.state, seq: Number(st.seq) } : null;
}
const deadLetters = (sessionId: string) =>
  rows(ctx.fx.orm, `select event_id, type, reason, payload from dead_letters where reason_code = 'state_too_large' and session_id = $1 order by id`, [sessionId]);
const refusedTotal = async () => (await ctx.worker.metrics.registry.getSingleMetric('gp_state_too_large_total')!.get()).values.reduce((a, v) => a + v.value, 0);

describe('live state bound', () => {
  it('refuses the turn results that would pass it, keeps the history and records why', async () => {
    const before = await refusedTotal();
    const events = TURNS.map((t) => turnEvent('sb-run-one', t));
    const q = plainQueue(ctx.prefix);
    await q.add('events', { v: 1, events });
    await q.close();
    await waitFor('the state folded through seq 5', async () => (await stateOf('sb-run-one'))?.seq === 5);
    expect((await stateOf('sb-run-one'))!.state).toEqual(EXPECTED);
    expect(await count(ctx.fx.orm, 'turn_results', 'session_id = $1', ['sb-run-one'])).toBe(5);
    const dl = await deadLetters('sb-run-one');
    expect(dl.map((d) => d.event_id)).toEqual([events[1]!.id, events[3]!.id]);
    expect(dl[0]!.type).toBe('turn.result');
    expect(dl[0]!.reason).toMatch(new RegExp(`^folding turn result ${events[1]!.id} \\(session sb-run-one, seq 2, turn 2\\) would make the live state \\d+ bytes, over GP_MAX_STATE_BYTES \\(1024\\): not folded`));
    expect(JSON.parse(dl[1]!.payload)).toMatchObject({ id: events[3]!.id, sessionId: 'sb-run-one', seq: 4, data: { state: { huge: 'y'.repeat(5000) } } });
    expect(await refusedTotal()).toBe(before + 2);
  });

  it('gives the same state and refusals whatever the arrival order, and a refold records nothing twice', async () => {
    const q = plainQueue(ctx.prefix);
    try {
      // Seqs 1, 3, 4, 5 first (they wait behind the gap at 2), then 2.
      const events = TURNS.map((t) => turnEvent('sb-run-late', t));
      await q.add('events', { v: 1, events: [events[0], events[2], events[3], events[4]] });
      await waitFor('seq 1 folded', async () => (await stateOf('sb-run-late'))?.seq === 1);
      await q.add('events', { v: 1, events: [events[1]] });
      await waitFor('the state folded through seq 5', async () => (await stateOf('sb-run-late'))?.seq === 5);
      expect((await stateOf('sb-run-late'))!.state).toEqual(EXPECTED);
      expect((await deadLetters('sb-run-late')).map((d) => d.event_id).sort()).toEqual([events[1]!.id, events[3]!.id].sort());

      // A second turn result at seq 3 (another id) arrives below the fold's reach: the session is
      // folded again from its start. The same turns are refused; no dead letter is written twice.
      await q.add('events', { v: 1, events: [turnEvent('sb-run-late', { seq: 3, patch: { extra: true } })] });
      await waitFor('the refold', async () => JSON.stringify((await stateOf('sb-run-late'))?.state) === JSON.stringify({ ...EXPECTED, extra: true }));
      expect(await deadLetters('sb-run-late')).toHaveLength(2);
    } finally {
      await q.close();
    }
    // The ledger checker's re-fold of the stored history (the workers' step and limit) agrees.
    const report = await checkStates(ormReader(ctx.fx.orm), [], 'sb-run', LIMIT);
    expect(report.sessions).toBe(2);
    expect(report.stateDrift).toEqual([]);
    // With another limit the re-fold differs: the check can fail.
    expect((await checkStates(ormReader(ctx.fx.orm), [], 'sb-run', 64 * 1024)).stateDrift.sort()).toEqual(['sb-run-late', 'sb-run-one']);
  });
});
