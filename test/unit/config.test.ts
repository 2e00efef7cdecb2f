import { describe, expect, it } from 'vitest';
import { loadConfig, redactUrl } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';

describe('config', () => {
  it('has working defaults and is frozen', () => {
    const c = loadConfig({});
    expect(c.queuePrefix).toBe('gp');
    expect(c.batchRows).toBe(5000);
    expect(c.workerHeapMb).toBe(192);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it.each([
    ['GP_BATCH_ROWS', 'lots'],
    ['GP_BATCH_ROWS', '0'],
    ['GP_WORKER_CONCURRENCY', '1.5'],
    ['DATABASE_URL', 'mysql://x/y'],
    ['REDIS_URL', 'not a url'],
    ['GP_QUEUE_PREFIX', 'a b'],
    ['GP_ALLOW_EVICTION', 'maybe'],
    ['GP_LOG_LEVEL', 'loud'],
  ])('rejects %s=%s naming the variable', (name, value) => {
    let err: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe(name);
    expect((err as Error).message).toMatch(new RegExp(`^${name} `));
  });

  it('redacts passwords for display', () => {
    expect(redactUrl('postgres://u:secret@h:5432/db')).toBe('postgres://u:***@h:5432/db');
  });
});
