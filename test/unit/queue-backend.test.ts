import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { producerOptions } from '../../src/producers/index.ts';
import { backendOf, queueSchema } from '../../src/queue/backend.ts';

describe('queue backend', () => {
  it('names a PostgreSQL schema per prefix: plain prefixes as they are, others sanitised with a hash, never two alike', () => {
    expect(queueSchema('gp')).toBe('bullmq_gp');
    expect(queueSchema('gpt_q_0a1b2c3d4e')).toBe('bullmq_gpt_q_0a1b2c3d4e');
    const odd = ['{gp}', '_gp_', 'GP', 'a.b', 'a-b', 'a_b', 'x'.repeat(64), `${'x'.repeat(63)}y`];
    const names = odd.map(queueSchema);
    expect(new Set(names).size).toBe(odd.length);
    for (const n of names) expect(n).toMatch(/^[a-z_][a-z0-9_]{0,62}$/);
    expect(queueSchema('{gp}')).toMatch(/^bullmq__gp__[0-9a-f]{8}$/);
  });

  it('picks the backend from the connection, and the connection from the config', () => {
    expect(backendOf('postgres://h/db')).toBe('postgres');
    expect(backendOf('postgresql://h/db')).toBe('postgres');
    expect(backendOf('redis://h:6379')).toBe('redis');
    const env = { DATABASE_URL: 'postgres://u@db:5432/gp', REDIS_URL: 'redis://r:6379', GP_QUEUE_PREFIX: 'game', GP_QUEUE_NAME: 'ev' };
    expect(producerOptions(loadConfig(env))).toMatchObject({ connection: 'redis://r:6379', prefix: 'game', queueName: 'ev' });
    expect(producerOptions(loadConfig({ ...env, GP_QUEUE_BACKEND: 'postgres' }))).toMatchObject({ connection: 'postgres://u@db:5432/gp', prefix: 'game' });
  });
});
