/**
 * TLS on every connection the pipeline opens, against a PostgreSQL 15 cluster and a redis-server of
 * this file's own, both with a certificate from a throwaway CA. The cluster refuses plaintext
 * (`hostnossl ... reject`), so anything that works here — `migrate` (ORM pool, lock client,
 * ensureDatabase, BullMQ's queue schema), a worker (ORM pool, pg-boss, BullMQ's PostgreSQL pools) and a
 * producer (queue pool, counters pool) — really used TLS. A certificate from another CA fails closed
 * under verify-full, with no plaintext fallback; `require` encrypts without verifying.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { openOrm } from '../../../src/db/orm.ts';
import { pgConnectionOptions } from '../../../src/db/tls.ts';
import { ConfigError } from '../../../src/errors.ts';
import { createProducer } from '../../../src/producers/index.ts';
import { workerRedis } from '../../../src/redis.ts';
import type { WorkerHandle } from '../../../src/process/worker.ts';
import { runCli } from '../../helpers/cli.ts';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server.ts';
import { testEnv, uniqueName, waitFor } from '../../helpers/services.ts';
import { inProcessWorker } from '../../helpers/worker.ts';

const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const DB = 'gp_tls';

let dir = '';
let port = 0;
let pgStarted = false;
let redis: RedisServer | undefined;
let redisTlsPort = 0;
const ca = () => join(dir, 'ca.crt');
const otherCa = () => join(dir, 'other-ca.crt');
const pgUrl = (params: string, db = DB) => `postgres://postgres@127.0.0.1:${port}/${db}?${params}`;
const verifyFull = () => `sslmode=verify-full&sslrootcert=${ca()}`;

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(0, '127.0.0.1', () => resolve()));
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  if (!addr || typeof addr !== 'object') throw new Error('no port');
  return addr.port;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A CA (`<name>.crt`), and with `server` a certificate for 127.0.0.1 and localhost signed by it. */
