/**
 * Live session state against real services: turn results (full states and merge patches mixed) are
 * folded in sequence order, once, in the transaction that stores them; early arrivals wait for the
 * gap before them; replicas never apply a turn twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '../../../src/contract/ids.ts';
import { foldTurn } from '../../../src/sessions/fold-state.ts';
import type { WorkerHandle } from '../../../src/process/worker.ts';
import { dropPrefix, openFixture, rows, testConfig, testEnv, uniqueName, waitFor, type Fixture } from '../../helpers/services.ts';
import { inProcessWorker, plainQueue, spawnCli } from '../../helpers/worker.ts';

let fx: Fixture;
let worker: WorkerHandle;
let prefix: string;
const prefixes: string[] = [];

beforeAll(async () => {
  fx = await openFixture();
  prefix = uniqueName('q');
  prefixes.push(prefix);
  worker = await inProcessWorker(testConfig(fx.db.url, prefix));
});
afterAll(async () => {
  await worker?.close();
  await fx?.close();
  await Promise.all(prefixes.map(dropPrefix));
});

type Turn = { seq: number; turn: number; state?: Record<string, unknown>; patch?: Record<string, unknown> };

/** A game's turns: a full state every 5th turn, merge patches between, some keys deleted. */
function turns(sessionSeed: number, n: number, firstSeq = 1): Turn[] {
  const out: Turn[] = [];
  for (let t = 0; t < n; t++) {
    const seq = firstSeq + t;
    if (t % 5 === 0) out.push({ seq, turn: t, state: { turn: t, hp: 100 - t, seed: sessionSeed, log: [t] } });
    else out.push({ seq, turn: t, patch: { turn: t, hp: 100 - t * 2, [`k${t % 3}`]: t % 4 === 0 ? null : { at: t }, log: [t] } });
  }
  return out;
}

function expected(ts: Turn[]): Record<string, unknown> {
  let s: Record<string, unknown> = {};
  for (const t of [...ts].sort((a, b) => a.seq - b.seq)) s = foldTurn(s, { state: t.state ?? null, patch: t.patch ?? null });
  return s;
}

function turnEvent(sessionId: string, t: Turn) {
  return { id: uuidv7(), type: 'turn.result', sessionId, seq: t.seq, at: new Date().toISOString(), data: { turn: t.turn, ...(t.state ? { state: t.state } : { patch: t.patch }) } };
}

async function session(id: string) {
  const [s] = await rows(fx.orm, 'select applied_seq, state_seq, last_seq, gap_since from sessions where id = $1', [id]);
  const [st] = await rows(fx.orm, 'select state, turn, seq from session_states where session_id = $1', [id]);
  return { applied_seq: Number(s?.applied_seq), state_seq: Number(s?.state_seq), gap_since: s?.gap_since as Date | null, state: st?.state, turn: st?.turn, seq: Number(st?.seq) };
}

describe('live state', () => {
  it('folds full states and patches in order, in the transaction that stores them', async () => {
    const ts = turns(1, 23);
    const q = plainQueue(prefix);
    await q.add('events', { v: 1, events: ts.map((t) => turnEvent('ls-order', t)) });
    await q.close();
    await waitFor('state folded', async () => (await session('ls-order')).state_seq === 23);
    const s = await session('ls-order');
    expect(s.state).toEqual(expected(ts));
    expect(s).toMatchObject({ turn: 22, seq: 23, applied_seq: 23, gap_since: null });
  });

  it('waits for a gap to be filled, then folds what waited, once', async () => {
    const ts = turns(2, 12);
    const q = plainQueue(prefix);
    const send = (seqs: number[]) => q.add('events', { v: 1, events: ts.filter((t) => seqs.includes(t.seq)).map((t) => turnEvent('ls-gap', t)) });
    await send([1, 2, 3]);
    await waitFor('first turns folded', async () => (await session('ls-gap')).state_seq === 3);
    await send([5, 6, 7, 9, 10]); // 4 and 8 are late
    await waitFor('later turns stored', async () => Number((await rows(fx.orm, `select count(*) as n from turn_results where session_id = 'ls-gap'`))[0].n) === 8);
    let s = await session('ls-gap');
    expect(s).toMatchObject({ applied_seq: 3, state_seq: 3, seq: 3 });
    expect(s.gap_since).not.toBeNull();
    expect(s.state).toEqual(expected(ts.slice(0, 3)));
    await send([4]); // fills the first gap: 5, 6, 7 fold; 9, 10 still wait for 8
    await waitFor('folded through 7', async () => (await session('ls-gap')).state_seq === 7);
    s = await session('ls-gap');
    expect(s.state).toEqual(expected(ts.slice(0, 7)));
    expect(s.gap_since).not.toBeNull();
    await send([8, 11, 12]);
    await waitFor('folded through 12', async () => (await session('ls-gap')).state_seq === 12);
    s = await session('ls-gap');
    expect(s.state).toEqual(expected(ts));
    expect(s.gap_since).toBeNull();
    await q.close();
  });

  it('never applies a turn twice or out of order when turn results arrive reversed and redelivered', async () => {
    const before = worker.stats.turnsFolded;
    const ts = turns(3, 15);
    const q = plainQueue(prefix);
    const events = ts.map((t) => turnEvent('ls-rev', t));
    for (const e of [...events].reverse()) await q.add('events', e);
    await waitFor('all folded', async () => (await session('ls-rev')).state_seq === 15);
    // Redeliveries of old turns (same ids) after the state moved on must change nothing.
    for (const e of events.slice(0, 6)) await q.add('events', e);
    await waitFor('redeliveries processed', () => worker.stats.duplicates >= 6);
    await q.close();
    const s = await session('ls-rev');
    expect(s.state).toEqual(expected(ts));
    expect(worker.stats.turnsFolded - before).toBe(15);
  });

  it('two worker processes fold every session exactly once', async () => {
    const p2 = uniqueName('q');
    prefixes.push(p2);
    const env = testEnv(fx.db.url, p2, { GP_LOG_LEVEL: 'info', GP_BATCH_ROWS: '50' });
    const workers = [spawnCli(['worker'], env), spawnCli(['worker'], env)];
    await Promise.all(workers.map((w) => w.waitForLog('worker started')));
    const sessions = 20;
    const perSession = 30;
    const all = Array.from({ length: sessions }, (_, i) => turns(100 + i, perSession));
    const q = plainQueue(p2);
    // Interleave sessions and shuffle chunks so both workers see parts of every session, out of order.
    const jobs: unknown[][] = [];
    for (let c = 0; c < perSession; c += 3)
      for (let i = 0; i < sessions; i++) jobs.push(all[i].slice(c, c + 3).map((t) => turnEvent(`ls-pair-${i}`, t)));
    jobs.sort(() => Math.random() - 0.5);
    await q.addBulk(jobs.map((events) => ({ name: 'events', data: { v: 1, events } })));
    await q.close();
    await waitFor(
      'every session folded',
      async () => Number((await rows(fx.orm, `select count(*) as n from sessions where id like 'ls-pair-%' and state_seq = $1`, [perSession]))[0].n) === sessions,
      60_000,
    );
    for (const w of workers) w.child.kill('SIGTERM');
    const stops = await Promise.all(workers.map((w) => w.waitForLog('worker stopped')));
    expect(stops.reduce((n, s) => n + (s.turnsFolded as number), 0)).toBe(sessions * perSession);
    expect(stops.every((s) => (s.jobs as number) > 0)).toBe(true);
    for (let i = 0; i < sessions; i++) expect((await session(`ls-pair-${i}`)).state).toEqual(expected(all[i]));
  });
});
