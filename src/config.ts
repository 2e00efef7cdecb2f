/**
 * The only module that reads `process.env`. Values are parsed and checked once; errors name the
 * variable. Everything else receives the frozen Config object.
 */
import { DEFAULT_LIMITS, DEFAULT_MAX_STATE_BYTES, DEFAULT_QUEUE_NAME, DEFAULT_QUEUE_PREFIX, MAX_JOB_EVENT_BYTES, largestEventBytes, type Limits } from './contract/limits.ts';
import { CUSTOM_TYPE_MODES, type CustomTypeMode } from './contract/custom-types.ts';
import { isIP } from 'node:net';
import { ConfigError } from './errors.ts';
import { sslModeOf } from './db/tls.ts';
import { RETENTION_CLASSES, RETENTION_ENV, type RetentionClass } from './db/retention.ts';
import { QUEUE_BACKENDS, type QueueBackend } from './queue/backend-names.ts';

export interface Config {
  /** PostgreSQL URL. @defaultValue postgres://postgres@127.0.0.1:5432/game_persist */
  databaseUrl: string;
  /** Redis URL; not used (nothing connects to Redis) when `queueBackend` is `postgres`. @defaultValue redis://127.0.0.1:6379 */
  redisUrl: string;
  /**
   * GP_QUEUE_BACKEND: where the BullMQ queue and the per-session sequence counters live. `redis`, or
   * `postgres`: BullMQ's PostgreSQL backend in DATABASE_URL's database, in a schema named after
   * GP_QUEUE_PREFIX (src/queue/backend.ts), with no Redis at all (the HTTP API then keeps its
   * idempotency records and tenant claims in PostgreSQL and its rate limits per process).
   * @defaultValue redis
   */
  queueBackend: QueueBackend;
  /** BullMQ key prefix; may carry a Cluster hash tag such as `{gp}`. @defaultValue gp */
  queuePrefix: string;
  /** @defaultValue events */
  queueName: string;
  /** BullMQ jobs a worker holds at once; their events share write batches. @defaultValue 128 */
  concurrency: number;
  /** Events per write transaction at most. @defaultValue 5000 */
  batchRows: number;
  /** Event bytes per write transaction at most (bounds memory with large events). @defaultValue 8388608 */
  batchBytes: number;
  /**
   * Heap (old generation) of the worker thread, in MB. The CLI worker runs the ingest loop in a
   * thread with this limit so its memory stays bounded; 0 runs it on the main thread, unbounded.
   * @defaultValue 192
   */
  workerHeapMb: number;
  /** Longest wait for a batch to fill before it is written. @defaultValue 10 */
  batchMs: number;
  /** Job lock; a crashed worker's jobs are redelivered after about this long. @defaultValue 30000 */
  lockMs: number;
  /** PostgreSQL connections per worker process. @defaultValue 4 */
  dbPoolMax: number;
  /**
   * GP_DB_IDLE_IN_TX_TIMEOUT_MS: PostgreSQL ends a worker's transaction left idle this long (a frozen or
   * stalled worker) and releases its row locks, before the worker's jobs are redelivered after
   * GP_LOCK_MS: the replica taking them over never waits on the frozen one. Below GP_LOCK_MS; 0 = never.
   * @defaultValue GP_LOCK_MS / 3 (10000)
   */
  dbIdleInTransactionTimeoutMs: number;
  /**
   * GP_DB_LOCK_TIMEOUT_MS: a worker's statement waiting this long for another transaction's locks gives up
   * (55P03) and its batch is retried with backoff. 0 = wait forever. @defaultValue GP_LOCK_MS / 6 (5000)
   */
  dbLockTimeoutMs: number;
  /**
   * GP_DB_STATEMENT_TIMEOUT_MS: a worker's statement running this long is cancelled (57014) and its batch
   * retried; only the worker's pool has it, never `migrate`. Not scaled down with a short GP_LOCK_MS: the
   * job lock is renewed while a statement runs, and a retried statement is no faster. 0 = none.
   * @defaultValue 2 × GP_LOCK_MS, at least 60000
   */
  dbStatementTimeoutMs: number;
  /** Start even if Redis may evict keys (loses jobs). @defaultValue false */
  allowEviction: boolean;
  /** Transient write failures retried in-process before the jobs are handed back to BullMQ. @defaultValue 8 */
  writeRetries: number;
  /** Run pg-boss jobs (snapshots) in the worker. @defaultValue true */
  jobs: boolean;
  /** Fold turn results into live session states while ingesting. @defaultValue true */
  liveState: boolean;
  /**
   * A sequence gap open longer than this (seconds) is taken as lost (e.g. a game server killed after
   * drawing sequence numbers, before enqueueing) and the live state folds past it; 0 = wait forever.
   * @defaultValue 60
   */
  gapTimeoutS: number;
  /**
   * GP_MAX_JOB_BYTES: a job whose data (its JSON text) is larger is dead-lettered whole as
   * `job_too_large` before it is parsed (src/queue/job-size.ts), so one huge job cannot exhaust a
   * worker's heap. At least what the SDK can send: MAX_JOB_EVENT_BYTES plus one largest event.
   * @defaultValue 16777216 (16 MiB)
   */
  maxJobBytes: number;
  /**
   * GP_MAX_STATE_BYTES: largest live session state (its JSON text, UTF-8). A turn result whose fold
   * would make it larger is refused (not folded; stored, and recorded as `state_too_large`).
   * @defaultValue 1048576 (1 MiB)
   */
  maxStateBytes: number;
  /** Most bytes one owner's documents (a session's, or a player's in a session) may hold; a write past it is recorded as over_limit. */
  maxOwnerDocumentBytes: number;
  /** Game-defined event types not registered: accepted free-form (`open`) or refused (`registered`). */
  customTypes: CustomTypeMode;
  /** How often API servers and workers re-read the registered game types (seconds). */
  contractRefreshS: number;
  /** Snapshot every N turns of a session (and at its first state); 0 = never. @defaultValue 10 */
  snapshotEveryTurns: number;
  /** Snapshot an active session whose state changed at least this often (seconds); 0 = never. @defaultValue 60 */
  snapshotIntervalS: number;
  /** Snapshots kept per session besides the first and the final. @defaultValue 5 */
  snapshotKeep: number;
  /** An unfinished session without events for this long (seconds) becomes abandoned; 0 = never. @defaultValue 3600 */
  abandonAfterS: number;
  /**
   * GP_IDLE_TIMEOUTS: idle timeout per game type, overriding abandonAfterS (`world=0,4x=86400`; 0 =
   * never). A session's own settings.idleTimeoutS overrides both.
   */
  idleTimeouts: Readonly<Record<string, number>>;
  /**
   * Days each data class is kept (src/db/retention.ts; README, "Retention"): GP_RETAIN_CHAT_DAYS,
   * GP_RETAIN_MOVES_DAYS, GP_RETAIN_AGENT_LOGS_DAYS, GP_RETAIN_EVENTS_DAYS (a finished session's other
   * events), GP_RETAIN_DEAD_LETTERS_DAYS. 0 = kept forever. @defaultValue 0 each
   */
  retentionDays: Readonly<Record<RetentionClass, number>>;
  /** DATABASE_READ_URL: analytics and recovery reads go to this replica when set. */
  databaseReadUrl: string | null;
  /** GP_AGGREGATES: keep player stats, leaderboards and ratings in the ingest transaction. */
  aggregates: boolean;
  /** GP_STATS_TZ: IANA time zone whose midnights bound the daily, weekly (Monday) and monthly periods. */
  statsTimeZone: string;
  /** GP_WIN_RATE_MIN_GAMES: games a player needs before appearing on the win-rate board. */
  winRateMinGames: number;
  /** GP_METRICS_PORT: port of /metrics, /healthz, /readyz (0: no HTTP server). */
  metricsPort: number;
  /**
   * GP_METRICS_HOST: address the worker's HTTP endpoints listen on. Loopback by default, so a worker on a
   * shared host exposes nothing; a container or pod whose scraper comes from outside sets 0.0.0.0.
   * @defaultValue 127.0.0.1
   */
  metricsHost: string;
  /** GP_METRICS_TOKEN: bearer token /metrics and /readyz require (worker and API); null = open. Environment only. */
  metricsToken: string | null;
  /** GP_METRICS_CACHE_MS: a worker's /metrics collection (database counts) answers scrapes this long. @defaultValue 5000 */
  metricsCacheMs: number;
  /**
   * GP_SHUTDOWN_TIMEOUT_MS: the `worker` command's hard deadline for draining after SIGTERM. Past it,
   * the process logs the step it was in and exits 1 anyway: what it did not acknowledge is redelivered
   * after GP_LOCK_MS and deduplicated. Keep it below the orchestrator's grace period (compose 30 s,
   * Kubernetes 45 s here). @defaultValue 25000
   */
  shutdownTimeoutMs: number;
  /** GP_BOARD_USER / GP_BOARD_PASSWORD: basic-auth credentials of `game-persist board` (no password: it refuses to start). */
  boardUser: string;
  boardPassword: string | null;
  /** GP_BOARD_PORT / GP_BOARD_HOST: where `game-persist board` listens (default loopback only). */
  boardPort: number;
  boardHost: string;
  /** GP_API_PORT / GP_API_HOST: where `game-persist serve` listens (default loopback only). */
  apiPort: number;
  apiHost: string;
  /**
   * GP_API_BODY_LIMIT: largest body of POST /v1/events in bytes (a batch of events); the other routes
   * take at most 1 MiB of it. @defaultValue 8 MiB, or twice the largest event if that is more
   */
  apiBodyLimit: number;
  /** GP_API_RATE_LIMIT: requests per minute per API key (a key's own limit overrides it); 0 = none. */
  apiRateLimit: number;
  /**
   * GP_API_AUTH_FAILURE_LIMIT / GP_API_AUTH_FAILURE_WINDOW_S: failed authentications (401) one client
   * address may have in a window; past the limit its requests get 429 without a key lookup until the
   * window ends. 0 = no limit. @defaultValue 20, 60
   */
  apiAuthFailureLimit: number;
  apiAuthFailureWindowS: number;
  /**
   * GP_API_TRUST_PROXY: the reverse proxies (addresses or CIDR ranges, comma-separated; `loopback`,
   * `linklocal`, `uniquelocal`) whose `X-Forwarded-For` names the client. null = none: the client is
   * the connection's peer address. @defaultValue null
   */
  apiTrustProxy: readonly string[] | null;
  /** GP_API_TLS_CERT / GP_API_TLS_KEY: PEM files; both set = HTTPS. */
  apiTlsCert: string | null;
  apiTlsKey: string | null;
  /** GP_API_CORS_ORIGIN: an origin allowed to call the API from a browser; null = CORS off. */
  apiCorsOrigin: string | null;
  /**
   * GP_API_READY_WAIT_MS: how long a POST /v1/events that comes while `serve` is still starting (its
   * queue's store not reachable yet) waits for it before answering 503 `unavailable`. Below the
   * clients' request timeout (the Python client's is 10 s). @defaultValue 5000
   */
  apiReadyWaitMs: number;
  /** GP_STATS_FOLD_MS: how often a worker folds pending stat deltas into player_stats (the boards' lag). */
  statsFoldMs: number;
  /** GP_RATING_DELAY_S: a finished session is rated this long after it ended (late outcomes land first). */
  ratingDelayS: number;
  /**
   * GP_<KIND>_ROLE and GP_<KIND>_PASSWORD for KIND = OWNER, WORKER, READER, API, GRAFANA: the
   * least-privilege PostgreSQL roles `migrate --create-roles` prints or applies (src/db/roles.ts). A
   * password absent is null: `--apply` then leaves that role's password as it is. Environment only
   * (never a flag: it would show in `ps`). @defaultValue gp_owner, gp_worker, gp_reader, gp_api, gp_grafana
   */
  dbRoles: Readonly<Record<DbRoleKind, Readonly<{ name: string; password: string | null }>>>;
  /**
   * GP_ERASURE_KEY: the secret of the erasure audit's HMAC-SHA256 of a player id (src/ops/erase-player.ts):
   * who holds it can tell whether an id was erased and reuse its pseudonym; who reads the database
   * cannot link a candidate id to its audit row. null: erasure refuses (`erasure_key_missing`).
   * 32-512 printable ASCII characters without spaces; environment only, never logged.
   */
  erasureKey: string | null;
  limits: Limits;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
}

