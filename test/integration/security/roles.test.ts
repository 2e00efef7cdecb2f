/**
 * Least privilege end to end (issues 12 and 19): a database migrated by the superuser, then `migrate
 * --create-roles --apply` (ownership moves to the owner role), `migrate` as the owner, a worker connected
 * as the worker role (ORM pool, pg-boss with its migrations off, BullMQ on Redis) ingesting real events
 * with live state, aggregates, ratings and snapshot jobs on, `serve` as the API role reading as the
 * reader (ingest, reads, keys checked, queue notify, a game type registered, an erasure run by the worker,
 * an export), Grafana's role running every dashboard query. Each role's refusals are proven by a real
 * connection as that role (42501): DDL as the worker, writes as the reader, the audit and migrations
 * rewritten by the worker, a key minted by the API, chat, prompts and the audit read by Grafana. Roles
 * and database are this file's own and dropped at the end.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { scramVerifier } from '../../../src/db/roles.ts';
import { PreconditionError } from '../../../src/errors.ts';
import { createProducer } from '../../../src/producers/index.ts';
import type { WorkerHandle } from '../../../src/process/worker.ts';
import { runCli } from '../../helpers/cli.ts';
import { adminQuery } from '../../helpers/env.ts';
import { REDIS_URL, cloneDatabase, dropPrefix, emptyDatabase, testEnv, uniqueName, waitFor } from '../../helpers/services.ts';
import { inProcessWorker, spawnCli } from '../../helpers/worker.ts';
import { DASHBOARDS } from '../../../src/metrics/dashboards.ts';

const roles = { owner: uniqueName('owner'), worker: uniqueName('worker'), reader: uniqueName('reader'), api: uniqueName('api'), grafana: uniqueName('grafana') };
const passwords = { owner: 'owner-Secret-4711', worker: 'worker-Secret-4712', reader: 'reader-Secret-4713', api: 'api-Secret-4715', grafana: 'grafana-Secret-4716' };
const roleEnv = {
  GP_OWNER_ROLE: roles.owner,
  GP_WORKER_ROLE: roles.worker,
  GP_READER_ROLE: roles.reader,
  GP_API_ROLE: roles.api,
  GP_GRAFANA_ROLE: roles.grafana,
  GP_OWNER_PASSWORD: passwords.owner,
  GP_WORKER_PASSWORD: passwords.worker,
  GP_READER_PASSWORD: passwords.reader,
  GP_API_PASSWORD: passwords.api,
  GP_GRAFANA_PASSWORD: passwords.grafana,
};
const ERASURE_KEY = 'roles-test-erasure-key-0123456789abcdef';
const prefix = uniqueName('q');
let db: Awaited<ReturnType<typeof emptyDatabase>>;

/** The database's URL as `role` (the server trusts local connections; the password is there as in production). */
const as = (kind: keyof typeof roles) => {
  const u = new URL(db.url);
  u.username = roles[kind];
  u.password = passwords[kind];
  return u.toString();
};

async function sql<R extends pg.QueryResultRow = Record<string, any>>(url: string, text: string, params: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(text, params)).rows;
  } finally {
    await c.end();
  }
}

/** The SQLSTATE a statement fails with (null: it succeeded). */
async function sqlState(url: string, text: string): Promise<string | null> {
  try {
    await sql(url, text);
    return null;
  } catch (e) {
    return (e as { code?: string }).code ?? 'no code';
  }
}

