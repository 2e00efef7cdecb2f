/**
 * The SDK's sequence numbers against real counters, in Redis and (PostgreSQL queue backend) in the
 * `sequence_counters` table, with PostgreSQL for the seed: a counter the store lost or rolled back is
 * raised above what this process issued and reported, a new producer continues above what the database
 * holds, lastSeq/seedSequence, join-queue events stay unnumbered; and the producer's errors at a full
 * or loading Redis say what is wrong.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { sequenceKey } from '../../../src/contract/limits.ts';
import { EnqueueError, createProducer, type Producer, type ProducerOptions, type SequenceReseed } from '../../../src/producers/index.ts';
import { pgSequenceSeed } from '../../../src/recovery/sequence-seed.ts';
import { BACKENDS, REDIS_URL, dropPrefix, dropQueue, prepareQueue, queueUrl, rows, uniqueName, waitFor } from '../../helpers/services.ts';
import { serviceEnv } from '../../helpers/env.ts';
import { workerFixture } from '../../helpers/worker.ts';

const redis = new Redis(REDIS_URL);
const prefixes: string[] = [];
const open: Producer[] = [];

/** A Redis-only producer (the Redis error tests below). */
function producer(opts: Partial<ProducerOptions> = {}) {
  const prefix = opts.prefix ?? uniqueName('p');
  if (!opts.prefix) prefixes.push(prefix);
  const p = createProducer({ connection: REDIS_URL, prefix, ...opts });
  open.push(p);
  return { p, prefix };
}

async function moves(p: Producer, sessionId: string | number, n: number): Promise<number[]> {
  const out = await Promise.all(Array.from({ length: n }, (_, i) => p.move({ sessionId, player: 'u', action: 'a', turn: i })));
  return out.map((r) => r.seq!);
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close().catch(() => {})));
});
afterAll(async () => {
  await Promise.all(prefixes.map(dropPrefix));
  redis.disconnect();
});

