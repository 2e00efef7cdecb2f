import { describe, expect, it } from 'vitest';
import { loadConfig, redactUrl } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';

describe('config', () => {
  it('has working defaults and is frozen', () => {
    const c = loadConfig({});
    expect(c.queuePrefix).toBe('gp');
    expect(c.batchRows).toBe(5000);
    expect(c.workerHeapMb).toBe(192);
    expect(c.queueBackend).toBe('redis');
    expect(loadConfig({ GP_QUEUE_BACKEND: 'postgres' }).queueBackend).toBe('postgres');
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
    ['GP_QUEUE_BACKEND', 'kafka'],
    ['GP_MAX_STATE_BYTES', '100'],
    ['GP_MAX_JOB_BYTES', 'big'],
    // Below what the SDK can put in one job (4 MiB of events plus the largest event).
    ['GP_MAX_JOB_BYTES', String(4 * 1024 * 1024)],
    ['GP_ERASURE_KEY', 'too-short-a-key'],
    ['GP_ERASURE_KEY', 'a key with spaces in it that is long enough'],
    ['GP_RETAIN_IDLE_DAYS', '-1'],
    // Trusting every proxy would let any client name its own address.
    ['GP_API_TRUST_PROXY', 'true'],
    ['GP_API_TRUST_PROXY', '*'],
    ['GP_API_TRUST_PROXY', '2'],
    ['GP_API_TRUST_PROXY', '10.0.0.0/33'],
    ['GP_API_TRUST_PROXY', '10.0.0.5,proxy.local'],
    ['GP_API_AUTH_FAILURE_WINDOW_S', '0'],
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

  it('bounds jobs and live states, never below what the SDK sends', () => {
    const c = loadConfig({});
    expect(c.maxJobBytes).toBe(16 * 1024 * 1024);
    expect(c.maxStateBytes).toBe(1024 * 1024);
    // Raising the event and document limits raises the smallest (and default) job limit with them.
    const big = loadConfig({ GP_MAX_EVENT_BYTES: String(8 * 1024 * 1024), GP_MAX_DOCUMENT_BYTES: String(16 * 1024 * 1024) });
    expect(big.maxJobBytes).toBe(28 * 1024 * 1024);
    expect(() => loadConfig({ GP_MAX_EVENT_BYTES: String(8 * 1024 * 1024), GP_MAX_JOB_BYTES: String(12 * 1024 * 1024) })).toThrow(/^GP_MAX_JOB_BYTES must be between/);
  });

  it('serves a worker\'s metrics and health on loopback unless GP_METRICS_HOST says otherwise', () => {
    expect(loadConfig({}).metricsHost).toBe('127.0.0.1');
    expect(loadConfig({ GP_METRICS_HOST: '0.0.0.0' }).metricsHost).toBe('0.0.0.0');
  });

  it('reads the erasure key from the environment only, absent by default', () => {
    expect(loadConfig({}).erasureKey).toBeNull();
    expect(loadConfig({ GP_ERASURE_KEY: 'k'.repeat(32) }).erasureKey).toBe('k'.repeat(32));
  });

  it('takes trusted proxies as addresses, CIDR ranges and range names; none by default', () => {
    expect(loadConfig({}).apiTrustProxy).toBeNull();
    expect(loadConfig({ GP_API_TRUST_PROXY: 'false' }).apiTrustProxy).toBeNull();
    expect(loadConfig({ GP_API_TRUST_PROXY: ' 10.0.0.5, 10.1.0.0/16,fd00::/8,loopback ' }).apiTrustProxy).toEqual(['10.0.0.5', '10.1.0.0/16', 'fd00::/8', 'loopback']);
    expect(loadConfig({}).apiAuthFailureLimit).toBe(20);
    expect(loadConfig({ GP_API_AUTH_FAILURE_LIMIT: '0' }).apiAuthFailureLimit).toBe(0);
  });

  it('redacts passwords for display', () => {
    expect(redactUrl('postgres://u:secret@h:5432/db')).toBe('postgres://u:***@h:5432/db');
  });
});

describe('connection hints', () => {
  it('tell a password-less login refused by PostgreSQL from an unreachable server', async () => {
    const { connectionHint } = await import('../../src/cli/hints.ts');
    expect(connectionHint(new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string'))).toMatch(/wants a password the URL does not give/);
    expect(connectionHint(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' }))).toMatch(/Redis is not reachable/);
    expect(connectionHint(new Error('relation "x" does not exist'))).toBeNull();
  });
});