beforeAll(async () => {
  db = await emptyDatabase();
  // Migrated first by the superuser, as an existing installation was: the roles step must take it over.
  const m = await runCli(['migrate'], testEnv(db.url, prefix));
  expect(m.code, m.stderr).toBe(0);
  const r = await runCli(['migrate', '--create-roles', '--apply', '--json'], testEnv(db.url, prefix, roleEnv));
  expect(r.code, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({ passwordsKept: [] });
  for (const p of Object.values(passwords)) expect(r.stdout + r.stderr).not.toContain(p);
}, 120_000);

afterAll(async () => {
  await dropPrefix(prefix);
  // DROP OWNED in the database (objects and default privileges), then the database, then the roles.
  if (db) {
    await sql(db.url, `DROP OWNED BY ${Object.values(roles).map((r) => pg.escapeIdentifier(r)).join(', ')}`).catch(() => {});
    await db.drop();
  }
  for (const r of Object.values(roles)) await adminQuery(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(r)}`);
});

describe('migrate --create-roles', () => {
  it('prints an idempotent script with psql variables for the passwords, never the passwords themselves', async () => {
    const r = await runCli(['migrate', '--create-roles'], testEnv(db.url, prefix, roleEnv));
    expect(r.code, r.stderr).toBe(0);
    for (const p of Object.values(passwords)) {
      expect(r.stdout).not.toContain(p);
      expect(r.stderr).not.toContain(p);
    }
    expect(r.stdout).toContain(`ALTER ROLE "${roles.worker}" PASSWORD :'worker_password';`);
    expect(r.stdout).toContain(`IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${roles.owner}') THEN CREATE ROLE "${roles.owner}"`);
    expect(r.stdout).toContain(`ALTER DEFAULT PRIVILEGES FOR ROLE "${roles.owner}" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "${roles.worker}";`);
  });

  it('sets passwords as SCRAM verifiers PostgreSQL itself would compute', async () => {
    // PostgreSQL hashes a plain password given to ALTER ROLE; ours, with its salt, must come out the same.
    const probe = uniqueName('probe');
    await adminQuery(`CREATE ROLE ${pg.escapeIdentifier(probe)} PASSWORD 'probe-Secret-4714'`);
    try {
      const [{ v }] = await sql<{ v: string }>(db.url, 'SELECT rolpassword AS v FROM pg_authid WHERE rolname = $1', [probe]);
      const salt = Buffer.from(/^SCRAM-SHA-256\$\d+:([^$]+)\$/.exec(v)![1]!, 'base64');
      expect(scramVerifier('probe-Secret-4714', salt)).toBe(v);
    } finally {
      await adminQuery(`DROP ROLE ${pg.escapeIdentifier(probe)}`);
    }
    const stored = await sql<{ rolname: string; v: string }>(db.url, 'SELECT rolname, rolpassword AS v FROM pg_authid WHERE rolname = ANY($1)', [Object.values(roles)]);
    expect(stored).toHaveLength(5);
    for (const s of stored) expect(s.v).toMatch(/^SCRAM-SHA-256\$4096:/);
  });

  it('hands every object of ours and pg-boss\'s to the owner role; none of the roles is privileged', async () => {
    const foreign = await sql(
      db.url,
      `SELECT n.nspname, c.relname, pg_get_userbyid(c.relowner) AS owner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('public', 'pgboss', 'gp_dashboards') AND c.relkind IN ('r', 'p', 'S', 'v', 'm') AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = $1)`,
      [roles.owner],
    );
    expect(foreign).toEqual([]);
    const [schema] = await sql(db.url, `SELECT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = 'pgboss'`);
    expect(schema!.owner).toBe(roles.owner);
    const attrs = await sql(db.url, 'SELECT rolsuper, rolcreatedb, rolcreaterole, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = ANY($1)', [Object.values(roles)]);
    expect(attrs).toEqual(Array(5).fill({ rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolbypassrls: false, rolcanlogin: true }));
  });

  it('`migrate` runs as the owner (nothing pending, pg-boss\'s schema checked)', async () => {
    const r = await runCli(['migrate', '--json'], testEnv(as('owner'), prefix));
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ applied: [], jobsSchema: { schema: 'pgboss' } });
  });
});

