/**
 * The checker's split of lost events (src/loadgen/ledger.ts classifyLosses), which the chaos suite's
 * redis-aof-everysec scenario passes or fails on: a lost event whose seq the gap detection gave up
 * (the watermark passed it, lost_seqs counts it) is reported; one above the watermark (a session's
 * last events lost: no later seq shows a gap) is silent, and so is one without a seq.
 */
import { afterAll, expect, it } from 'vitest';
import { uuidv7 } from '../../../src/contract/ids.ts';
import { createReader } from '../../../src/db/reader.ts';
import { checkLedger, classifyLosses, type LedgerEvent } from '../../../src/loadgen/ledger.ts';
import { rows, uniqueName, waitFor } from '../../helpers/services.ts';
import { plainQueue, workerFixture } from '../../helpers/worker.ts';

const ctx = workerFixture({ GP_GAP_TIMEOUT_S: '1' });
let reader: ReturnType<typeof createReader> | undefined;
afterAll(async () => {
  await reader?.close();
});

it('counts a lost seq given up by gap detection as reported, a lost last seq or a seqless event as silent', { timeout: 60_000 }, async () => {
  const run = uniqueName('run').replace(/_/g, 'x');
  const sid = `${run}-s0`;
  const at = new Date().toISOString();
  const turn = (seq: number): LedgerEvent => ({ id: uuidv7(), type: 'turn.result', sessionId: sid, player: null, seq, at, data: { turn: seq, patch: { [`t${seq}`]: seq } } });
  const ledger = [1, 2, 3, 4, 5, 6, 7].map(turn);
  const seqless: LedgerEvent = { id: uuidv7(), type: 'move', sessionId: sid, player: 'p', seq: null, at, data: { action: 'play' } };
  const wire = (e: LedgerEvent) => ({ id: e.id, type: e.type, sessionId: e.sessionId, seq: e.seq, at: e.at, data: e.data });
  const q = plainQueue(ctx.prefix);
  // Seq 3 never arrives (a gap, given up after 1 s once seq 6 comes); seq 7 never arrives (the last).
  await q.add('events', { v: 1, events: [1, 2, 4, 5].map((n) => wire(ledger[n - 1]!)) });
  await waitFor('waiting behind the gap', async () => (await rows(ctx.fx.orm, `select 1 from sessions where id = '${sid}' and applied_seq = 2 and gap_since is not null`)).length === 1);
  await new Promise((r) => setTimeout(r, 1500));
  await q.add('events', { v: 1, events: [wire(ledger[5]!)] });
  await waitFor('past the gap', async () => (await rows(ctx.fx.orm, `select 1 from sessions where id = '${sid}' and applied_seq = 6`)).length === 1);
  await q.close();
  reader = createReader(ctx.fx.db.url, { max: 2 });
  const all = [...ledger, seqless];
  const report = await checkLedger(reader, all, run);
  expect(new Set(report.lost)).toEqual(new Set([ledger[2]!.id, ledger[6]!.id, seqless.id]));
  const losses = await classifyLosses(reader, all, report.lost, run);
  expect(losses.reported).toEqual([ledger[2]!.id]);
  expect(new Set(losses.unreported)).toEqual(new Set([ledger[6]!.id, seqless.id]));
});
