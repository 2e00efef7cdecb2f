/**
 * Secrets in text: a URL's password is replaced wherever it appears in an error message, a log line's
 * message or string fields; config fields holding secrets are censored in logs by path.
 */
import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { errorMessage, redactSecrets } from '../../src/errors.ts';

describe('redactSecrets', () => {
  it('replaces the password of every URL in a text, and nothing else', () => {
    expect(redactSecrets('connect to postgres://app:s3cr%40t@db:5432/gp failed; redis://:pw@r:6379 too')).toBe('connect to postgres://app:***@db:5432/gp failed; redis://:***@r:6379 too');
    expect(redactSecrets('rediss://default:tok@host')).toBe('rediss://default:***@host');
    expect(redactSecrets('postgres://app@db/gp at 12:30 user@example.com http://host:8080/x')).toBe('postgres://app@db/gp at 12:30 user@example.com http://host:8080/x');
    expect(errorMessage(new Error('bad postgresql://u:hunter2hunter2@h/d'))).toBe('bad postgresql://u:***@h/d');
  });
});

describe('createLogger', () => {
  it('writes no URL password (message or field) and no config secret', async () => {
    const out: string[] = [];
    vi.resetModules();
    vi.doMock('pino', async () => {
      const real = await vi.importActual<typeof import('pino')>('pino');
      const sink = new Writable({ write: (c: Buffer, _e, done) => (out.push(c.toString()), done()) });
      return { ...real, pino: Object.assign((opts: object) => real.pino(opts, sink), real.pino) };
    });
    const { createLogger } = await import('../../src/log.ts');
    const log = createLogger('info');
    log.error({ err: 'connect postgres://app:pgpw-123@db/gp refused' }, 'failed at redis://:rpw-456@r:6379');
    log.info({ config: { databaseUrl: 'postgres://a:b@c/d', metricsToken: 'tok-789-abcdefghijkl', boardPassword: 'bp-000' } }, 'config');
    log.info({ req: { headers: { authorization: 'Bearer gpk_x_keysecret' } } }, 'request');
    vi.doUnmock('pino');
    const text = out.join('');
    expect(text).toContain('***');
    for (const s of ['pgpw-123', 'rpw-456', 'tok-789', 'bp-000', ':b@', 'keysecret']) expect(text).not.toContain(s);
  });
});
