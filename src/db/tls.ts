/**
 * TLS of every PostgreSQL connection, decided in one place from the URL's libpq parameters.
 *
 * Every pg client and pool the project opens (the ORM's pool, the reader, pg-boss, BullMQ's PostgreSQL
 * backend, the producer's counters, migrations) is built from `pgConnectionOptions(url)`: the URL
 * without its TLS parameters, plus pg's `ssl` option. Two reasons not to leave it to each library:
 * MikroORM reads only host, port, user, password and database from a URL (a `sslmode` there was
 * silently dropped), and pg itself now reads `sslmode=require` as verify-full, unlike libpq.
 *
 * What each `sslmode` does here (libpq's meanings, https://www.postgresql.org/docs/current/libpq-ssl.html):
 * - absent, `disable`, `allow`, `prefer`: no TLS. pg cannot try TLS and fall back to plaintext the way
 *   libpq's `prefer` (its default) does; these modes never protect against an attacker anyway.
 * - `require`: encrypted, the certificate not verified; with `sslrootcert` its chain is verified
 *   (libpq does the same when a root certificate is given).
 * - `verify-ca`: encrypted, chain verified against `sslrootcert` (the system's CAs when absent or
 *   `system`), host name not checked.
 * - `verify-full`: encrypted, chain and host name verified.
 * No mode falls back to plaintext: a server that refuses TLS, or presents a certificate that fails
 * verification, fails the connection. `sslcert`/`sslkey` (a client certificate) are file paths, as
 * is `sslrootcert`. pg's own `ssl=true` (no sslmode) means verify-full, as in pg; `ssl=false`/`0`
 * means disable. Any other `sslmode` is a ConfigError naming the variable.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { ConfigError } from '../errors.ts';

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** The URL parameters read here, removed from the connection string handed on (pg would re-read them). */
const TLS_PARAMS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'ssl'] as const;

export interface PgConnectionOptions {
  /** The URL without its TLS parameters. */
  connectionString: string;
  /** pg's `ssl` option: false (plaintext) or Node's TLS options. */
  ssl: false | ConnectionOptions;
}

/**
 * The sslmode a URL asks for (`ssl=true` read as verify-full, as pg does); null when it asks for none.
 * Throws a ConfigError naming `variable` for a mode libpq does not have.
 */
export function sslModeOf(url: string, variable = 'DATABASE_URL'): SslMode | null {
  const params = parse(url, variable).searchParams;
  const mode = params.get('sslmode');
  if (mode !== null) {
    if (!(SSL_MODES as readonly string[]).includes(mode)) throw new ConfigError(variable, `has sslmode=${mode}; expected one of ${SSL_MODES.join(', ')}`);
    return mode as SslMode;
  }
  const ssl = params.get('ssl');
  if (ssl === null) return null;
  if (ssl === 'true' || ssl === '1') return 'verify-full';
  if (ssl === 'false' || ssl === '0') return 'disable';
  throw new ConfigError(variable, `has ssl=${ssl}; use sslmode=disable|require|verify-ca|verify-full instead`);
}

function parse(url: string, variable: string): URL {
  try {
    return new URL(url);
  } catch {
    throw new ConfigError(variable, 'must be a URL');
  }
}

function readPem(params: URLSearchParams, name: string, variable: string): string | undefined {
  const path = params.get(name);
  if (path === null || path === '') return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(variable, `has ${name}=${path}, which cannot be read: ${(e as Error).message}`);
  }
}

/**
 * pg client/pool options for a PostgreSQL URL: spread them into `new pg.Pool({...})` (or use `ssl` as
 * the ORM's driver option). `variable` names the setting in error messages.
 */
export function pgConnectionOptions(url: string, variable = 'DATABASE_URL'): PgConnectionOptions {
  const mode = sslModeOf(url, variable);
  const u = parse(url, variable);
  const params = new URLSearchParams(u.searchParams);
  // Re-serialised only when there is something to remove: URLSearchParams re-encodes the whole query.
  let connectionString = url;
  if (TLS_PARAMS.some((p) => params.has(p))) {
    for (const p of TLS_PARAMS) u.searchParams.delete(p);
    connectionString = u.toString();
  }
  if (mode === null || mode === 'disable' || mode === 'allow' || mode === 'prefer') return { connectionString, ssl: false };

  const rootcert = params.get('sslrootcert');
  const ca = rootcert === 'system' ? undefined : readPem(params, 'sslrootcert', variable);
  const cert = readPem(params, 'sslcert', variable);
  const key = readPem(params, 'sslkey', variable);
  const ssl: ConnectionOptions = { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
  const verifyChain = mode === 'verify-ca' || mode === 'verify-full' || (mode === 'require' && rootcert !== null && rootcert !== '');
  ssl.rejectUnauthorized = verifyChain;
  // verify-full keeps Node's default check of the host name against the certificate (IP SANs included).
  if (mode !== 'verify-full') ssl.checkServerIdentity = () => undefined;
  return { connectionString, ssl };
}
