/**
 * Zero-service mode: which services a command runs on when the user configured none. With DATABASE_URL
 * unset and nothing answering on 127.0.0.1:5432, an embedded PostgreSQL is started (./postgres.ts);
 * with REDIS_URL and GP_QUEUE_BACKEND unset and nothing answering on 127.0.0.1:6379, the queues go on
 * BullMQ's PostgreSQL backend. `--embedded` asks for both whatever answers. The result is environment
 * overrides: the command then loads its configuration as usual, and child processes inherit them.
 */
import { connect } from 'node:net';
import { ConfigError } from '../errors.ts';
import type { EmbeddedPostgres } from './postgres.ts';

type Env = Record<string, string | undefined>;

export interface ServiceChoice {
  /** Environment to load the configuration from (and to give child processes). */
  env: Record<string, string>;
  /** What was chosen and why, one line each, for the user. */
  notes: string[];
  embedded: EmbeddedPostgres | null;
  /** Stops the embedded PostgreSQL if this process started it. */
  stop(): Promise<void>;
}

/** Where the embedded cluster lives and listens unless GP_EMBEDDED_DIR / GP_EMBEDDED_PORT say otherwise. */
export const EMBEDDED_DEFAULTS = { dir: '.game-persist', port: 54329 } as const;

/** Whether something accepts TCP connections on a loopback port (a refused or silent port: no). */
export function portAnswers(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

function embeddedSettings(env: Env, dataDir: string | undefined): { dir: string; port: number } {
  const port = env.GP_EMBEDDED_PORT === undefined || env.GP_EMBEDDED_PORT === '' ? EMBEDDED_DEFAULTS.port : Number(env.GP_EMBEDDED_PORT);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new ConfigError('GP_EMBEDDED_PORT', `must be a port number (1-65535), got "${env.GP_EMBEDDED_PORT}"`);
  return { dir: dataDir ?? (env.GP_EMBEDDED_DIR || EMBEDDED_DEFAULTS.dir), port };
}

/**
 * Decides the services. `auto` (the demo): embedded only for what is neither configured nor running
 * locally. `embedded` (`--embedded`): an embedded PostgreSQL and PostgreSQL queues, always.
 */
export async function chooseServices(env: Env, mode: 'auto' | 'embedded', opts: { dataDir?: string; onLog?: (line: string) => void } = {}): Promise<ServiceChoice> {
  const set = (k: string) => env[k] !== undefined && env[k] !== '';
  const notes: string[] = [];
  const out: Record<string, string> = {};
  let needPostgres = false;
  let pgQueues = false;
  if (mode === 'embedded') {
    if (set('DATABASE_URL')) throw new ConfigError('DATABASE_URL', 'is set, but --embedded starts its own PostgreSQL: unset DATABASE_URL, or drop --embedded to use that database');
    needPostgres = true;
    pgQueues = true;
  } else {
    const [pgUp, redisUp] = await Promise.all([set('DATABASE_URL') ? true : portAnswers(5432), set('REDIS_URL') || set('GP_QUEUE_BACKEND') ? true : portAnswers(6379)]);
    needPostgres = !set('DATABASE_URL') && !pgUp;
    pgQueues = !set('REDIS_URL') && !set('GP_QUEUE_BACKEND') && !redisUp;
    if (needPostgres) notes.push('DATABASE_URL is not set and nothing answers on 127.0.0.1:5432: starting an embedded PostgreSQL');
    if (pgQueues) notes.push('REDIS_URL is not set and nothing answers on 127.0.0.1:6379: queues on BullMQ\'s PostgreSQL backend (GP_QUEUE_BACKEND=postgres)');
  }
  let embedded: EmbeddedPostgres | null = null;
  if (needPostgres) {
    const s = embeddedSettings(env, opts.dataDir);
    // Loaded only now: the embedded server (and its optional npm package) is for zero-service mode alone.
    const { startEmbeddedPostgres } = await import('./postgres.ts');
    embedded = await startEmbeddedPostgres({ dir: s.dir, port: s.port, database: 'game_persist', onLog: opts.onLog });
    out.DATABASE_URL = embedded.url;
    notes.push(`embedded PostgreSQL ${embedded.started ? 'started' : 'already running'} on 127.0.0.1:${embedded.port}, data in ${embedded.dataDir}`);
  }
  if (pgQueues) out.GP_QUEUE_BACKEND = 'postgres';
  const merged: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) merged[k] = v;
  return { env: { ...merged, ...out }, notes, embedded, stop: async () => embedded?.stop() };
}