function makeCa(name: string): void {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.crt`]);
}

function makeServerCert(): void {
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr']);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext', '-out', 'server.crt']);
}

/** Runs a PostgreSQL binary as the `postgres` system user when we are root (PostgreSQL refuses root). */
function asPostgres(bin: string, args: string[]): void {
  const ids = process.getuid?.() === 0 ? { uid: Number(execFileSync('id', ['-u', 'postgres']).toString()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString()) } : {};
  execFileSync(join(PG_BIN, bin), args, { cwd: dir, stdio: 'pipe', ...ids });
}

async function startPostgres(): Promise<void> {
  const data = join(dir, 'pgdata');
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    for (const f of ['', ...readdirSync(dir)]) chownSync(join(dir, f), uid, gid);
  }
  asPostgres('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  appendFileSync(
    join(data, 'postgresql.conf'),
    [
      `port = ${port}`,
      `listen_addresses = '127.0.0.1,127.0.0.2'`,
      `unix_socket_directories = '${dir}'`,
      'ssl = on',
      `ssl_cert_file = '${join(dir, 'server.crt')}'`,
      `ssl_key_file = '${join(dir, 'server.key')}'`,
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      'max_connections = 60',
      '',
    ].join('\n'),
  );
  // TLS or nothing over TCP: a plaintext connection (an ORM pool ignoring sslmode) is refused.
  writeFileSync(join(data, 'pg_hba.conf'), ['local all all trust', 'hostssl all all 127.0.0.0/8 trust', 'hostnossl all all 127.0.0.0/8 reject', ''].join('\n'));
  asPostgres('pg_ctl', ['-D', data, '-l', join(dir, 'postgres.log'), '-w', '-t', '20', 'start']);
  pgStarted = true;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gp-tls-'));
  makeCa('ca');
  makeCa('other-ca');
  makeServerCert();
  port = await freePort();
  await startPostgres();
  redisTlsPort = await freePort();
  redis = await startRedisServer([
    '--tls-port', String(redisTlsPort),
    '--tls-cert-file', join(dir, 'server.crt'),
    '--tls-key-file', join(dir, 'server.key'),
    '--tls-ca-cert-file', ca(),
    '--tls-auth-clients', 'no',
  ]);
});

afterAll(async () => {
  await redis?.stop().catch(() => {});
  if (pgStarted) {
    try {
      asPostgres('pg_ctl', ['-D', join(dir, 'pgdata'), '-m', 'immediate', '-w', 'stop']);
    } catch {
      // already gone
    }
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Connects once with the project's options for `url`; resolves to the session's ssl flag. */
async function connectOnce(url: string): Promise<boolean> {
  const c = new pg.Client({ ...pgConnectionOptions(url), connectionTimeoutMillis: 5000 });
  c.on('error', () => {});
  await c.connect();
  try {
    const { rows } = await c.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    return rows[0].ssl;
  } finally {
    await c.end();
  }
}

describe('PostgreSQL over TLS', () => {
  it('refuses plaintext (the cluster is configured as intended)', async () => {
    await expect(connectOnce(pgUrl('sslmode=disable', 'postgres'))).rejects.toThrow(/no encryption|pg_hba/);
    await expect(connectOnce(pgUrl('', 'postgres'))).rejects.toThrow(/no encryption|pg_hba/);
  });

  it('verify-full with the right CA, require without one: encrypted', async () => {
    expect(await connectOnce(pgUrl(verifyFull(), 'postgres'))).toBe(true);
    expect(await connectOnce(pgUrl(`sslmode=verify-ca&sslrootcert=${ca()}`, 'postgres'))).toBe(true);
    expect(await connectOnce(pgUrl('sslmode=require', 'postgres'))).toBe(true);
  });

  it('verify-full, verify-ca and require with a root certificate fail closed on a certificate from another CA', async () => {
    for (const mode of ['verify-full', 'verify-ca', 'require']) {
      await expect(connectOnce(pgUrl(`sslmode=${mode}&sslrootcert=${otherCa()}`, 'postgres'))).rejects.toThrow(/certificate/);
    }
    // The ORM's pool too (it used to ignore sslmode).
    const orm = await openOrm({ databaseUrl: pgUrl(`sslmode=verify-full&sslrootcert=${otherCa()}`, 'postgres'), poolMax: 1 });
    try {
      await expect(orm.em.getConnection().execute('select 1')).rejects.toThrow(/certificate/);
    } finally {
      await orm.close();
    }
  });

  it('verify-full checks the host name; verify-ca does not', async () => {
    // 127.0.0.2 is the same server (loopback) under a name the certificate does not carry.
    const other = (params: string) => pgUrl(params, 'postgres').replace('127.0.0.1', '127.0.0.2');
    await expect(connectOnce(other(verifyFull()))).rejects.toThrow(/127\.0\.0\.2|altnames|certificate/i);
    expect(await connectOnce(other(`sslmode=verify-ca&sslrootcert=${ca()}`))).toBe(true);
  });

  it('a wrong CA fails `migrate` with a certificate error, and nothing is created', async () => {
    const r = await runCli(['migrate', '--create-db'], testEnv(pgUrl(`sslmode=verify-full&sslrootcert=${otherCa()}`), 'gp', { GP_QUEUE_BACKEND: 'postgres' }));
    expect(r.code).not.toBe(0);
    expect(r.stderr + r.stdout).toMatch(/certificate/);
    await expect(connectOnce(pgUrl(verifyFull()))).rejects.toThrow(/does not exist/);
  });

  it('rejects an unknown sslmode, naming DATABASE_URL', () => {
    expect(() => loadConfig({ DATABASE_URL: pgUrl('sslmode=verify_full') })).toThrow(ConfigError);
    expect(() => loadConfig({ DATABASE_URL: pgUrl('sslmode=verify_full') })).toThrow(/DATABASE_URL/);
  });

  it('migrate, a worker and a producer on the PostgreSQL queue backend work end to end over verify-full TLS', async () => {
    const url = pgUrl(verifyFull());
    const prefix = uniqueName('q');
    const env = testEnv(url, prefix, { GP_QUEUE_BACKEND: 'postgres' });
    const m = await runCli(['migrate', '--create-db', '--json'], env);
    expect(m.stderr).toBe('');
    expect(m.code).toBe(0);

    let worker: WorkerHandle | undefined;
    const producer = createProducer({ connection: url, prefix });
    const orm = await openOrm({ databaseUrl: url, poolMax: 1 });
    try {
      worker = await inProcessWorker(loadConfig(env));
      for (let seq = 1; seq <= 5; seq++) await producer.emit({ type: 'move', sessionId: 'tls-pg', player: 'p1', data: { action: 'step', turn: seq } });
      await producer.flush();
      const moves = async () => Number((await orm.em.getConnection().execute<{ n: string }[]>(`select count(*) as n from moves where session_id = 'tls-pg'`))[0].n);
      await waitFor('5 moves', async () => (await moves()) === 5, 20_000);

      // Every session of the pipeline on this cluster is encrypted, the worker's ORM pool included.
      const sessions = await orm.em.getConnection().execute<{ app: string; ssl: boolean }[]>(
        `select a.application_name as app, s.ssl from pg_stat_activity a join pg_stat_ssl s on s.pid = a.pid where a.datname = ? and a.backend_type = 'client backend'`,
        [DB],
      );
      const apps = new Set(sessions.map((s) => s.app));
      expect(apps).toContain('game-persist:worker');
      expect(apps).toContain('game-persist:producer');
      expect(sessions.filter((s) => !s.ssl)).toEqual([]);
    } finally {
      await producer.close();
      await worker?.close();
      await orm.close();
    }
  });
});

// Uses the database the PostgreSQL end-to-end test above migrated (tests of a file run in order).
describe('Redis over TLS (rediss://)', () => {
  const rediss = (caFile: string) => `rediss://127.0.0.1:${redisTlsPort}?sslrootcert=${caFile}`;

  it('a worker and a producer work over rediss:// verified against sslrootcert', async () => {
    const prefix = uniqueName('q');
    const env = testEnv(pgUrl(verifyFull()), prefix, { REDIS_URL: rediss(ca()) });
    let worker: WorkerHandle | undefined;
    const producer = createProducer({ connection: rediss(ca()), prefix });
    const orm = await openOrm({ databaseUrl: pgUrl(verifyFull()), poolMax: 1 });
    try {
      worker = await inProcessWorker(loadConfig(env));
      for (let seq = 1; seq <= 3; seq++) await producer.emit({ type: 'move', sessionId: 'tls-redis', player: 'p1', data: { action: 'step', turn: seq } });
      await producer.flush();
      const moves = async () => Number((await orm.em.getConnection().execute<{ n: string }[]>(`select count(*) as n from moves where session_id = 'tls-redis'`))[0].n);
      await waitFor('3 moves', async () => (await moves()) === 3, 20_000);
    } finally {
      await producer.close();
      await worker?.close();
      await orm.close();
    }
  });

  it('fails closed on a certificate from another CA', async () => {
    const r = workerRedis(rediss(otherCa()));
    const failure = new Promise<Error>((resolve) => r.once('error', resolve));
    try {
      expect((await failure).message).toMatch(/certificate/);
    } finally {
      r.disconnect();
    }
  });

  it('rejects TLS parameters on a plaintext redis:// URL', () => {
    expect(() => workerRedis(`redis://127.0.0.1:${redisTlsPort}?sslrootcert=${ca()}`)).toThrow(/REDIS_URL/);
  });
});