describe('the worker role', () => {
  let worker: WorkerHandle | undefined;
  afterAll(async () => {
    await worker?.close();
  });

  it('ingests with live state, aggregates, ratings and snapshot jobs, connected as the worker role throughout', async () => {
    worker = await inProcessWorker(
      loadConfig(testEnv(as('worker'), prefix, { GP_RATING_DELAY_S: '0', GP_SNAPSHOT_EVERY_TURNS: '2', GP_SNAPSHOT_INTERVAL_S: '0', GP_STATS_FOLD_MS: '50' })),
    );
    const p = createProducer({ connection: REDIS_URL, prefix });
    try {
      await p.sessionCreated({ sessionId: 'roles-1', gameType: 'hokm' });
      for (const player of ['ann', 'bob']) await p.playerJoined({ sessionId: 'roles-1', player });
      for (let t = 0; t < 6; t++) await p.turnResult({ sessionId: 'roles-1', turn: t, ...(t === 0 ? { state: { turn: 0, hp: 10 } } : { patch: { turn: t } }) });
      await p.playerOutcome({ sessionId: 'roles-1', player: 'ann', outcome: 'win', xp: 20 });
      await p.playerOutcome({ sessionId: 'roles-1', player: 'bob', outcome: 'loss', xp: 5 });
      await p.sessionFinished({ sessionId: 'roles-1', winners: ['ann'] });
      await p.flush();
    } finally {
      await p.close();
    }
    const read = (text: string, params: unknown[] = []) => sql(db.url, text, params);
    await waitFor('live state at turn 5', async () => (await read(`SELECT turn FROM session_states WHERE session_id = 'roles-1'`))[0]?.turn === 5, 30_000);
    expect((await read(`SELECT state FROM session_states WHERE session_id = 'roles-1'`))[0]!.state).toEqual({ turn: 5, hp: 10 });
    // Snapshot jobs (pg-boss, run by this worker) hash what the fold captured, the final one included.
    await waitFor('hashed final snapshot', async () => (await read(`SELECT 1 FROM session_snapshots WHERE session_id = 'roles-1' AND final AND hash IS NOT NULL`)).length === 1, 30_000);
    expect((await read(`SELECT count(*)::int AS n FROM session_snapshots WHERE session_id = 'roles-1' AND hash IS NULL`))[0]!.n).toBe(0);
    // Aggregates folded, and the ratings job (pg-boss) rated the finished session.
    await waitFor('rated', async () => (await read(`SELECT rated_games FROM player_stats WHERE player_id = 'ann' AND scope = 'all'`))[0]?.rated_games === 1, 30_000);
    expect((await read(`SELECT wins, xp::int AS xp FROM player_stats WHERE player_id = 'ann' AND scope = 'all'`))[0]).toEqual({ wins: 1, xp: 20 });
    expect(worker.jobs!.stats.snapshotJobs).toBeGreaterThan(0);
    // Every session this worker opened (ORM pool, pg-boss) is the worker role's.
    const users = await read(`SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()`, [db.name]);
    expect(users.map((u) => u.usename)).toEqual([roles.worker]);
  }, 90_000);

  it('cannot run DDL: 42501 permission denied', async () => {
    const url = as('worker');
    for (const ddl of [
      'CREATE TABLE gp_evil (id int)',
      'CREATE TABLE pgboss.gp_evil (id int)',
      'CREATE SCHEMA gp_evil',
      'DROP TABLE moves',
      'ALTER TABLE moves ADD COLUMN evil int',
      'CREATE INDEX gp_evil_idx ON moves (session_id)',
      'TRUNCATE moves',
      'DROP TABLE pgboss.job',
      'ALTER TABLE pgboss.queue ADD COLUMN evil int',
      'CREATE FUNCTION gp_evil() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$',
    ])
      expect([ddl, await sqlState(url, ddl)]).toEqual([ddl, '42501']);
  });
});

