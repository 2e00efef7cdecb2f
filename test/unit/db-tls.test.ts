/** The URL → TLS translation (src/db/tls.ts, src/redis.ts): libpq's sslmode meanings, one per mode. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pgConnectionOptions, sslModeOf } from '../../src/db/tls.ts';
import { ConfigError } from '../../src/errors.ts';
import { redisConnectionOptions } from '../../src/redis.ts';

const dir = mkdtempSync(join(tmpdir(), 'gp-tls-unit-'));
const ca = join(dir, 'ca.crt');
writeFileSync(ca, 'CA PEM');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base = 'postgres://u:p%40ss@db.example:5432/gp';

describe('pgConnectionOptions', () => {
  it('no sslmode, disable, allow and prefer: plaintext, the URL untouched when it has no TLS parameter', () => {
    expect(pgConnectionOptions(base)).toEqual({ connectionString: base, ssl: false });
    for (const m of ['disable', 'allow', 'prefer']) expect(pgConnectionOptions(`${base}?sslmode=${m}`)).toEqual({ connectionString: `${base}`, ssl: false });
  });

  it('require: encrypted, not verified; with sslrootcert the chain is verified (as libpq), not the host name', () => {
    const plain = pgConnectionOptions(`${base}?sslmode=require&application_name=x`);
    expect(plain.connectionString).toBe(`${base}?application_name=x`);
    expect(plain.ssl).toMatchObject({ rejectUnauthorized: false });
    const rooted = pgConnectionOptions(`${base}?sslmode=require&sslrootcert=${ca}`);
    expect(rooted.ssl).toMatchObject({ rejectUnauthorized: true, ca: 'CA PEM' });
    expect(rooted.ssl && rooted.ssl.checkServerIdentity).toBeTypeOf('function');
  });

  it('verify-ca verifies the chain only; verify-full the chain and the host name (Node default check)', () => {
    const ca_ = pgConnectionOptions(`${base}?sslmode=verify-ca&sslrootcert=${ca}`).ssl;
    expect(ca_).toMatchObject({ rejectUnauthorized: true, ca: 'CA PEM' });
    expect(ca_ && ca_.checkServerIdentity).toBeTypeOf('function');
    const full = pgConnectionOptions(`${base}?sslmode=verify-full&sslrootcert=${ca}`);
    expect(full.connectionString).toBe(base);
    expect(full.ssl).toEqual({ rejectUnauthorized: true, ca: 'CA PEM' });
    // sslrootcert=system: the system's CAs (Node's default store).
    expect(pgConnectionOptions(`${base}?sslmode=verify-full&sslrootcert=system`).ssl).toEqual({ rejectUnauthorized: true });
  });

  it("pg's ssl=true means verify-full, ssl=0 disable", () => {
    expect(sslModeOf(`${base}?ssl=true`)).toBe('verify-full');
    expect(pgConnectionOptions(`${base}?ssl=0`)).toEqual({ connectionString: base, ssl: false });
  });

  it('an unknown sslmode or an unreadable file is a ConfigError naming the variable', () => {
    expect(() => pgConnectionOptions(`${base}?sslmode=verify`)).toThrow(ConfigError);
    expect(() => pgConnectionOptions(`${base}?sslmode=verify`, 'DATABASE_READ_URL')).toThrow(/^DATABASE_READ_URL has sslmode=verify/);
    expect(() => pgConnectionOptions(`${base}?sslmode=verify-full&sslrootcert=${join(dir, 'missing.crt')}`)).toThrow(/DATABASE_URL has sslrootcert=.*cannot be read/);
  });
});

describe('redisConnectionOptions', () => {
  it('reads sslrootcert/sslcert/sslkey of a rediss:// URL into TLS options and removes them from the URL', () => {
    expect(redisConnectionOptions(`rediss://:pw@cache:6380/2?sslrootcert=${ca}`)).toEqual({ url: 'rediss://:pw@cache:6380/2', options: { tls: { ca: 'CA PEM' } } });
    expect(redisConnectionOptions('rediss://cache:6380')).toEqual({ url: 'rediss://cache:6380', options: {} });
    expect(() => redisConnectionOptions(`redis://cache?sslrootcert=${ca}`)).toThrow(/REDIS_URL has sslrootcert but is not a rediss:\/\/ URL/);
  });
});
