/**
 * What bench/peers.ts runs the same move rows through instead of our pipeline: pg-boss and
 * graphile-worker, each in the best configuration we found (their documentation's throughput advice,
 * then measured; the choices and figures are beside each consumer below), each writing a
 * job's events with one multi-row INSERT into a table shaped like `moves` (exactly once by the
 * primary key: ON CONFLICT (session_id, id) DO NOTHING). Producers run in the bench's process,
 * consumers in a child process (`node bench/peers.ts --consumer <system>`) so they can be SIGKILLed.
 *
 * How the bench knows rows are stored without polling the table (a count(*) every few milliseconds
 * over a growing table would cost the peers CPU ours does not pay): each INSERT statement also calls
 * pg_notify with how many rows it inserted and how many it was given. PostgreSQL delivers a
 * notification only when its transaction commits, once, so the listener's sum is exactly the rows
 * committed, whoever commits them and whatever happens to the consumer after. It costs one notification
 * per batch of hundreds of rows.
 */
import { EventEmitter } from 'node:events';
import { Logger, makeWorkerUtils, run, runMigrations, type Runner, type WorkerEvents } from 'graphile-worker';
import { PgBoss, type Db, type Job } from 'pg-boss';
import pg from 'pg';

export const PEERS = ['pgboss', 'graphile'] as const;
export type Peer = (typeof PEERS)[number];

/** A row in the shape of the `moves` table (the names of its columns), as the producers put it in jobs. */
export interface MoveRow {
  session_id: string;
  id: string;
  seq: number;
  type: 'move';
  at: string;
  player_id: string;
  action: string;
  round: number;
  turn: number;
  data: unknown;
}

/** The knobs both peers share (bench/peers.ts options). */
export interface PeerSettings {
  /** Jobs a pg-boss fetch takes at once, and graphile-worker's local queue (jobs locked per fetch). */
  batch: number;
}

/**
 * A phase's names: the peer's table (one for all its phases, growing as `moves` does with ours), the
 * phase's pg-boss queue or graphile task, and its notification channel.
 */
export function phaseNames(peer: Peer, phase: string) {
  return { table: `peer_${peer}_moves`, queue: `moves_${phase}`, channel: `stored_${peer}_${phase}` };
}

/** pg-boss's and graphile-worker's schemas, in the scratch database (ours uses `pgboss` for its own jobs). */
export const PGBOSS_SCHEMA = 'peer_pgboss';
export const GRAPHILE_SCHEMA = 'peer_graphile_worker';

const COLUMNS = 'session_id, id, seq, type, at, player_id, action, round, turn, data';
const RECORD = 'session_id text, id uuid, seq bigint, type text, at timestamptz, player_id text, action text, round int, turn int, data jsonb';

/**
 * The best multi-row insert we know for this (the one our worker uses, src/db/sql/insert-events.ts):
 * one JSON parameter unpacked by json_to_recordset. $1: the rows as a JSON array; $2: the channel;
 * $3: how many rows $1 holds. Notifies `<inserted> <given>` on commit.
 */
export function insertSql(table: string): string {
  return `WITH ins AS (INSERT INTO ${table} (${COLUMNS}) SELECT ${COLUMNS} FROM json_to_recordset($1::json) AS x(${RECORD}) ON CONFLICT (session_id, id) DO NOTHING RETURNING 1)
SELECT pg_notify($2, (SELECT count(*) FROM ins)::text || ' ' || $3::text)`;
}