describe('the reader role', () => {
  it('reads everything and writes nothing: 42501', async () => {
    const url = as('reader');
    expect((await sql(url, `SELECT count(*)::int AS n FROM moves`))[0]!.n).toBeGreaterThanOrEqual(0);
    expect((await sql(url, `SELECT count(*)::int AS n FROM sessions WHERE id = 'roles-1'`))[0]!.n).toBe(1);
    expect((await sql(url, `SELECT count(*)::int AS n FROM pgboss.queue`))[0]!.n).toBeGreaterThan(0);
    for (const dml of [
      `INSERT INTO players (id) VALUES ('gp-evil')`,
      `UPDATE sessions SET status = 'abandoned' WHERE id = 'roles-1'`,
      `DELETE FROM moves`,
      `DELETE FROM pgboss.job`,
      'CREATE TABLE gp_evil (id int)',
      'CREATE TEMP TABLE gp_evil (id int)',
    ])
      expect([dml, await sqlState(url, dml)]).toEqual([dml, '42501']);
  });
});

describe('the worker role and the append-only tables', () => {
  it('inserts into the erasure audit and reads the migrations, but updates and deletes neither: 42501', async () => {
    const url = as('worker');
    for (const dml of [
      `UPDATE erasures SET pseudonym = 'erased-other'`,
      `DELETE FROM erasures`,
      'TRUNCATE erasures',
      `UPDATE gp_migrations SET name = name`,
      `DELETE FROM gp_migrations`,
      `INSERT INTO gp_migrations (name, executed_at) VALUES ('evil', now())`,
      `DELETE FROM erasure_requests`,
    ])
      expect([dml, await sqlState(url, dml)]).toEqual([dml, '42501']);
    expect(await sqlState(url, `INSERT INTO erasures (id_hmac, pseudonym, requested_by, counts, queue, changed) VALUES ('h', 'erased-roles', 'test', '{}', '{}', true)`)).toBeNull();
    expect(await sqlState(url, 'SELECT count(*) FROM gp_migrations')).toBeNull();
  });

  it('runs erase-player (with GP_ERASURE_KEY) under those rights', async () => {
    await sql(db.url, `INSERT INTO players (id, name, first_seen_at, last_seen_at) VALUES ('roles-erase', 'Eve', now(), now())`);
    const r = await runCli(['erase-player', 'roles-erase', '--json'], testEnv(as('worker'), prefix, { GP_ERASURE_KEY: ERASURE_KEY }));
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ changed: true, counts: { 'players.id': 1, 'players.name': 1 } });
    expect(await sql(db.url, `SELECT 1 FROM players WHERE id = 'roles-erase'`)).toEqual([]);
  }, 60_000);
});