describe.each(BACKENDS)('sequence numbers survive the store losing its counters, on %s', (backend) => {
  const ctx = workerFixture({}, backend);
  const pg = backend === 'postgres';
  const own: string[] = [];
  afterAll(async () => {
    await Promise.all(own.map((prefix) => dropQueue(backend, ctx.fx.db.url, prefix)));
  });

  /** A session's counter as the store holds it: read, set, delete (what losing it looks like), and whether it expires. */
  function counterOf(prefix: string) {
    const key = (sid: string) => sequenceKey(prefix, sid);
    return {
      async get(sid: string): Promise<string | null> {
        if (!pg) return redis.get(key(sid));
        const [r] = await rows<{ v: string }>(ctx.fx.orm, 'select seq::text as v from sequence_counters where prefix = $1 and session_id = $2 and expires_at > now()', [prefix, sid]);
        return r?.v ?? null;
      },
      async set(sid: string, v: number): Promise<void> {
        if (!pg) await redis.set(key(sid), String(v));
        else
          await rows(ctx.fx.orm, `insert into sequence_counters (prefix, session_id, seq, expires_at) values ($1, $2, $3, now() + interval '1 day')
            on conflict (prefix, session_id) do update set seq = excluded.seq`, [prefix, sid, v]);
      },
      async del(sid: string): Promise<void> {
        if (!pg) await redis.del(key(sid));
        else await rows(ctx.fx.orm, 'delete from sequence_counters where prefix = $1 and session_id = $2', [prefix, sid]);
      },
      async expires(sid: string): Promise<boolean> {
        if (!pg) return (await redis.ttl(key(sid))) > 0;
        const [r] = await rows<{ ok: boolean }>(ctx.fx.orm, `select expires_at < now() + interval '31 days' as ok from sequence_counters where prefix = $1 and session_id = $2`, [prefix, sid]);
        return r?.ok === true;
      },
    };
  }

  async function producerOn(opts: Partial<ProducerOptions> = {}) {
    const prefix = opts.prefix ?? uniqueName('p');
    if (!opts.prefix) {
      own.push(prefix); // the worker fixture's prefix is dropped by the fixture, after its worker stopped
      await prepareQueue(backend, ctx.fx.db.url, prefix);
    }
    const reseeds: SequenceReseed[] = [];
    const p = createProducer({ connection: queueUrl(backend, ctx.fx.db.url), prefix, onSequenceReseed: (r) => reseeds.push(r), ...opts });
    open.push(p);
    return { p, prefix, reseeds, counter: counterOf(prefix) };
  }

  /** Events of the session stored so far (it only has session and move events). */
  async function stored(sessionId: string): Promise<number> {
    const [r] = await rows<{ n: number }>(
      ctx.fx.orm,
      `select (select count(*) from session_events where session_id = $1)::int + (select count(*) from moves where session_id = $1)::int as n`,
      [sessionId],
    );
    return r.n;
  }

  it('continues above its own high-water mark when the counter is deleted mid-session, and reports the re-seed', async () => {
    const { p, counter, reseeds } = await producerOn();
    expect(await moves(p, 'room', 5)).toEqual([1, 2, 3, 4, 5]);
    await counter.del('room'); // FLUSHALL, a failover, 30 days of silence
    expect(await moves(p, 'room', 2)).toEqual([6, 7]);
    expect(reseeds).toEqual([{ sessionId: 'room', found: null, floor: 5 }]);
    expect(p.stats.reseeded).toBe(1);
    expect(await counter.get('room')).toBe('7');
    expect(await counter.expires('room')).toBe(true);
    // The counter is right again: no further re-seed.
    expect(await moves(p, 'room', 1)).toEqual([8]);
    expect(p.stats.reseeded).toBe(1);
  });

  it('continues above its own high-water mark when the counter rolled back (AOF cut at the fsync window)', async () => {
    const { p, counter, reseeds } = await producerOn();
    await moves(p, 'room', 5);
    await moves(p, 'other', 3);
    await counter.set('room', 2);
    expect(await moves(p, 'room', 3)).toEqual([6, 7, 8]);
    expect(await moves(p, 'other', 1)).toEqual([4]);
    expect(reseeds).toEqual([{ sessionId: 'room', found: 2, floor: 5 }]);
    expect(p.stats.reseeded).toBe(1);
  });

  it('a new producer seeded from PostgreSQL continues above the stored last seq after the store lost the counter', async () => {
    // Events of session 9001 written through a real worker; the id is an integer, as game servers often send.
    const first = await producerOn({ prefix: ctx.prefix });
    await first.p.sessionCreated({ sessionId: 9001, gameType: 'hokm' });
    await moves(first.p, 9001, 6);
    await first.p.close();
    await waitFor('the worker to store 7 events', async () => (await stored('9001')) === 7);
    expect((await rows(ctx.fx.orm, `select last_seq from sessions where id = '9001'`))[0].last_seq).toBe('7');
    await first.counter.del('9001');

    const calls: string[][] = [];
    const seed = pgSequenceSeed(ctx.fx.orm);
    const again = await producerOn({
      prefix: ctx.prefix,
      sequenceSeed: (ids) => {
        calls.push(ids);
        return seed(ids);
      },
    });
    // One seed call for every session new to this process in the flush; sessions the database does
    // not know start at 1.
    const [a, b, c] = await Promise.all([
      again.p.move({ sessionId: 9001, player: 'u', action: 'a' }),
      again.p.move({ sessionId: '9001', player: 'u', action: 'b' }),
      again.p.move({ sessionId: 'fresh', player: 'u', action: 'a' }),
    ]);
    expect([a.seq, b.seq, c.seq]).toEqual([8, 9, 1]);
    expect(calls).toEqual([['9001', 'fresh']]);
    expect(again.reseeds).toEqual([{ sessionId: '9001', found: null, floor: 7 }]);
    // The seed is read once per session and process.
    expect(await moves(again.p, 9001, 1)).toEqual([10]);
    expect(calls).toHaveLength(1);
    await again.p.close();
    // Jobs may commit in any order: wait for the events themselves, not for last_seq.
    await waitFor('the worker to store the new events', async () => (await stored('9001')) === 10);
    const [moved] = await rows(ctx.fx.orm, `select count(*)::int as n, count(distinct seq)::int as seqs, max(seq)::int as last from moves where session_id = '9001'`);
    expect(moved).toEqual({ n: 9, seqs: 9, last: 10 });
  });

  it('refuses to number the events of a session whose seed fails, and sends the rest of the flush', async () => {
    let fail = true;
    const { p, counter } = await producerOn({
      sequenceSeed: async (ids) => {
        if (fail && ids.includes('broken')) throw new Error('database is down');
        return {};
      },
    });
    expect(await moves(p, 'fine', 1)).toEqual([1]);
    const [ok, refused] = await Promise.allSettled([p.move({ sessionId: 'fine', player: 'u', action: 'a' }), p.move({ sessionId: 'broken', player: 'u', action: 'a' })]);
    expect(ok).toMatchObject({ status: 'fulfilled', value: { seq: 2 } });
    const err = (refused as PromiseRejectedResult).reason as EnqueueError;
    expect(err).toBeInstanceOf(EnqueueError);
    expect(err.reason).toBe('sequence_seed_failed');
    expect(err.message).toMatch(/sequenceSeed failed for session\(s\) broken.*database is down/);
    expect((err.cause as Error).message).toBe('database is down');
    expect(err.events[0]).toMatchObject({ sessionId: 'broken', seq: null });
    expect(await counter.get('broken')).toBeNull(); // nothing drawn without a floor
    expect(p.stats.failed).toBe(1);
    // Re-emitting once the seed works numbers it normally.
    fail = false;
    expect((await p.emit(err.events[0] as Parameters<Producer['emit']>[0])).seq).toBe(1);
  });

  it('lastSeq is the larger of the shared counter and what this process issued; integer ids are their string form', async () => {
    const { p, prefix, counter } = await producerOn();
    expect(await p.lastSeq('room')).toBe(0);
    await moves(p, 42, 3);
    expect(await p.lastSeq(42)).toBe(3);
    expect(await p.lastSeq('42')).toBe(3);
    await counter.del('42');
    expect(await p.lastSeq(42)).toBe(3);
    // Another producer of the deployment sees the counter.
    await counter.set('77', 12);
    const other = await producerOn({ prefix });
    expect(await other.p.lastSeq(77)).toBe(12);
    await expect(p.lastSeq('')).rejects.toThrow(/sessionId/);
  });

  it('seedSequence raises the counter and the local floor, and never lowers them', async () => {
    const { p, prefix, counter, reseeds } = await producerOn();
    await p.seedSequence('room', 10);
    expect(await counter.get('room')).toBe('10');
    expect(await moves(p, 'room', 1)).toEqual([11]);
    await p.seedSequence('room', 3);
    expect(await counter.get('room')).toBe('11');
    expect(await moves(p, 'room', 1)).toEqual([12]);
    // The floor is local too: a lost counter does not take it back to 1.
    await counter.del('room');
    expect(await moves(p, 'room', 1)).toEqual([13]);
    expect(reseeds).toEqual([{ sessionId: 'room', found: null, floor: 12 }]);
    // Integer ids are the same session as their string form.
    const other = await producerOn({ prefix });
    await other.p.seedSequence(5, 20);
    expect(await moves(other.p, '5', 1)).toEqual([21]);
    await expect(p.seedSequence('room', -1)).rejects.toThrow(/lastStoredSeq/);
  });

  it('gives join-queue events no seq, even with a sessionId, and leaves the session counter alone', async () => {
    const { p, counter } = await producerOn({ lingerMs: 20 });
    const [q1, q2] = await Promise.all([
      p.queueEntered({ sessionId: 'room', player: 'u', tenant: 'guild' }),
      p.queueLeft({ sessionId: 'room', player: 'u', tenant: 'guild', reason: 'joined' }),
    ]);
    expect([q1.seq, q2.seq]).toEqual([null, null]);
    expect(await counter.get('room')).toBeNull();
    expect(await moves(p, 'room', 1)).toEqual([1]);
    const jobs = (await p.queue.getJobs(['waiting'], 0, -1, true)) as { data: { events: Record<string, unknown>[] } }[];
    const queued = jobs.flatMap((j) => j.data.events).filter((e) => String(e.type).startsWith('queue.'));
    expect(queued.map((e) => e.seq)).toEqual([null, null]);
  });

  it('keeps stats.buffered current: accepted events not yet enqueued', async () => {
    const { p } = await producerOn({ lingerMs: 10_000, maxBatchEvents: 1000 });
    const sent = Array.from({ length: 10 }, (_, i) => p.move({ sessionId: 's', player: 'u', action: 'a', turn: i }));
    expect(p.stats.buffered).toBe(10);
    await p.flush();
    await Promise.all(sent);
    expect(p.stats.buffered).toBe(0);
    expect(p.stats.enqueued).toBe(10);
  });
});

