/**
 * What a running worker counts of its work, in one place: the stats on its handle (WorkerStats), the
 * Prometheus metrics and the log lines. A committed write (a batch, or a job written alone on its last
 * attempt) and the session step of an issued-seq report count their session tallies (src/sessions/tally.ts)
 * the same way; failed batches and jobs dead-lettered after their last attempt are counted here too.
 */
import type { Job } from 'bullmq';
import type { Config } from '../config.ts';
import type { ValidEvent } from '../contract/events.ts';
import type { Logger } from '../log.ts';
import { typeLabel, type Metrics } from '../metrics/metrics.ts';
import { gaveUpMessage } from '../sessions/sequencer.ts';
import type { SessionTally } from '../sessions/tally.ts';
import { classifyDbError, describeDbError } from '../workers/db-errors.ts';
import type { IssuedResult } from '../workers/issued.ts';
import type { WriteResult } from '../workers/write-batch.ts';
import { LagHistogram, elapsedMs } from './lag.ts';

export interface WorkerStats {
  /** Enqueue-to-commit lag of committed events: their job's enqueue time (`job.timestamp`) to the commit. */
  lag: LagHistogram;
  /** Event-time age of committed events: their `at` to the commit (days for an imported session). */
  eventAge: LagHistogram;
  jobs: number;
  events: number;
  inserted: number;
  duplicates: number;
  deadLettered: number;
  batches: number;
  retries: number;
  failedBatches: number;
  /** Turn results folded into live session states. */
  turnsFolded: number;
  /** Jobs given up on (last attempt failed, or found in the failed set) and dead-lettered. */
  jobsExhausted: number;
  /**
   * Seqs this process gave up as lost (gaps past GP_GAP_TIMEOUT_S: in batches, issued-seq reports and
   * its gap sweeps), net of given-up seqs whose event arrived after all: what it added to sessions.lost_seqs.
   */
  lostSeqs: number;
  byType: Record<string, number>;
}

/**
 * Seqs given up as lost in this process's batches and issued-seq reports, and given-up seqs that arrived
 * after all (the gap sweep counts its own, in the jobs' stats). The metrics read it at scrape time.
 */
export interface SequenceCounts {
  seqsGivenUp: number;
  seqsLate: number;
}

/** A dead letter as far as the metrics care. */
type Rejected = { type: string | null; reason_code: string };

/** A job enqueued this much ahead of this worker's clock means the clocks disagree (logged, at most every 10 minutes). */
const SKEW_WARN_MS = 5000;
const SKEW_WARN_EVERY_MS = 10 * 60_000;

export class Recorder {
  readonly stats: WorkerStats;
  readonly #cfg: Readonly<Config>;
  readonly #log: Logger;
  readonly #metrics: Metrics;
  readonly #sequence: SequenceCounts;
  /** When each event's job was enqueued (BullMQ's job.timestamp, the producer's clock), for the lag. */
  readonly #enqueuedAt = new WeakMap<ValidEvent, number>();
  #skewWarnedAt = -Infinity;

  /** `swept`: the seqs this process's gap sweeps gave up (pg-boss's jobs; null when GP_JOBS=false). */
  constructor(cfg: Readonly<Config>, log: Logger, metrics: Metrics, sequence: SequenceCounts, swept: { readonly seqsGivenUp: number } | null) {
    this.#cfg = cfg;
    this.#log = log;
    this.#metrics = metrics;
    this.#sequence = sequence;
    this.stats = {
      lag: new LagHistogram(),
      eventAge: new LagHistogram(),
      jobs: 0,
      events: 0,
      inserted: 0,
      duplicates: 0,
      deadLettered: 0,
      batches: 0,
      retries: 0,
      failedBatches: 0,
      turnsFolded: 0,
      jobsExhausted: 0,
      byType: {},
      get lostSeqs() {
        return sequence.seqsGivenUp + (swept?.seqsGivenUp ?? 0) - sequence.seqsLate;
      },
    };
  }

  /** A job was taken and parsed: its events' enqueue time is kept for the lag of their commit. */
  taken(job: Job, events: readonly ValidEvent[]): void {
    this.stats.jobs++;
    this.stats.events += events.length;
    if (Number.isFinite(job.timestamp)) for (const e of events) this.#enqueuedAt.set(e, job.timestamp);
  }

  /** A committed write (a batch, or a job written alone on its last attempt) of `events` and `deadLetters`, begun at `t0` (performance.now()). */
  written(r: WriteResult, events: readonly unknown[], deadLetters: readonly Rejected[], t0: number): void {
    const stats = this.stats;
    const metrics = this.#metrics;
    const log = this.#log;
    this.#observeLag(r.committed);
    metrics.batchRows.observe(events.length);
    metrics.batchSeconds.observe((performance.now() - t0) / 1000);
    for (const [t, n] of r.byType) metrics.eventsIngested.inc({ type: t }, n);
    if (r.duplicates) metrics.duplicates.inc(r.duplicates);
    if (r.copied) metrics.copied.inc(r.copied);
    if (r.retries) metrics.batchRetries.inc(r.retries);
    this.#sessions(r);
    for (const d of deadLetters) metrics.rejected.inc({ type: typeLabel(d.type), reason: d.reason_code });
    // Rows PostgreSQL refused, isolated and dead-lettered by the writer.
    if (r.deadLettered > deadLetters.length) metrics.rejected.inc({ type: 'unknown', reason: 'db_rejected' }, r.deadLettered - deadLetters.length);
    stats.batches++;
    stats.inserted += r.inserted;
    stats.duplicates += r.duplicates;
    stats.deadLettered += r.deadLettered;
    stats.retries += r.retries;
    for (const [t, n] of r.byType) stats.byType[t] = (stats.byType[t] ?? 0) + n;
    if (r.deadLettered) log.warn({ deadLettered: r.deadLettered }, 'events dead-lettered');
  }

