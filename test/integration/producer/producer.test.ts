/**
 * The SDK against a real Redis, and against BullMQ's PostgreSQL backend: packing into jobs, ordering
 * and sequence numbers, backpressure and failing fast when the store is unreachable, flush/close.
 */
import { connect, createServer } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BackpressureError, ContractError, EnqueueError, createProducer, type Producer } from '../../../src/producers/index.ts';
import { sequenceKey } from '../../../src/contract/limits.ts';
import { BACKENDS, REDIS_URL, dropQueue, openFixture, prepareQueue, queueUrl, rows, uniqueName, type Fixture } from '../../helpers/services.ts';
import { plainQueue } from '../../helpers/worker.ts';

describe.each(BACKENDS)('producer SDK on %s', (backend) => {
const pg = backend === 'postgres';
/** On PostgreSQL: the database holding the queue schemas and counters (one per test's prefix). */
let fx: Fixture | null = null;
const url = () => queueUrl(backend, fx?.db.url ?? '');
const prefixes: string[] = [];
const open: Producer[] = [];
async function producer(opts: Parameters<typeof createProducer>[0] extends infer O ? Partial<O> : never = {}) {
  const prefix = uniqueName('p');
  prefixes.push(prefix);
  await prepareQueue(backend, url(), prefix);
  const p = createProducer({ connection: url(), prefix, ...opts });
  open.push(p);
  return { p, prefix };
}

beforeAll(async () => {
  if (pg) fx = await openFixture();
});

async function jobsOf(p: Producer) {
  return (await p.queue.getJobs(['waiting'], 0, -1, true)) as { data: { v: number; events: Record<string, any>[] } }[];
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
});
afterAll(async () => {
  await Promise.all(prefixes.map((prefix) => dropQueue(backend, url(), prefix)));
  await fx?.close();
});

  it('packs events into jobs by count and resolves each emit once its job is in the queue', async () => {
    const { p } = await producer({ maxBatchEvents: 100, lingerMs: 50 });
    const results = await Promise.all(Array.from({ length: 250 }, (_, i) => p.move({ sessionId: 's1', player: 'u1', action: 'a', turn: i })));
    const jobs = await jobsOf(p);
    expect(jobs.map((j) => j.data.events.length).sort((a, b) => b - a)).toEqual([100, 100, 50]);
    expect(jobs.every((j) => j.data.v === 1)).toBe(true);
    // Sequence numbers follow emit order, contiguous from 1.
    expect(results.map((r) => r.seq)).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
    const all = jobs.flatMap((j) => j.data.events);
    expect(new Set(all.map((e) => e.id)).size).toBe(250);
    for (const e of all) expect(e.data.turn).toBe(e.seq - 1);
  });

  it('packs by bytes as well as by count', async () => {
    const { p } = await producer({ maxBatchEvents: 1000, maxBatchBytes: 20_000, lingerMs: 20 });
    const text = 'x'.repeat(3000);
    await Promise.all(Array.from({ length: 20 }, () => p.chatMessage({ sessionId: 's', player: 'u', text })));
    const jobs = await jobsOf(p);
    expect(jobs.length).toBeGreaterThanOrEqual(3);
    for (const j of jobs) expect(JSON.stringify(j.data).length).toBeLessThan(22_000);
    expect(jobs.reduce((n, j) => n + j.data.events.length, 0)).toBe(20);
  });

  it('sends a lone event after the linger time, without waiting for a full job', async () => {
    const { p } = await producer({ lingerMs: 30 });
    const t = Date.now();
    await p.vote({ sessionId: 's', player: 'u1', target: null, round: 1 });
    expect(Date.now() - t).toBeLessThan(1000);
    const [job] = await jobsOf(p);
    expect(job.data.events[0].data).toEqual({ target: null, round: 1 });
  });

  it('continues a session sequence across producer restarts (the counter lives in Redis, or PostgreSQL)', async () => {
    const { p, prefix } = await producer();
    await p.move({ sessionId: 'room', player: 'u', action: 'a' });
    await p.move({ sessionId: 'room', player: 'u', action: 'b' });
    await p.close();
    const again = createProducer({ connection: url(), prefix });
    open.push(again);
    const r = await again.move({ sessionId: 'room', player: 'u', action: 'c' });
    expect(r.seq).toBe(3);
    const explicit = await again.move({ sessionId: 'other', player: 'u', action: 'x', seq: 41 });
    expect(explicit.seq).toBe(41);
    if (pg) {
      expect(await rows(fx!.orm, `select seq::int as seq, expires_at > now() + interval '29 days' as live from sequence_counters where prefix = $1`, [prefix])).toEqual([{ seq: 3, live: true }]);
    } else {
      const redis = new Redis(REDIS_URL);
      expect(await redis.get(sequenceKey(prefix, 'room'))).toBe('3');
      expect(await redis.ttl(sequenceKey(prefix, 'room'))).toBeGreaterThan(0);
      redis.disconnect();
    }
  });

  it('rejects an invalid event with a ContractError naming the field and enqueues nothing', async () => {
    const { p } = await producer();
    const err = await p.vote({ sessionId: 's', player: 'u', target: 'x'.repeat(200) } as never).catch((e) => e);
    expect(err).toBeInstanceOf(ContractError);
    expect(err.field).toBe('data.target');
    await p.flush();
    expect(await jobsOf(p)).toHaveLength(0);
  });

  it('copies event data at emit: mutating the object afterwards does not change the queued event', async () => {
    const { p } = await producer({ lingerMs: 50 });
    const state = { hp: 10 };
    const sent = p.turnResult({ sessionId: 's', turn: 1, state });
    state.hp = 0;
    await sent;
    const [job] = await jobsOf(p);
    expect(job.data.events[0].data.state).toEqual({ hp: 10 });
  });

  it('fails fast with a bounded buffer when its store is unreachable', async () => {
    const p = createProducer({ connection: pg ? 'postgres://postgres@127.0.0.1:1/none' : 'redis://127.0.0.1:1', prefix: uniqueName('p'), maxBufferedEvents: 50, readyTimeoutMs: 300, lingerMs: 1 });
    const t = Date.now();
    const settled = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => p.move({ sessionId: 's', player: 'u', action: 'a', turn: i })));
    const reasons = settled.map((s) => (s.status === 'rejected' ? s.reason : null));
    // Everything is refused: the first 50 after a bounded wait, the rest at once.
    expect(reasons.every((r) => r instanceof EnqueueError || r instanceof BackpressureError)).toBe(true);
    expect(reasons.filter((r) => r instanceof BackpressureError).length).toBe(150);
    const enq = reasons.find((r) => r instanceof EnqueueError) as EnqueueError;
    expect(enq.eventIds.length).toBeGreaterThan(0);
    expect(enq.events[0]).toMatchObject({ id: enq.eventIds[0], type: 'move', sessionId: 's', data: { action: 'a' } });
    expect(enq.message).toMatch(/not reachable/);
    expect(enq.reason).toBe(pg ? 'postgres_unavailable' : 'redis_unavailable');
    expect(Date.now() - t).toBeLessThan(3000);
    // What failed can be emitted again as is, once Redis is back: same ids, same sequence numbers.
    const { p: healthy } = await producer();
    const again = await healthy.emit(enq.events[0] as Parameters<typeof healthy.emit>[0]);
    expect(again.id).toBe(enq.eventIds[0]);
    await p.queue.close();
    await (p as unknown as { close(): Promise<void> }).close().catch(() => {});
  });

  // PostgreSQL only: declared for that backend alone (not a skipped test on Redis).
  if (pg)
  it('sends again once PostgreSQL is reachable after a first connection that failed', async () => {
    // BullMQ's PostgreSQL backend keeps a failed first connection's error for good: the producer must
    // replace its queue. PostgreSQL "comes back" through a proxy that refuses connections at first.
    let up = false;
    const proxy = createServer((client) => {
      if (!up) return void client.destroy();
      const server = connect(5432, '127.0.0.1');
      client.pipe(server).pipe(client);
      const end = () => (client.destroy(), server.destroy());
      client.on('error', end).on('close', end);
      server.on('error', end).on('close', end);
    });
    const port = await new Promise<number>((resolve) => proxy.listen(0, '127.0.0.1', () => resolve((proxy.address() as { port: number }).port)));
    try {
      const { prefix } = await producer();
      const viaProxy = Object.assign(new URL(fx!.db.url), { port: String(port) }).toString();
      const p = createProducer({ connection: viaProxy, prefix, readyTimeoutMs: 500, lingerMs: 1 });
      open.push(p);
      // Explicit seqs: no counter draw, so the queue's own first connection is the one that fails.
      const failed = await p.move({ sessionId: 's', player: 'u', action: 'a', seq: 1 }).catch((e) => e);
      expect(failed).toBeInstanceOf(EnqueueError);
      expect(failed.reason).toBe('postgres_unavailable');
      up = true;
      await p.emit(failed.events[0]);
      // The counters' pool reconnects by itself.
      expect(await p.move({ sessionId: 'other', player: 'u', action: 'b' })).toMatchObject({ seq: 1 });
      expect(await p.queue.getWaitingCount()).toBe(2);
      await p.close();
    } finally {
      proxy.close();
    }
  });

  it('flush() waits for everything emitted so far; close() flushes', async () => {
    const { p, prefix } = await producer({ lingerMs: 10_000, maxBatchEvents: 1000 });
    const sent = Array.from({ length: 10 }, (_, i) => p.move({ sessionId: 's', player: 'u', action: 'a', turn: i }));
    await p.flush();
    expect((await jobsOf(p))[0].data.events).toHaveLength(10);
    await Promise.all(sent);
    void p.move({ sessionId: 's', player: 'u', action: 'last' });
    await p.close();
    const q = plainQueue(prefix, fx?.db.url);
    expect(await q.getWaitingCount()).toBe(2);
    await q.close();
    await expect(p.move({ sessionId: 's', player: 'u', action: 'late' })).rejects.toThrow(/closed/);
  });
});