type Env = Record<string, string | undefined>;

/** The PostgreSQL roles of a least-privilege deployment (src/db/roles.ts). */
export const DB_ROLE_KINDS = ['owner', 'worker', 'reader', 'api', 'grafana'] as const;
export type DbRoleKind = (typeof DB_ROLE_KINDS)[number];

/** A role name we can print unquoted-safe and compare as stored: lower case, PostgreSQL's 63-byte limit, not pg_*. */
export const ROLE_NAME = /^(?!pg_)[a-z_][a-z0-9_]{0,62}$/;
const roleName = (v: string) => (ROLE_NAME.test(v) ? null : 'must be 1-63 of [a-z0-9_], starting with a letter or _, not pg_');
/** Printable ASCII without spaces: identical under SCRAM's SASLprep, so every client derives the same key. */
const rolePassword = (v: string) => (/^[\x21-\x7e]{12,256}$/.test(v) ? null : 'must be 12-256 printable ASCII characters without spaces');

function dbRoles(env: Env): Config['dbRoles'] {
  const role = (kind: DbRoleKind) => {
    const up = kind.toUpperCase();
    const password = env[`GP_${up}_PASSWORD`] ? str(env, `GP_${up}_PASSWORD`, '', rolePassword) : null;
    return Object.freeze({ name: str(env, `GP_${up}_ROLE`, `gp_${kind}`, roleName), password });
  };
  const roles = Object.fromEntries(DB_ROLE_KINDS.map((k) => [k, role(k)])) as Record<DbRoleKind, { name: string; password: string | null }>;
  if (new Set(DB_ROLE_KINDS.map((k) => roles[k].name)).size !== DB_ROLE_KINDS.length)
    throw new ConfigError('GP_OWNER_ROLE', `${DB_ROLE_KINDS.map((k) => `GP_${k.toUpperCase()}_ROLE`).join(', ')} must differ, got ${DB_ROLE_KINDS.map((k) => roles[k].name).join(', ')}`);
  return Object.freeze(roles);
}