describe('the API role', () => {
  it('reads, and writes only what the API writes: no key minted, no audit read, no event or pg-boss table touched (42501)', async () => {
    const url = as('api');
    expect(await sqlState(url, 'SELECT id, secret_hash FROM api_keys')).toBeNull();
    expect(await sqlState(url, `SELECT count(*) FROM moves`)).toBeNull();
    expect(await sqlState(url, `INSERT INTO erasure_requests (player_id, requested_by) VALUES ('x-roles', 'test')`)).toBeNull();
    for (const stmt of [
      `INSERT INTO api_keys (id, name, secret_hash, scopes) VALUES ('0123456789abcdef', 'evil', 'x', '{admin}')`,
      `UPDATE api_keys SET scopes = '{admin}'`,
      `UPDATE api_keys SET revoked_at = NULL`,
      `DELETE FROM api_keys`,
      `SELECT * FROM erasures`,
      `INSERT INTO erasures (id_hmac, pseudonym, requested_by, counts, queue, changed) VALUES ('h', 'p', 'x', '{}', '{}', true)`,
      `UPDATE erasure_requests SET player_id = 'other'`,
      `DELETE FROM erasure_requests`,
      `DELETE FROM moves`,
      `UPDATE sessions SET status = 'abandoned'`,
      `INSERT INTO players (id) VALUES ('gp-evil')`,
      `UPDATE join_queue_entries SET player_id = 'gp-evil'`,
      `DELETE FROM join_queue_entries`,
      `UPDATE gp_migrations SET name = name`,
      `SELECT count(*) FROM pgboss.job`,
      'CREATE TABLE gp_evil (id int)',
    ])
      expect([stmt, await sqlState(url, stmt)]).toEqual([stmt, '42501']);
  });

  it('serves the API as the API role, reading as the reader: keys checked, ingest, reads, queue notify, a game type, an erasure run by the worker, an export', async () => {
    const env = testEnv(as('api'), prefix, { GP_API_PORT: '0', DATABASE_READ_URL: as('reader') });
    // Keys are created by an operator as the worker role; the API role could not.
    const workerEnv = testEnv(as('worker'), prefix);
    const created = await runCli(['keys', 'create', 'roles-bot', '--scope', 'read', '--scope', 'ingest', '--json'], workerEnv);
    expect(created.code, created.stderr).toBe(0);
    const key = JSON.parse(created.stdout).key as string;
    const admin = JSON.parse((await runCli(['keys', 'create', 'roles-admin', '--scope', 'admin', '--json'], workerEnv)).stdout).key as string;
    expect((await runCli(['keys', 'create', 'roles-evil', '--scope', 'admin', '--json'], env)).code).not.toBe(0);
    const worker = await inProcessWorker(loadConfig(testEnv(as('worker'), prefix, { GP_ERASURE_KEY: ERASURE_KEY, GP_STATS_FOLD_MS: '50' })));
    const server = spawnCli(['serve'], env);
    try {
      const base = (await server.waitForLog('api listening')).address as string;
      const auth = (k: string) => ({ authorization: `Bearer ${k}`, 'content-type': 'application/json' });
      expect((await fetch(`${base}/v1/sessions/roles-api/recover`, { headers: auth('gpk_0123456789abcdef_' + 'x'.repeat(43)) })).status).toBe(401);
      const events = [
        { type: 'session.created', sessionId: 'roles-api', data: { gameType: 'hokm', tenant: 'roles-t' } },
        { type: 'player.joined', sessionId: 'roles-api', player: 'cyd', data: {} },
        { type: 'turn.result', sessionId: 'roles-api', data: { turn: 1, state: { hp: 7 } } },
        { type: 'queue.entered', player: 'dee', data: { tenant: 'roles-t' } },
      ];
      const ingest = await fetch(`${base}/v1/events`, { method: 'POST', headers: auth(key), body: JSON.stringify(events) });
      expect(ingest.status).toBe(200);
      expect(((await ingest.json()) as { accepted: number }).accepted).toBe(4);
      const read = (text: string, params: unknown[] = []) => sql(db.url, text, params);
      await waitFor('queue entry stored', async () => (await read(`SELECT 1 FROM join_queue_entries WHERE tenant = 'roles-t'`)).length === 1, 30_000);
      const notify = await fetch(`${base}/v1/tenants/roles-t/queue/notify`, { method: 'POST', headers: auth(key), body: JSON.stringify({ count: 1 }) });
      expect(notify.status).toBe(200);
      expect(((await notify.json()) as { notified: { playerId: string }[] }).notified.map((n) => n.playerId)).toEqual(['dee']);
      const type = await fetch(`${base}/v1/contract/types/x.roles.t`, { method: 'PUT', headers: auth(admin), body: JSON.stringify({ schema: { type: 'object' } }) });
      expect(type.status).toBe(200);
      await waitFor('cyd stored', async () => (await read(`SELECT 1 FROM session_participants WHERE player_id = 'cyd'`)).length === 1, 30_000);
      await waitFor('state folded', async () => (await read(`SELECT 1 FROM session_states WHERE session_id = 'roles-api'`)).length === 1, 30_000);
      const rec = await fetch(`${base}/v1/sessions/roles-api/recover`, { headers: auth(key) });
      expect(rec.status).toBe(200);
      expect(((await rec.json()) as { state: unknown }).state).toMatchObject({ value: { hp: 7 }, turn: 1 });
      const exported = await fetch(`${base}/v1/players/cyd/export`, { headers: { authorization: `Bearer ${admin}` } });
      expect(exported.status).toBe(200);
      const lines = (await exported.text()).trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.at(-1)).toMatchObject({ end: true });
      expect(lines.some((l) => l.table === 'session_participants' && l.row.session_id === 'roles-api')).toBe(true);
      const erased = await fetch(`${base}/v1/players/cyd/erase`, { method: 'POST', headers: { authorization: `Bearer ${admin}` } });
      expect(erased.status).toBe(200);
      expect(await erased.json()).toMatchObject({ changed: true, pseudonym: expect.stringMatching(/^erased-/) });
      expect(await read(`SELECT 1 FROM session_participants WHERE player_id = 'cyd'`)).toEqual([]);
      const users = (await read(`SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend' AND application_name <> 'game-persist:worker' AND pid <> pg_backend_pid()`, [db.name])).map((u) => u.usename);
      expect(users).toContain(roles.api);
      expect(users).toContain(roles.reader);
      expect(users).not.toContain('postgres');
    } finally {
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      await worker.close();
    }
  }, 90_000);
});