/** Servers still running when the test process exits (a crashed run) are killed with it. */
const ownServers = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of ownServers) c.kill('SIGKILL');
});

/** A redis-server of this file's own on a free loopback port, restartable on the same port and directory. */
class OwnRedis {
  readonly port: number;
  readonly dir = mkdtempSync(join(tmpdir(), 'gp-seq-redis-'));
  #args: string[];
  #child: ChildProcess | null = null;

  constructor(port: number, args: string[]) {
    this.port = port;
    this.#args = args;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(args: string[]): Promise<OwnRedis> {
    const srv = createServer();
    const port = await new Promise<number>((resolve) => srv.listen(0, '127.0.0.1', () => resolve((srv.address() as { port: number }).port)));
    await new Promise((r) => srv.close(r));
    const r = new OwnRedis(port, args);
    r.spawn();
    await r.waitUp();
    return r;
  }

  spawn(): void {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--loglevel', 'warning', ...this.#args], { stdio: 'ignore', env: serviceEnv() });
    ownServers.add(child);
    child.once('exit', () => ownServers.delete(child));
    this.#child = child;
  }

  /** Until PING answers (LOADING counts as up: the server is listening). */
  async waitUp(): Promise<void> {
    await waitFor(`redis-server on ${this.port}`, async () => {
      const c = new Redis(this.port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableReadyCheck: false });
      c.on('error', () => {});
      try {
        await c.connect();
        await c.ping().catch((e: Error) => {
          if (!/^LOADING/.test(e.message)) throw e;
        });
        return true;
      } catch {
        return false;
      } finally {
        c.disconnect();
      }
    }, 10_000);
  }

  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('producer errors say what is wrong with Redis', () => {
  const servers: OwnRedis[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it('names a full Redis (maxmemory with noeviction) instead of a script hash', async () => {
    const server = await OwnRedis.start(['--save', '', '--appendonly', 'no', '--maxmemory', '2mb', '--maxmemory-policy', 'noeviction']);
    servers.push(server);
    const filler = new Redis(server.url, { maxRetriesPerRequest: 0 });
    const value = 'x'.repeat(16 * 1024);
    for (let i = 0; ; i++) {
      const full = await filler.set(`fill:${i}`, value).then(
        () => false,
        (e: Error) => /^OOM/.test(e.message),
      );
      if (full) break;
      if (i > 10_000) throw new Error('redis-server never refused a write');
    }
    filler.disconnect();
    const { p } = producer({ connection: server.url, readyTimeoutMs: 2000 });
    for (const emit of [() => p.move({ sessionId: 'room', player: 'u', action: 'a' }), () => p.queueEntered({ player: 'u', tenant: 'guild' })]) {
      const err = (await emit().catch((e: unknown) => e)) as EnqueueError;
      expect(err).toBeInstanceOf(EnqueueError);
      expect(err.reason).toBe('redis_out_of_memory');
      expect(err.message).toMatch(/Redis is out of memory \(maxmemory reached with maxmemory-policy noeviction\).*workers must drain the queue, or Redis needs more memory/);
      expect(err.message).not.toMatch(/script|OOM command/);
      expect((err.cause as Error).message).toMatch(/^OOM command not allowed/);
    }
  });

  it('keeps ioredis internals out of the message when Redis is unreachable', async () => {
    const { p } = producer({ connection: 'redis://127.0.0.1:1', readyTimeoutMs: 200 });
    const err = (await p.move({ sessionId: 's', player: 'u', action: 'a' }).catch((e: unknown) => e)) as EnqueueError;
    expect(err).toBeInstanceOf(EnqueueError);
    expect(err.reason).toBe('redis_unavailable');
    expect(err.message).toBe('could not enqueue 1 event(s): Redis not reachable within 200 ms');
    expect(err.message).not.toMatch(/status|maxRetriesPerRequest|connect(ing)?\)/);
  });

  it('waits for a Redis that answers LOADING instead of failing at once', async () => {
    // key-load-delay slows loading (about 0.7 s for these keys); processing events every KiB makes
    // Redis answer LOADING meanwhile instead of not at all.
    const server = await OwnRedis.start(['--save', '', '--appendonly', 'no', '--enable-debug-command', 'yes', '--key-load-delay', '25', '--loading-process-events-interval-bytes', '1024']);
    servers.push(server);
    const admin = new Redis(server.url);
    await admin.call('DEBUG', 'POPULATE', '10000', 'k', '50');
    const { p } = producer({ connection: server.url, readyTimeoutMs: 5000 });
    expect(await moves(p, 'room', 1)).toEqual([1]);
    const reload = admin.call('DEBUG', 'RELOAD'); // saves, then loads the dataset again: LOADING meanwhile
    const probe = new Redis(server.url, { enableReadyCheck: false });
    await waitFor('Redis to be loading', async () => /loading:1/.test(await probe.info('persistence')), 5000);
    const r = await p.move({ sessionId: 'room', player: 'u', action: 'a' });
    expect(r.seq).toBe(2);
    expect(await probe.info('persistence')).toMatch(/loading:0/);
    await reload;
    admin.disconnect();
    probe.disconnect();
  });

  it('resumes as soon as a restarted Redis has loaded its data', async () => {
    // Loading takes about 0.3 s here (key-load-delay is in µs per key; Redis answers while loading
    // every KiB read), and the producer's client reconnects while it runs. ioredis re-checks a loading
    // Redis only after max(ETA, 1 s) by default: with the default readyTimeoutMs of 1 s, emits were
    // refused for about a second after every restart.
    const server = await OwnRedis.start(['--save', '', '--appendonly', 'no', '--key-load-delay', '100', '--loading-process-events-interval-bytes', '1024']);
    servers.push(server);
    const admin = new Redis(server.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    admin.on('error', () => {});
    await admin.mset(Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`k${i}`, 'v'])));
    // A generous bound, so a slow machine cannot fail the test; what is measured is how soon after
    // loading the emit goes through.
    const { p } = producer({ connection: server.url, readyTimeoutMs: 3000 });
    expect(await moves(p, 'room', 1)).toEqual([1]);
    await admin.call('SAVE');
    admin.disconnect();
    await server.stop();
    const probe = new Redis(server.url, { enableReadyCheck: false, maxRetriesPerRequest: null, retryStrategy: () => 10 });
    probe.on('error', () => {});
    server.spawn(); // loads dump.rdb
    const loaded = (async () => {
      let seen = false;
      for (;;) {
        const info = await probe.info('persistence').catch(() => '');
        if (/loading:1/.test(info)) seen = true;
        else if (/loading:0/.test(info)) return { seen, at: performance.now() };
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const r = await p.move({ sessionId: 'room', player: 'u', action: 'a' });
    const sentAt = performance.now();
    const { seen, at } = await loaded;
    probe.disconnect();
    expect(r.seq).toBe(2);
    expect(seen).toBe(true);
    expect(sentAt - at).toBeLessThan(400);
  });
});