function str(env: Env, name: string, def: string, check?: (v: string) => string | null): string {
  const raw = env[name];
  const v = raw === undefined || raw === '' ? def : raw;
  const reason = check?.(v);
  if (reason) throw new ConfigError(name, reason);
  return v;
}

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!/^\s*-?\d+\s*$/.test(raw) || !Number.isSafeInteger(n)) throw new ConfigError(name, `must be an integer, got "${raw}"`);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function oneOf<T extends string>(env: Env, name: string, values: readonly T[], def: T): T {
  return str(env, name, def, (v) => ((values as readonly string[]).includes(v) ? null : `must be one of ${values.join(', ')}, got "${v.slice(0, 40)}"`)) as T;
}

function bool(env: Env, name: string, def: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

const url = (protocols: string[]) => (v: string) => {
  try {
    const u = new URL(v);
    return protocols.includes(u.protocol) ? null : `must be a ${protocols.join(' or ')} URL`;
  } catch {
    return 'must be a URL';
  }
};

/** A PostgreSQL URL whose sslmode, if any, is one libpq knows (src/db/tls.ts throws naming the variable). */
const pgUrl = (name: string) => (v: string) => url(['postgres:', 'postgresql:'])(v) ?? (sslModeOf(v, name), null);

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;

export function loadConfig(env: Env = process.env): Readonly<Config> {
  const logLevel = str(env, 'GP_LOG_LEVEL', 'info', (v) =>
    (LOG_LEVELS as readonly string[]).includes(v) ? null : `must be one of ${LOG_LEVELS.join(', ')}`,
  ) as Config['logLevel'];
  const lockMs = int(env, 'GP_LOCK_MS', 30_000, 1000, 3_600_000);
  const idleInTx = int(env, 'GP_DB_IDLE_IN_TX_TIMEOUT_MS', Math.floor(lockMs / 3), 0, 86_400_000);
  if (idleInTx >= lockMs)
    throw new ConfigError('GP_DB_IDLE_IN_TX_TIMEOUT_MS', `must be below GP_LOCK_MS (${lockMs}) or 0, got ${idleInTx}: a frozen worker's transaction must end before its jobs are redelivered`);
  const limits: Limits = Object.freeze({
    maxEventBytes: int(env, 'GP_MAX_EVENT_BYTES', DEFAULT_LIMITS.maxEventBytes, 1024, 16 * 1024 * 1024),
    maxDepth: int(env, 'GP_MAX_DEPTH', DEFAULT_LIMITS.maxDepth, 2, 256),
    maxStringLength: int(env, 'GP_MAX_STRING_LENGTH', DEFAULT_LIMITS.maxStringLength, 16, 16 * 1024 * 1024),
    maxKeyLength: DEFAULT_LIMITS.maxKeyLength,
    maxDocumentBytes: int(env, 'GP_MAX_DOCUMENT_BYTES', DEFAULT_LIMITS.maxDocumentBytes, 16, 16 * 1024 * 1024),
    maxAgentTextBytes: int(env, 'GP_MAX_AGENT_TEXT_BYTES', DEFAULT_LIMITS.maxAgentTextBytes, 1024, 32 * 1024 * 1024),
  });
  // A job the SDK builds holds at most MAX_JOB_EVENT_BYTES of events plus the one that crossed it.
  const minJobBytes = MAX_JOB_EVENT_BYTES + largestEventBytes(limits);
  return Object.freeze({
    databaseUrl: str(env, 'DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/game_persist', pgUrl('DATABASE_URL')),
    redisUrl: str(env, 'REDIS_URL', 'redis://127.0.0.1:6379', url(['redis:', 'rediss:'])),
    queueBackend: oneOf(env, 'GP_QUEUE_BACKEND', QUEUE_BACKENDS, 'redis'),
    queuePrefix: str(env, 'GP_QUEUE_PREFIX', DEFAULT_QUEUE_PREFIX, (v) => (/^[\w{}.-]{1,64}$/.test(v) ? null : 'must be 1-64 of [A-Za-z0-9_{}.-]')),
    queueName: str(env, 'GP_QUEUE_NAME', DEFAULT_QUEUE_NAME, (v) => (/^[\w.-]{1,64}$/.test(v) ? null : 'must be 1-64 of [A-Za-z0-9_.-]')),
    concurrency: int(env, 'GP_WORKER_CONCURRENCY', 128, 1, 10_000),
    batchRows: int(env, 'GP_BATCH_ROWS', 5000, 1, 100_000),
    batchBytes: int(env, 'GP_BATCH_BYTES', 8 * 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024),
    workerHeapMb: int(env, 'GP_WORKER_HEAP_MB', 192, 0, 65_536),
    batchMs: int(env, 'GP_BATCH_MS', 10, 0, 60_000),
    lockMs,
    dbPoolMax: int(env, 'GP_DB_POOL_MAX', 4, 1, 200),
    dbIdleInTransactionTimeoutMs: idleInTx,
    dbLockTimeoutMs: int(env, 'GP_DB_LOCK_TIMEOUT_MS', Math.floor(lockMs / 6), 0, 86_400_000),
    dbStatementTimeoutMs: int(env, 'GP_DB_STATEMENT_TIMEOUT_MS', Math.max(60_000, 2 * lockMs), 0, 86_400_000),
    allowEviction: bool(env, 'GP_ALLOW_EVICTION', false),
    writeRetries: int(env, 'GP_WRITE_RETRIES', 8, 0, 1000),
    jobs: bool(env, 'GP_JOBS', true),
    liveState: bool(env, 'GP_LIVE_STATE', true),
    gapTimeoutS: int(env, 'GP_GAP_TIMEOUT_S', 60, 0, 30 * 86_400),
    maxOwnerDocumentBytes: int(env, 'GP_MAX_OWNER_DOCUMENT_BYTES', 16 * 1024 * 1024, 1024, 2 ** 31 - 1),
    customTypes: oneOf(env, 'GP_CUSTOM_TYPES', CUSTOM_TYPE_MODES, 'open'),
    contractRefreshS: int(env, 'GP_CONTRACT_REFRESH_S', 5, 1, 3600),
    snapshotEveryTurns: int(env, 'GP_SNAPSHOT_EVERY_TURNS', 10, 0, 1_000_000),
    snapshotIntervalS: int(env, 'GP_SNAPSHOT_INTERVAL_S', 60, 0, 86_400),
    snapshotKeep: int(env, 'GP_SNAPSHOT_KEEP', 5, 1, 10_000),
    abandonAfterS: int(env, 'GP_ABANDON_AFTER_S', 3600, 0, 365 * 86_400),
    retentionDays: Object.freeze(Object.fromEntries(RETENTION_CLASSES.map((c) => [c, int(env, RETENTION_ENV[c], 0, 0, 36_500)])) as Record<RetentionClass, number>),
    idleTimeouts: idleTimeouts(env, 'GP_IDLE_TIMEOUTS'),
    databaseReadUrl: env.DATABASE_READ_URL ? str(env, 'DATABASE_READ_URL', '', pgUrl('DATABASE_READ_URL')) : null,
    aggregates: bool(env, 'GP_AGGREGATES', true),
    statsTimeZone: str(env, 'GP_STATS_TZ', 'UTC', (v) => (isTimeZone(v) ? null : 'must be an IANA time zone such as UTC or Europe/Berlin')),
    winRateMinGames: int(env, 'GP_WIN_RATE_MIN_GAMES', 10, 1, 1_000_000),
    ratingDelayS: int(env, 'GP_RATING_DELAY_S', 10, 0, 86_400),
    statsFoldMs: int(env, 'GP_STATS_FOLD_MS', 500, 10, 60_000),
    metricsPort: int(env, 'GP_METRICS_PORT', 9464, 0, 65_535),
    boardUser: str(env, 'GP_BOARD_USER', 'admin', (v) => (/^[^:\s]{1,64}$/.test(v) ? null : 'must be 1-64 characters without ":" or spaces')),
    boardPassword: env.GP_BOARD_PASSWORD ? str(env, 'GP_BOARD_PASSWORD', '', (v) => (v.length >= 12 ? null : 'must be at least 12 characters')) : null,
    boardPort: int(env, 'GP_BOARD_PORT', 3010, 0, 65_535),
    boardHost: str(env, 'GP_BOARD_HOST', '127.0.0.1', (v) => (/^[\w.:-]{1,255}$/.test(v) ? null : 'must be a host name or IP address')),
    apiPort: int(env, 'GP_API_PORT', 8080, 0, 65_535),
    apiHost: str(env, 'GP_API_HOST', '127.0.0.1', (v) => (/^[\w.:-]{1,255}$/.test(v) ? null : 'must be a host name or IP address')),
    // Room for the largest event twice over (its JSON escapes are not in its measured size), at least 8 MiB.
    apiBodyLimit: int(env, 'GP_API_BODY_LIMIT', Math.max(8 * 1024 * 1024, 2 * largestEventBytes(limits)), 1024, 1024 * 1024 * 1024),
    apiRateLimit: int(env, 'GP_API_RATE_LIMIT', 6000, 0, 100_000_000),
    apiAuthFailureLimit: int(env, 'GP_API_AUTH_FAILURE_LIMIT', 20, 0, 1_000_000),
    apiAuthFailureWindowS: int(env, 'GP_API_AUTH_FAILURE_WINDOW_S', 60, 1, 86_400),
    apiTrustProxy: trustProxy(env, 'GP_API_TRUST_PROXY'),
    apiTlsCert: env.GP_API_TLS_CERT || null,
    apiTlsKey: env.GP_API_TLS_KEY || null,
    apiCorsOrigin: env.GP_API_CORS_ORIGIN ? str(env, 'GP_API_CORS_ORIGIN', '', url(['http:', 'https:'])) : null,
    apiReadyWaitMs: int(env, 'GP_API_READY_WAIT_MS', 5000, 0, 600_000),
    metricsHost: str(env, 'GP_METRICS_HOST', '127.0.0.1', (v) => (/^[\w.:-]{1,255}$/.test(v) ? null : 'must be a host name or IP address')),
    metricsToken: env.GP_METRICS_TOKEN ? str(env, 'GP_METRICS_TOKEN', '', (v) => (/^[\x21-\x7e]{16,256}$/.test(v) ? null : 'must be 16-256 printable characters without spaces')) : null,
    metricsCacheMs: int(env, 'GP_METRICS_CACHE_MS', 5000, 0, 3_600_000),
    shutdownTimeoutMs: int(env, 'GP_SHUTDOWN_TIMEOUT_MS', 25_000, 1000, 3_600_000),
    limits,
    maxJobBytes: int(env, 'GP_MAX_JOB_BYTES', Math.max(16 * 1024 * 1024, minJobBytes), minJobBytes, 1024 * 1024 * 1024),
    maxStateBytes: int(env, 'GP_MAX_STATE_BYTES', DEFAULT_MAX_STATE_BYTES, 1024, 256 * 1024 * 1024),
    dbRoles: dbRoles(env),
    erasureKey: env.GP_ERASURE_KEY ? str(env, 'GP_ERASURE_KEY', '', (v) => (/^[\x21-\x7e]{32,512}$/.test(v) ? null : 'must be 32-512 printable ASCII characters without spaces')) : null,
    logLevel,
  });
}

const PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * Trusted proxies: addresses, CIDR ranges or proxy-addr's range names. Never "all" (`true`, `*`): any
 * client could then name its own address in X-Forwarded-For and shed its failed-authentication count.
 */
function trustProxy(env: Env, name: string): readonly string[] | null {
  const raw = env[name]?.trim();
  if (!raw || /^(false|no|off|0)$/i.test(raw)) return null;
  const out: string[] = [];
  for (const part of raw.split(',')) {
    const v = part.trim();
    const [addr, bits, extra] = v.split('/');
    const family = isIP(addr ?? '');
    const okBits = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 6 ? 128 : 32));
    if (!(PROXY_RANGES.has(v) || (family !== 0 && okBits && extra === undefined)))
      throw new ConfigError(name, `must be proxy addresses or CIDR ranges separated by commas (e.g. 10.0.0.5,10.1.0.0/16, or loopback), got "${v.slice(0, 80)}"; trusting every proxy would let clients choose their own address`);
    out.push(v);
  }
  return Object.freeze(out);
}

/** `gameType=seconds,...` (seconds 0 = never). */
function idleTimeouts(env: Env, name: string): Readonly<Record<string, number>> {
  const raw = env[name];
  const out: Record<string, number> = Object.create(null);
  if (raw === undefined || raw.trim() === '') return Object.freeze(out);
  for (const part of raw.split(',')) {
    const m = /^\s*([^=\s][^=]{0,63}?)\s*=\s*(\d{1,9})\s*$/.exec(part);
    if (!m) throw new ConfigError(name, `must be gameType=seconds pairs separated by commas (e.g. world=0,4x=86400), got "${part.trim().slice(0, 80)}"`);
    out[m[1] as string] = Number(m[2]);
  }
  return Object.freeze(out);
}

function isTimeZone(v: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: v });
    return v.length <= 64;
  } catch {
    return false;
  }
}

/** The URL with its password replaced, for logs and `doctor` output. */
export function redactUrl(u: string): string {
  try {
    const parsed = new URL(u);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}
