/**
 * Makes events that Redis lost after acknowledging them visible downstream. A Redis that restarts with
 * the AOF's fsync window lost (`appendfsync everysec` and a host crash), or a failover to a replica that
 * lagged, rolls back: jobs the producer was told were added are gone. Events followed by later ones of
 * their session leave a gap the workers see and give up; a session's last events leave nothing. So
 * when the client connects again to a Redis that is not the one it left (another `run_id`, from `INFO
 * server`), the producer reports the highest seq it issued for every session it drew for shortly
 * before the connection dropped (./sequences.ts `issuedSince`): as jobs on the queue itself (src/contract/
 * issued.ts), after raising those sessions' counters back. Workers then expect those seqs, and the
 * ones never stored are given up after GP_GAP_TIMEOUT_S and counted in `sessions.lost_seqs`.
 *
 * Nothing is added to the hot path: one `INFO server` per (re)connection, and a report only after a
 * restart. What stays invisible: a producer that dies with (or before reconnecting to) the Redis it
 * wrote to, and a session this process no longer tracks (see docs/contract.md, "Issued-seq reports").
 */
import type { Redis } from 'ioredis';

/** Reads the server's run id: a restarted Redis, or another server after a failover, has a new one. */
async function runId(redis: Redis): Promise<string | null> {
  try {
    return /(?:^|\n)run_id:([0-9a-f]+)/.exec(await redis.info('server'))?.[1] ?? null;
  } catch {
    // Refused (an ACL without INFO) or cut off: unknown, which counts as another server.
    return null;
  }
}

export interface IssuedReportOptions {
  /** Sessions drawn for within this long before the connection dropped are reported. */
  windowMs: number;
  /** Sends the report for sessions drawn for since `since` (performance.now()); retried by the caller's own rules. */
  report(since: number): Promise<void>;
}

/** Watches one client's connections; calls `report` once per reconnection to a different (or unknown) server. */
export class IssuedReporter {
  readonly #redis: Redis;
  readonly #opts: IssuedReportOptions;
  /** The server this client last talked to; undefined before the first connection. */
  #runId: string | null | undefined = undefined;
  /** When the connection dropped (performance.now()); null while connected. */
  #lostAt: number | null = null;
  #checking: Promise<void> = Promise.resolve();

  constructor(redis: Redis, opts: IssuedReportOptions) {
    this.#redis = redis;
    this.#opts = opts;
    redis.on('close', this.#onClose);
    redis.on('ready', this.#onReady);
    if (redis.status === 'ready') this.#onReady();
  }

  /** Resolves once the check of the last (re)connection, and the report it started, are done. */
  settled(): Promise<void> {
    return this.#checking;
  }

  close(): void {
    this.#redis.off('close', this.#onClose);
    this.#redis.off('ready', this.#onReady);
  }

  readonly #onClose = () => {
    if (this.#runId !== undefined) this.#lostAt ??= performance.now();
  };

  readonly #onReady = () => {
    // One check at a time, in order; `report` handles its own failures, and a failed INFO counts as unknown.
    this.#checking = this.#checking.then(() => this.#check()).catch(() => {});
  };

  async #check(): Promise<void> {
    const id = await runId(this.#redis);
    const before = this.#runId;
    const lostAt = this.#lostAt;
    this.#runId = id;
    // The first connection, or a ready without a drop before it: nothing to compare.
    if (before === undefined || lostAt === null) return;
    this.#lostAt = null;
    // The same server after a dropped connection (a network blip) kept everything it acknowledged.
    if (id !== null && id === before) return;
    await this.#opts.report(lostAt - this.#opts.windowMs);
  }
}
