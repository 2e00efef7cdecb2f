/**
 * The producer's Redis gate waits a bounded time for a connecting client. On a loaded machine the
 * process itself may not run for longer than that wait (CI saw a demo game server's first emit refused
 * as "Redis not reachable within 1000 ms" beside the chaos suite): its timer then fires before the
 * connection's pending I/O is read. Only time the process could wait may count against the deadline.
 */
import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { RedisGate } from '../../../src/producers/redis-gate.ts';
import { REDIS_URL } from '../../helpers/services.ts';

/** Holds the event loop, as a starved or busy process does. */
function block(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

it('does not count a starved event loop against the ready deadline', async () => {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    const gate = new RedisGate(redis, 200);
    const pong = gate.run(() => redis.ping()); // starts the connect and arms the 200 ms deadline
    block(800);
    await expect(pong).resolves.toBe('PONG');
  } finally {
    redis.disconnect();
  }
});

it('still fails within its bound when Redis does not answer', async () => {
  // A port nothing listens on: refused connects, retried by ioredis, never ready.
  const redis = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  redis.on('error', () => {}); // refused connects are the point here, not noise for the test's output
  try {
    const gate = new RedisGate(redis, 200);
    const t0 = performance.now();
    await expect(gate.run(() => redis.ping())).rejects.toThrow('Redis not reachable within 200 ms');
    expect(performance.now() - t0).toBeLessThan(1000);
  } finally {
    redis.disconnect();
  }
});

it('hangs every waiter of an outage off one client listener, and removes it after', async () => {
  // A chaos run's producer printed MaxListenersExceededWarning while Redis was down: one 'ready'
  // listener per flush waiting on the gate.
  const redis = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  redis.on('error', () => {});
  try {
    const before = redis.listenerCount('ready');
    const beforeEnd = redis.listenerCount('end');
    const gate = new RedisGate(redis, 300);
    const calls = Array.from({ length: 30 }, () => gate.run(() => redis.ping()).then(() => 'ok', (e: Error) => e.message));
    await new Promise((r) => setTimeout(r, 50));
    expect(redis.listenerCount('ready') - before).toBe(1);
    expect(new Set(await Promise.all(calls))).toEqual(new Set(['Redis not reachable within 300 ms']));
    expect(redis.listenerCount('ready')).toBe(before);
    expect(redis.listenerCount('end')).toBe(beforeEnd);
  } finally {
    redis.disconnect();
  }
});