/** What the bench's process holds of a peer: a producer of jobs, and what a supervisor does after a crash. */
export interface PeerProducer {
  /** Enqueues jobs (each an array of rows) in one call. */
  send(jobs: MoveRow[][]): Promise<void>;
  /** After a consumer was killed: what an operator or supervisor does so its claimed jobs run again. */
  recover(deadLockIds: string[]): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------- pg-boss

/**
 * The pg-boss queue: expireInSeconds 30 (a job claimed by a consumer that died runs again 30 s later:
 * the same bound as our GP_LOCK_MS default; pg-boss's default is 15 minutes), retries enough to
 * survive a few crashes, none delayed. `notify` wakes idle workers at once on insert instead of at
 * their next poll (at least 0.5 s away).
 */
const PGBOSS_QUEUE = { expireInSeconds: 30, retryLimit: 20, retryDelay: 0, notify: true } as const;

export async function openPgBossProducer(dbUrl: string, queue: string): Promise<PeerProducer> {
  // A producer only: no supervision or cron here (the consumer supervises), a pool for the inserts in flight.
  const boss = new PgBoss({ connectionString: dbUrl, schema: PGBOSS_SCHEMA, supervise: false, schedule: false, max: 10 });
  boss.on('error', (e) => process.stderr.write(`pg-boss producer: ${e.message}\n`));
  await boss.start();
  await boss.createQueue(queue, PGBOSS_QUEUE);
  return {
    // insert() is pg-boss's bulk path: one statement for all the jobs, no per-job validation.
    send: async (jobs) => void (await boss.insert(queue, jobs.map((events) => ({ data: { events } })))),
    // Nothing to do: the consumer's supervisor fails the dead consumer's jobs once they expire, and
    // they are retried (PGBOSS_QUEUE).
    recover: async () => {},
    close: () => boss.stop({ graceful: false, close: true }),
  };
}

/**
 * The pg-boss consumer (child process). Its options, chosen by measuring on this machine (80,000 to
 * 100,000-event saturation runs, pg-boss alone, two runs each where close; thousands of events/s):
 *  - batchSize (--batch, default 50) jobs per fetch, all their events in one INSERT: 5, 10, 20 and 50
 *    gave 32, 38-40, 44 and 47, 100 the same as 50 (50 jobs = 5,000 events, our GP_BATCH_ROWS default);
 *  - localConcurrency 4: fetch-and-write loops, so some write while others fetch; 1, 2 and 4 gave
 *    37-38, 45-50 and 50-52;
 *  - transactional: the INSERT and the jobs' completion commit together, so a batch whose rows were
 *    committed is never redelivered; without it the rate was the same within noise (49-52);
 *  - burstWhenBatchFull: fetch again at once while fetches come back full, and LISTEN/NOTIFY
 *    (useListenNotify with the queue's `notify`) for when they do not, instead of the 2 s poll;
 *    notifyPollingIntervalSeconds 2 (default 30) for retried jobs, which no notification announces;
 *  - superviseIntervalSeconds and monitorIntervalSeconds 10 (default 60; expiry is checked in the
 *    monitor pass): a dead consumer's jobs are retried within ~10 s of their 30 s expiry.
 */
export async function runPgBossConsumer(dbUrl: string, phase: string, s: PeerSettings): Promise<{ lockIds: string[]; stop: () => Promise<void> }> {
  const { table, queue, channel } = phaseNames('pgboss', phase);
  const boss = new PgBoss({ connectionString: dbUrl, schema: PGBOSS_SCHEMA, migrate: false, schedule: false, superviseIntervalSeconds: 10, monitorIntervalSeconds: 10, useListenNotify: true, max: 10 });
  boss.on('error', (e) => process.stderr.write(`pg-boss consumer: ${e.message}\n`));
  await boss.start();
  const sql = insertSql(table);
  await boss.work(queue, { batchSize: s.batch, localConcurrency: 4, notifyPollingIntervalSeconds: 2, burstWhenBatchFull: true, transactional: true }, async (jobs: Job<{ events: MoveRow[] }>[], tx: Db) => {
    const rows = jobs.length === 1 ? jobs[0].data.events : jobs.flatMap((j) => j.data.events);
    await tx.executeSql(sql, [JSON.stringify(rows), channel, rows.length]);
  });
  return { lockIds: [], stop: () => boss.stop({ graceful: true, timeout: 15_000 }) };
}

// ---------------------------------------------------------------- graphile-worker

const quietLogger = new Logger(() => (level, message) => {
  if (level === 'error' || level === 'warning') process.stderr.write(`graphile-worker ${level}: ${message}\n`);
});

export async function openGraphileProducer(dbUrl: string, task: string): Promise<PeerProducer> {
  await runMigrations({ connectionString: dbUrl, schema: GRAPHILE_SCHEMA, logger: quietLogger });
  const utils = await makeWorkerUtils({ connectionString: dbUrl, schema: GRAPHILE_SCHEMA, logger: quietLogger, maxPoolSize: 10 });
  const pool = new pg.Pool({ connectionString: dbUrl, max: 10 });
  const schema = pg.escapeIdentifier(GRAPHILE_SCHEMA);
  // The documented SQL function add_jobs, called the way the JS addJobs() calls it, but returning a
  // count: addJobs() selects every added job back, payload included, and the producer parses all the
  // events it just sent (measured with addJobs(): the producer ~40% slower, the run ~6% slower).
  const addJobsSql = `SELECT count(*) FROM ${schema}.add_jobs(array(SELECT json_populate_recordset(null::${schema}.job_spec, $1::json)))`;
  return {
    // Each job's payload is an array of events: what graphile-worker calls a batch job.
    send: async (jobs) => void (await pool.query(addJobsSql, [JSON.stringify(jobs.map((events) => ({ identifier: task, payload: events })))])),
    // graphile-worker releases a crashed worker's jobs by itself only once they have been locked for
    // 4 hours (resetLockedAt); a supervisor that knows the process died says so (the documented
    // forceUnlockWorkers, with the lock ids the consumer reported), and they run again at once.
    recover: (ids) => utils.forceUnlockWorkers(ids),
    close: async () => {
      await pool.end();
      await utils.release();
    },
  };
}

/**
 * The graphile-worker consumer (child process), with the batching its performance docs recommend.
 * graphile-worker runs one job per task call, so a batch job's payload (--per-job events) is what one
 * INSERT writes. Measured as for pg-boss (80,000 events):
 *  - localQueue.size (--batch): the pool locks that many jobs per fetch and hands them to its workers
 *    without a round trip each; 10 and 50 within noise;
 *  - completeJobBatchDelay / failJobBatchDelay 0: completions of the same tick share one statement;
 *  - concurrency 4: 2, 4, 8 and 16 all gave 34-37.5 (noise); 4 keeps a few INSERTs in flight while
 *    Node parses the next payloads;
 *  - no job_key: sharing keys makes add_jobs append to a waiting job's array (fewer, bigger
 *    INSERTs), but concurrent add_jobs calls on the same keys deadlocked, and with one call in flight
 *    the run did not finish (55,700 of 80,000 stored after 300 s; not investigated further).
 */
export async function runGraphileConsumer(dbUrl: string, phase: string, s: PeerSettings): Promise<{ lockIds: string[]; stop: () => Promise<void> }> {
  const { table, queue: task, channel } = phaseNames('graphile', phase);
  const sql = insertSql(table);
  // Jobs are locked in the name of the pool (local queue) or of a worker: collect both, so a
  // supervisor can unlock what this process held if it dies.
  const lockIds: string[] = [];
  const events: WorkerEvents = new EventEmitter();
  events.on('pool:create', ({ workerPool }) => lockIds.push(workerPool.id));
  events.on('worker:create', ({ worker }) => lockIds.push(worker.workerId));
  const concurrency = 4;
  const runner: Runner = await run({
    connectionString: dbUrl,
    schema: GRAPHILE_SCHEMA,
    concurrency,
    maxPoolSize: concurrency + 2,
    noHandleSignals: true,
    logger: quietLogger,
    events,
    taskList: {
      [task]: async (payload, helpers) => {
        const rows = payload as MoveRow[];
        await helpers.query(sql, [JSON.stringify(rows), channel, rows.length]);
      },
    },
    preset: { worker: { localQueue: { size: s.batch }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
  });
  return { lockIds, stop: () => runner.stop() };
}

export const CONSUMERS: Record<Peer, typeof runPgBossConsumer> = { pgboss: runPgBossConsumer, graphile: runGraphileConsumer };
export const PRODUCERS: Record<Peer, (dbUrl: string, queue: string) => Promise<PeerProducer>> = { pgboss: openPgBossProducer, graphile: openGraphileProducer };
export const SCHEMAS: Record<Peer, string> = { pgboss: PGBOSS_SCHEMA, graphile: GRAPHILE_SCHEMA };