describe('the Grafana role', () => {
  it('runs every dashboard query, and reads no table: chat, prompts, the audit, players are refused (42501)', async () => {
    const url = as('grafana');
    await sql(db.url, `INSERT INTO player_stats (player_id, scope, xp, games, wins) VALUES ('graf-top', 'all', 1000000000, 1, 1) ON CONFLICT DO NOTHING`);
    const queries = DASHBOARDS.flatMap((d) => d.panels.filter((p) => p.sql).map((p) => p.sql!));
    expect(queries.length).toBeGreaterThan(0);
    for (const q of queries) expect([q, await sqlState(url, q)]).toEqual([q, null]);
    expect((await sql(url, queries[0]!))[0]).toMatchObject({ player: 'graf-top', XP: '1000000000' });
    for (const stmt of [
      'SELECT * FROM chat_messages',
      'SELECT prompt FROM agent_logs',
      'SELECT * FROM erasures',
      'SELECT * FROM players',
      'SELECT * FROM player_stats',
      'SELECT * FROM documents',
      'SELECT * FROM api_keys',
      'SELECT * FROM pgboss.job',
      'CREATE TEMP TABLE gp_evil (id int)',
    ])
      expect([stmt, await sqlState(url, stmt)]).toEqual([stmt, '42501']);
  });
});

describe('the reader role and the audit', () => {
  it('reads neither the erasure audit, its requests nor the API keys (42501)', async () => {
    for (const stmt of ['SELECT * FROM erasures', 'SELECT * FROM erasure_requests', 'SELECT * FROM api_keys'])
      expect([stmt, await sqlState(as('reader'), stmt)]).toEqual([stmt, '42501']);
  });
});