  /** A batch that failed past its retries: its jobs go back to the queue. */
  batchFailed(e: unknown, rows: number): void {
    this.stats.failedBatches++;
    this.#metrics.batchFailures.inc();
    this.#log.error({ err: describeDbError(e), kind: classifyDbError(e), rows }, 'batch failed; its jobs go back to the queue');
  }

  /** An issued-seq report applied: seqs reported issued that are not stored, and what its session step did. */
  issued(r: IssuedResult): void {
    const missing = r.behind.reduce((n, b) => n + b.issued - b.stored, 0);
    if (missing) {
      this.#metrics.seqsIssuedMissing.inc(missing);
      this.#log.warn(
        { sessions: r.behind.length, seqs: missing, first: r.behind.slice(0, 10) },
        `a producer reported seqs it issued that are not stored (acknowledged jobs lost: a Redis restart or failover that rolled back, or still queued): they wait as a sequence gap, given up after GP_GAP_TIMEOUT_S (${this.#cfg.gapTimeoutS} s)`,
      );
    }
    this.#sessions(r);
  }

  /** Jobs given up after their last attempt, their events dead-lettered as `rows`. */
  exhausted(jobs: number, rows: readonly Rejected[]): void {
    this.stats.jobsExhausted += jobs;
    this.stats.deadLettered += rows.length;
    this.#metrics.jobsExhausted.inc(jobs);
    for (const d of rows) this.#metrics.rejected.inc({ type: typeLabel(d.type), reason: d.reason_code });
    this.#log.error({ jobs, deadLettered: rows.length }, 'jobs gave up after their last attempt: their events are dead letters (retries_exhausted); see `game-persist dlq list`');
  }

  #observeLag(committed: readonly ValidEvent[]): void {
    const now = Date.now();
    let ahead = 0;
    for (const e of committed) {
      const enqueued = this.#enqueuedAt.get(e);
      if (enqueued !== undefined) {
        const ms = elapsedMs(now, enqueued);
        this.stats.lag.observe(ms);
        this.#metrics.lag.observe(ms / 1000);
        if (enqueued - now > ahead) ahead = enqueued - now;
      }
      const age = elapsedMs(now, Date.parse(e.at));
      this.stats.eventAge.observe(age);
      this.#metrics.eventAge.observe(age / 1000);
    }
    if (ahead > SKEW_WARN_MS && now - this.#skewWarnedAt > SKEW_WARN_EVERY_MS) {
      this.#skewWarnedAt = now;
      this.#log.warn(
        { aheadMs: Math.round(ahead) },
        "jobs were enqueued at a time still ahead of this worker's clock: a producer's clock and this worker's disagree (sync them, e.g. NTP); gp_ingest_lag_seconds counts such jobs as 0 s",
      );
    }
  }

  /** What a committed session step did (a batch's transactions, or an issued-seq report's). */
  #sessions(t: SessionTally): void {
    const metrics = this.#metrics;
    const log = this.#log;
    if (t.turnsFolded) metrics.turnsFolded.inc(t.turnsFolded);
    this.stats.turnsFolded += t.turnsFolded;
    if (t.refolds) metrics.stateRefolds.inc(t.refolds);
    if (t.docsApplied) metrics.documentWrites.inc({ outcome: 'applied' }, t.docsApplied);
    if (t.docConflicts) metrics.documentWrites.inc({ outcome: 'conflict' }, t.docConflicts);
    if (t.docsOverLimit) metrics.documentWrites.inc({ outcome: 'over_limit' }, t.docsOverLimit);
    if (t.docConflicts || t.docsOverLimit)
      log.info({ conflicts: t.docConflicts, overLimit: t.docsOverLimit }, 'document writes not applied (expectedVersion differed, or the owner limit); see GET /v1/sessions/:id/document-rejections');
    if (t.statesTooLarge) {
      metrics.statesTooLarge.inc(t.statesTooLarge);
      metrics.rejected.inc({ type: 'turn.result', reason: 'state_too_large' }, t.statesTooLarge);
      log.warn(
        { turnResults: t.statesTooLarge, limit: this.#cfg.maxStateBytes },
        'turn results not folded: the live state would pass GP_MAX_STATE_BYTES; see `game-persist dlq list --reason state_too_large`',
      );
    }
    if (t.seqsGivenUp) {
      this.#sequence.seqsGivenUp += t.seqsGivenUp;
      log.warn({ sessions: t.sessionsGivenUp, lostSeqs: t.seqsGivenUp, first: t.gaveUp }, gaveUpMessage(this.#cfg.gapTimeoutS));
    }
    if (t.seqsLate) {
      this.#sequence.seqsLate += t.seqsLate;
      metrics.seqsLate.inc(t.seqsLate);
      log.info({ seqs: t.seqsLate }, 'events given up as lost arrived after all: sessions.lost_seqs counted back');
    }
    if (t.seqConflicts) {
      metrics.seqConflicts.inc(t.seqConflicts);
      log.warn({ events: t.seqConflicts }, 'events share a seq with another event of their session (a producer issued a number twice); see seq_conflicts');
    }
  }
}
