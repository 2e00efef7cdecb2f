/**
 * `producer.ready()`: a game server's start waits for the queue's store longer than one emit does.
 * CI saw a game server's first emit refused ("Redis not reachable within 1000 ms") while the chaos
 * suite loaded the machine; its start now waits for Redis up front.
 */
import { expect, it } from 'vitest';
import { createProducer, NotReadyError } from '../../../src/producers/index.ts';
import { freePort, startRedisServer } from '../../helpers/redis-server.ts';
import { uniqueName } from '../../helpers/services.ts';

it('waits for a Redis that comes up after the producer, well past readyTimeoutMs', async () => {
  const port = await freePort();
  const producer = createProducer({ connection: `redis://127.0.0.1:${port}`, prefix: uniqueName('ready'), readyTimeoutMs: 200 });
  let server: Awaited<ReturnType<typeof startRedisServer>> | null = null;
  try {
    const ready = producer.ready(20_000);
    const settled = ready.then(() => 'ready', () => 'failed');
    await new Promise((r) => setTimeout(r, 1000)); // five of the emit's own waits
    expect(await Promise.race([settled, Promise.resolve('pending')])).toBe('pending');
    server = await startRedisServer([], { port });
    await ready;
    const sent = await producer.sessionCreated({ sessionId: 's1', gameType: 'hokm' });
    expect(sent.seq).toBe(1);
    expect(await server.client.llen(`${producer.queue.opts.prefix}:${producer.queue.name}:wait`)).toBe(1);
  } finally {
    await producer.close();
    await server?.stop();
  }
});

it('rejects with NotReadyError once its time runs out', async () => {
  const port = await freePort();
  const producer = createProducer({ connection: `redis://127.0.0.1:${port}`, readyTimeoutMs: 100 });
  try {
    const t0 = performance.now();
    const err = await producer.ready(600).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(NotReadyError);
    expect(err).toMatchObject({ code: 'not_ready', reason: 'redis_unavailable' });
    expect((err as Error).message).toContain('not ready after 600 ms');
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(590);
    expect(took).toBeLessThan(3000);
  } finally {
    await producer.close();
  }
});

it('rejects with postgres_unavailable on the PostgreSQL backend', async () => {
  const port = await freePort();
  const producer = createProducer({ connection: `postgres://postgres@127.0.0.1:${port}/none`, readyTimeoutMs: 100 });
  try {
    await expect(producer.ready(300)).rejects.toMatchObject({ name: 'NotReadyError', reason: 'postgres_unavailable' });
  } finally {
    await producer.close();
  }
});