describe('on the PostgreSQL queue backend', () => {
  it('`migrate` as the owner creates the queue schema; a worker and a producer as the worker role carry events through it', async () => {
    const pq = uniqueName('pq');
    // With the roles' names (GP_*_ROLE): `migrate` grants the API role its rights on the new queue schema.
    const m = await runCli(['migrate', '--json'], testEnv(as('owner'), pq, { GP_QUEUE_BACKEND: 'postgres', ...roleEnv }));
    expect(m.code, m.stderr).toBe(0);
    const schema = JSON.parse(m.stdout).queueSchema.schema as string;
    expect((await sql(db.url, 'SELECT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = $1', [schema]))[0]!.owner).toBe(roles.owner);
    const w = await inProcessWorker(loadConfig(testEnv(as('worker'), pq, { GP_QUEUE_BACKEND: 'postgres' })));
    const p = createProducer({ connection: as('worker'), prefix: pq });
    // The API role adds jobs and draws sequence numbers there too (serve on this backend).
    const api = createProducer({ connection: as('api'), prefix: pq });
    try {
      for (let turn = 1; turn <= 3; turn++) await p.move({ sessionId: 'roles-pq', player: 'ann', action: 'step', turn });
      for (let turn = 4; turn <= 5; turn++) await api.move({ sessionId: 'roles-pq', player: 'ann', action: 'step', turn });
      await p.flush();
      await api.flush();
      await waitFor('5 moves', async () => (await sql(db.url, `SELECT count(*)::int AS n FROM moves WHERE session_id = 'roles-pq'`))[0]!.n === 5, 30_000);
      expect((await sql(db.url, `SELECT array_agg(seq ORDER BY seq)::int[] AS s FROM moves WHERE session_id = 'roles-pq'`))[0]!.s).toEqual([1, 2, 3, 4, 5]);
    } finally {
      await p.close();
      await api.close();
      await w.close();
    }
    expect(await sqlState(as('worker'), `CREATE TABLE ${pg.escapeIdentifier(schema)}.gp_evil (id int)`)).toBe('42501');
    expect(await sqlState(as('worker'), `CREATE SEQUENCE ${pg.escapeIdentifier(schema)}.gp_evil`)).toBe('42501');
    expect(await sqlState(as('api'), `CREATE TABLE ${pg.escapeIdentifier(schema)}.gp_evil (id int)`)).toBe('42501');
  }, 90_000);
});

describe('objects created later', () => {
  it('by the owner (a later migration) are granted through default privileges', async () => {
    await sql(as('owner'), 'CREATE TABLE gp_later (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text)');
    expect(await sql(as('worker'), `INSERT INTO gp_later (v) VALUES ('w') RETURNING id`)).toEqual([{ id: 1 }]);
    expect(await sql(as('reader'), 'SELECT v FROM gp_later')).toEqual([{ v: 'w' }]);
    expect(await sql(as('api'), 'SELECT v FROM gp_later')).toEqual([{ v: 'w' }]);
    expect(await sqlState(as('api'), `INSERT INTO gp_later (v) VALUES ('a')`)).toBe('42501');
    expect(await sqlState(as('grafana'), 'SELECT v FROM gp_later')).toBe('42501');
    expect(await sqlState(as('reader'), `INSERT INTO gp_later (v) VALUES ('r')`)).toBe('42501');
    expect(await sqlState(as('worker'), 'DROP TABLE gp_later')).toBe('42501');
  });

  it('by the superuser are taken over by running --create-roles --apply again', async () => {
    await sql(db.url, 'CREATE TABLE gp_by_superuser (id serial PRIMARY KEY, v text)');
    expect(await sqlState(as('worker'), `INSERT INTO gp_by_superuser (v) VALUES ('w')`)).toBe('42501');
    const r = await runCli(['migrate', '--create-roles', '--apply'], testEnv(db.url, prefix, roleEnv));
    expect(r.code, r.stderr).toBe(0);
    expect(await sql(as('worker'), `INSERT INTO gp_by_superuser (v) VALUES ('w') RETURNING id`)).toEqual([{ id: 1 }]);
    const [t] = await sql(db.url, `SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relname = 'gp_by_superuser_id_seq'`);
    expect(t!.owner).toBe(roles.owner);
  });
});

describe('a worker on a database `migrate` did not prepare for pg-boss', () => {
  it('refuses to start with a PreconditionError naming `migrate`, instead of migrating pg-boss itself', async () => {
    const clone = await cloneDatabase();
    try {
      await sql(clone.url, `DELETE FROM pgboss.queue WHERE name = 'gp-periods'`);
      const failed = await inProcessWorker(loadConfig(testEnv(clone.url, uniqueName('q')))).then(
        async (w) => (await w.close(), null),
        (e: unknown) => e,
      );
      expect(failed).toBeInstanceOf(PreconditionError);
      expect(failed).toMatchObject({ code: 'jobs_not_migrated', message: expect.stringMatching(/gp-periods.*game-persist migrate/) });
    } finally {
      await clone.drop();
    }
  });
});
