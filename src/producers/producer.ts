/**
 * The producer SDK: validates events, assigns ids and per-session sequence numbers, and packs them
 * into BullMQ jobs by count, bytes and a short linger. An awaited emit resolves once its job is in
 * the queue: Redis, or PostgreSQL when the connection is a `postgres://` URL (BullMQ's PostgreSQL
 * backend, src/queue/backend.ts). The buffer is bounded: when the store is slow or gone, emits fail
 * fast instead of piling up. Sequence numbers are drawn by ./sequences.ts (which survives the store
 * losing its counters); every call to the store goes through a gate (./redis-gate.ts, ./pg-gate.ts:
 * bounded waits, plain error messages).
 */
import type { Redis } from 'ioredis';
import type { CustomTypeCheck } from '../contract/custom-check.ts';
import { EVENT_TYPES, type CustomType, type EventData, type EventType } from '../contract/events.ts';
import { idReason, isId } from '../contract/fields.ts';
import { uuidv7 } from '../contract/ids.ts';
import {
  CONTRACT_VERSION,
  DEFAULT_LIMITS,
  DEFAULT_QUEUE_NAME,
  DEFAULT_QUEUE_PREFIX,
  EVENT_JOB_NAME,
  MAX_EVENTS_PER_JOB,
  MAX_JOB_EVENT_BYTES,
  type Limits,
} from '../contract/limits.ts';
import { validateEvent, type CheckedEvent, type EnvelopeDefaults } from '../contract/validate.ts';
import { BackpressureError, ClosedError, ContractError, EnqueueError, NotReadyError, errorMessage, type EnqueueReason } from '../errors.ts';
import { isPostgresUrl, openQueue, type EventsQueue, type QueueTarget } from '../queue/backend.ts';
import { pgConnectionOptions } from '../db/tls.ts';
import { pgDriver } from '../db/pg-driver.ts';
import { redisClient } from '../redis.ts';
import type { ProducerOptions, ProducerStats } from './options.ts';
import type { Gate } from './gate.ts';
import { RedisGate } from './redis-gate.ts';
import { PgGate } from './pg-gate.ts';
import { RedisCounters } from './redis-counters.ts';
import { PgCounters } from './pg-counters.ts';
import { SeedFailure, SequenceAllocator, type SequenceCounters } from './sequences.ts';
import { IssuedReporter } from './issued-report.ts';
import { ISSUED_JOB_NAME, MAX_ISSUED_PER_JOB } from '../contract/limits.ts';
import type { IssuedMark } from '../contract/issued.ts';

export type { ProducerOptions, ProducerStats } from './options.ts';

/** Envelope fields every helper accepts next to the event's own data. */
export interface EnvelopeInput {
  sessionId: string | number;
  player?: string | number;
  /** Defaults to a fresh UUIDv7. Re-emitting with the same id is deduplicated by workers. */
  id?: string;
  /** Per-session sequence number; assigned from the shared counter when absent (never for `queue.*` events). */
  seq?: number;
  /** Defaults to now. */
  at?: string | Date;
}

type QueueEnvelopeInput = Omit<EnvelopeInput, 'sessionId'> & { sessionId?: string | number };

/** What a helper takes: envelope fields and the event's data fields side by side. */
export type EventInput<T extends EventType> = (T extends `queue.${string}` ? QueueEnvelopeInput : EnvelopeInput) & EventData<T>;

export interface EmitOptions {
  /**
   * The event's objects belong to the producer from now on (nothing will change them), so they are
   * checked in place instead of copied: the HTTP API passes the request body it parsed.
   */
  owned?: boolean;
}

export interface Emitted {
  id: string;
  seq: number | null;
}

const HELPERS = {
  sessionCreated: 'session.created',
  sessionStarted: 'session.started',
  sessionFinished: 'session.finished',
  sessionAbandoned: 'session.abandoned',
  playerJoined: 'player.joined',
  playerLeft: 'player.left',
  playerOutcome: 'player.outcome',
  move: 'move',
  vote: 'vote',
  chatMessage: 'chat.message',
  taskCompleted: 'task.completed',
  turnResult: 'turn.result',
  agentLog: 'agent.log',
  queueEntered: 'queue.entered',
  queueLeft: 'queue.left',
  putDocument: 'doc.put',
  deleteDocument: 'doc.delete',
} as const satisfies Record<string, EventType>;

type Helpers = { [K in keyof typeof HELPERS]: (input: EventInput<(typeof HELPERS)[K]>) => Promise<Emitted> };

interface Pending {
  event: CheckedEvent;
  resolve(e: Emitted): void;
  reject(e: unknown): void;
}

/** Default of `issuedReportWindowMs`: five minutes, far beyond an AOF fsync window or a replica's usual lag. */
export const DEFAULT_ISSUED_REPORT_WINDOW_MS = 5 * 60_000;

/** How often `ready()` tries an unreachable store again. */
const READY_RETRY_MS = 100;

const ENVELOPE_INPUT = new Set(['sessionId', 'player', 'id', 'seq', 'at']);
/** What emit fills in when an event has none: a fresh UUIDv7 and now. */
const ENVELOPE_DEFAULTS: EnvelopeDefaults = { id: () => uuidv7(), at: () => nowIso() };
/** Join-queue events belong to a tenant, not to a session's sequence: the SDK never numbers them. */
const UNSEQUENCED = new Set(Object.entries(EVENT_TYPES).flatMap(([t, d]) => (d.family === 'queue' ? [t] : [])));

export class Producer {
  #queue: EventsQueue;
  readonly #target: QueueTarget;
  readonly #readyTimeoutMs: number;
  /** What the producer opened and closes: its Redis client, or its pool of the counters' connections. */
  readonly #release: () => Promise<void>;
  /** One round trip to the store (PING, or SELECT 1 on the PostgreSQL backend), for `ready()`. */
  readonly #probe: () => Promise<unknown>;
  readonly #prefix: string;
  readonly #maxEvents: number;
  readonly #maxBytes: number;
  readonly #linger: number;
  readonly #maxBuffered: number;
  readonly #limits: Limits;
  readonly #customTypes: CustomTypeCheck | undefined;
  readonly #jobOpts: Record<string, unknown>;
  readonly #gate: Gate;
  readonly #seqs: SequenceAllocator;
  /** Reports issued seqs after the Redis client reconnects to a rolled-back server (Redis backend only). */
  readonly #reporter: IssuedReporter | null = null;
  readonly #onIssuedReport: ProducerOptions['onIssuedReport'];
  #buffer: Pending[] = [];
  #bufferBytes = 0;
  /** Accepted, not yet acknowledged by the queue (in the buffer or in a flush). */
  #unsettled = 0;
  #timer: NodeJS.Timeout | null = null;
  #immediate: NodeJS.Immediate | null = null;
  #inflight = new Set<Promise<void>>();
  #closed = false;
  /** close() was called: a failing issued-seq report is not tried again. */
  #closing = false;
  readonly stats: ProducerStats = { emitted: 0, enqueued: 0, jobs: 0, failed: 0, buffered: 0, reseeded: 0, issuedReports: 0, issuedReportFailures: 0 };

  constructor(opts: ProducerOptions) {
    this.#prefix = opts.prefix ?? DEFAULT_QUEUE_PREFIX;
    this.#readyTimeoutMs = opts.readyTimeoutMs ?? 1000;
    const queueName = opts.queueName ?? DEFAULT_QUEUE_NAME;
    let counters: SequenceCounters;
    if (isPostgresUrl(opts.connection)) {
      // The counters' own small pool (the queue's pool is BullMQ's, pinned to the queue schema). A draw
      // may commit asynchronously: the job add that follows it commits synchronously, and WAL is
      // flushed in order, so a draw can only be lost together with jobs that were never acknowledged;
      // and a lost draw is what the floor rule (./sequences.ts) already covers.
      const pool = new (pgDriver().Pool)({
        ...pgConnectionOptions(opts.connection, 'the producer connection'),
        max: 2,
        connectionTimeoutMillis: this.#readyTimeoutMs,
        application_name: 'game-persist:producer',
        options: '-c synchronous_commit=off',
      });
      pool.on('error', () => {}); // an idle client's error; the next call reports it
      this.#gate = new PgGate(this.#readyTimeoutMs);
      counters = new PgCounters(pool, this.#gate, this.#prefix);
      this.#release = () => pool.end();
      this.#probe = () => pool.query('select 1');
      this.#target = { connection: opts.connection, prefix: this.#prefix, queueName };
    } else {
      let redis: Redis;
      if (typeof opts.connection === 'string') {
        // Fail fast: sends are gated on a ready connection (RedisGate) and a command caught by a
        // disconnect is retried once, not held in memory until Redis returns. After a restart ioredis
        // polls a loading Redis every max(loading ETA, 1 s) by default, longer than readyTimeoutMs:
        // poll every 50 ms so sends resume as soon as the data is loaded.
        const own = redisClient(opts.connection, { maxRetriesPerRequest: 1, maxLoadingRetryTime: 50 }, 'the producer connection');
        own.on('error', () => {}); // surfaced through emit/flush rejections instead
        redis = own;
        this.#release = () => own.quit().then(() => undefined, () => own.disconnect());
      } else {
        redis = opts.connection;
        this.#release = async () => {};
      }
      this.#gate = new RedisGate(redis, this.#readyTimeoutMs);
      this.#probe = () => redis.ping();
      counters = new RedisCounters(redis, this.#gate, this.#prefix);
      this.#target = { connection: redis, prefix: this.#prefix, queueName };
      const windowMs = opts.issuedReportWindowMs ?? DEFAULT_ISSUED_REPORT_WINDOW_MS;
      if (windowMs > 0) this.#reporter = new IssuedReporter(redis, { windowMs, report: (since) => this.#reportIssued(since) });
    }
    this.#onIssuedReport = opts.onIssuedReport;
    this.#maxEvents = Math.min(opts.maxBatchEvents ?? 100, MAX_EVENTS_PER_JOB);
    // Capped like maxBatchEvents: a worker dead-letters the events of a job past MAX_JOB_EVENT_BYTES.
    this.#maxBytes = Math.min(opts.maxBatchBytes ?? 256 * 1024, MAX_JOB_EVENT_BYTES);
    this.#linger = opts.lingerMs ?? 5;
    this.#maxBuffered = opts.maxBufferedEvents ?? 20_000;
    this.#limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.#customTypes = opts.customTypes;
    const onReseed = opts.onSequenceReseed;
    this.#seqs = new SequenceAllocator({
      counters,
      seed: opts.sequenceSeed,
      seedTimeoutMs: opts.sequenceSeedTimeoutMs ?? 5000,
      onReseed: (r) => {
        this.stats.reseeded++;
        try {
          onReseed?.(r);
        } catch {
          // A reporting hook must not fail the draw: the events it numbers are already on their way.
        }
      },
    });
    this.#jobOpts = {
      removeOnComplete: true,
      removeOnFail: { age: opts.keepFailedSeconds ?? 7 * 24 * 3600 },
      attempts: opts.attempts ?? 20,
      backoff: { type: 'exponential', delay: 1000 },
    };
    this.#queue = this.#openQueue();
    for (const [name, type] of Object.entries(HELPERS)) {
      (this as unknown as Record<string, unknown>)[name] = (input: Record<string, unknown>) => this.emitInput(type, input);
    }
  }

  /** The BullMQ queue the producer adds its jobs to (on the connection's backend). */
  get queue(): EventsQueue {
    return this.#queue;
  }

  #openQueue(): EventsQueue {
    const q = openQueue(this.#target, { skipWaitingForReady: true }, { max: 4, applicationName: 'game-persist:producer', connectTimeoutMs: this.#readyTimeoutMs });
    q.on('error', () => {});
    return q;
  }

  /**
   * Emits one event given in wire form (`{ type, sessionId, data, ... }`). A contract violation rejects
   * with a ContractError naming the field; nothing is enqueued for it.
   */
  emit<T extends EventType | CustomType>(event: {
    type: T;
    sessionId?: string | number | null;
    player?: string | number | null;
    id?: string;
    seq?: number | null;
    at?: string | Date;
    /** A game type's (`x.<game>.<name>`) data is free-form JSON, checked against its registered schema when `customTypes` is given. */
    data: T extends EventType ? EventData<T> : Record<string, unknown>;
  }, opts: EmitOptions = {}): Promise<Emitted> {
    try {
      if (this.#closed) throw new ClosedError('producer');
      // The event as given, every key of it: an unknown envelope key (`__proto__` included, an own key
      // when it came from JSON.parse) is refused here as a worker refuses it, not dropped on the way.
      const checked = validateEvent(event, {
        limits: this.#limits,
        clone: !opts.owned,
        seqAssignedLater: true,
        customTypes: this.#customTypes,
        defaults: ENVELOPE_DEFAULTS,
      });
      return this.#accept(checked);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Helper form: envelope fields and data fields in one object (what the typed helpers call). */
  emitInput<T extends EventType>(type: T, input: Record<string, unknown>): Promise<Emitted> {
    const data: Record<string, unknown> = {};
    for (const k in input) if (!ENVELOPE_INPUT.has(k)) data[k] = input[k];
    return this.emit({
      type,
      sessionId: input.sessionId as string | undefined,
      player: input.player as string | undefined,
      id: input.id as string | undefined,
      seq: input.seq as number | undefined,
      at: input.at as string | undefined,
      data: data as never,
    });
  }

  #accept(event: CheckedEvent): Promise<Emitted> {
    if (this.#unsettled >= this.#maxBuffered) return Promise.reject(new BackpressureError(this.#unsettled, this.#maxBuffered));
    return new Promise<Emitted>((resolve, reject) => {
      this.#buffer.push({ event, resolve, reject });
      this.#bufferBytes += event.bytes;
      this.stats.buffered = ++this.#unsettled;
      this.stats.emitted++;
      // A full job's worth goes out on the next turn of the event loop, so a burst of emits from
      // one tick still shares a single addBulk round trip; otherwise wait at most lingerMs.
      if (this.#buffer.length >= this.#maxEvents || this.#bufferBytes >= this.#maxBytes) {
        if (!this.#immediate) this.#immediate = setImmediate(() => this.#flushBuffer());
      } else if (!this.#timer) this.#timer = setTimeout(() => this.#flushBuffer(), this.#linger);
    });
  }

  /**
   * The last sequence number issued for the session in this deployment: the larger of the shared
   * counter (Redis, or `sequence_counters` on the PostgreSQL backend) and the highest number this
   * process issued or learned; 0 if none. An integer id is the same session as its string form.
   */
  async lastSeq(sessionId: string | number): Promise<number> {
    return this.#seqs.lastSeq(sessionKey(sessionId));
  }

  /**
   * Raises the session's shared counter (and this process's floor) to at least `lastStoredSeq`;
   * never lowers it. For restarts: after `recoverSession()`, call it with `session.lastSeq`, so new
   * events continue above what is stored even if the store lost the counter.
   */
  async seedSequence(sessionId: string | number, lastStoredSeq: number): Promise<void> {
    if (!Number.isSafeInteger(lastStoredSeq) || lastStoredSeq < 0) throw new ContractError('lastStoredSeq', 'must be an integer >= 0');
    await this.#seqs.seed(sessionKey(sessionId), lastStoredSeq);
  }

  /**
   * Waits until the queue's store answers, for at most `timeoutMs`. For a game server's start: Redis
   * (or PostgreSQL) may come up after it, or a busy machine may take longer to connect than the
   * `readyTimeoutMs` each emit waits, which is sized for a running game loop. Calls made meanwhile are
   * tried again while the store is unreachable; an error it answers with ends the wait at once. The
   * try in progress at the deadline still has its own `readyTimeoutMs`.
   * @throws NotReadyError when the time runs out, or on such an error
   */
  async ready(timeoutMs = 30_000): Promise<void> {
    if (this.#closed) throw new ClosedError('producer');
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const queue = this.#queue;
      try {
        await this.#gate.run(async () => {
          await this.#probe();
          await queue.waitUntilReady();
        });
        return;
      } catch (e) {
        await this.#renewIfBroken(queue, e);
        const explained = this.#gate.explain(e);
        const left = deadline - performance.now();
        const unreachable = explained.reason === 'redis_unavailable' || explained.reason === 'postgres_unavailable';
        if (!unreachable || left <= 0 || this.#closed) throw new NotReadyError(timeoutMs, e, explained);
        // A refused connection fails at once: pace the tries instead of spinning on it.
        await new Promise((r) => setTimeout(r, Math.min(READY_RETRY_MS, left)));
      }
    }
  }

  /** Sends everything buffered now and waits until every send so far has settled. */
  async flush(): Promise<void> {
    this.#flushBuffer();
    while (this.#inflight.size) await Promise.allSettled([...this.#inflight]);
  }

  /**
   * Flushes (and waits for an issued-seq report under way), then releases the queue (and the Redis
   * client or PostgreSQL pool if the producer made it).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closing = true;
    await this.flush();
    await this.#reporter?.settled();
    this.#reporter?.close();
    this.#closed = true;
    await this.#queue.close();
    await this.#release();
  }

  /**
   * The issued-seq report (./issued-report.ts): raises the counters of the sessions drawn for since
   * `since` back to what this process issued, then adds their marks to the queue, up to
   * MAX_ISSUED_PER_JOB a job. Tried again every second while Redis refuses, for as long as the report
   * window (or until close() is called).
   */
  async #reportIssued(since: number): Promise<void> {
    const marks = this.#seqs.issuedSince(since);
    if (!marks.length) return;
    const until = performance.now() + Math.max(this.#readyTimeoutMs, 30_000);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#seqs.raise(marks);
        await this.#sendIssued(marks);
        this.stats.issuedReports++;
        this.#tell({ sessions: marks.length, error: null });
        return;
      } catch (e) {
        if (this.#closing || performance.now() > until) {
          this.stats.issuedReportFailures++;
          this.#tell({ sessions: marks.length, error: e });
          return;
        }
        await new Promise((r) => setTimeout(r, Math.min(1000 * attempt, 5000)));
      }
    }
  }

  async #sendIssued(marks: IssuedMark[]): Promise<void> {
    const jobs: { name: string; data: { v: number; events: never[]; issued: IssuedMark[] }; opts: Record<string, unknown> }[] = [];
    for (let i = 0; i < marks.length; i += MAX_ISSUED_PER_JOB)
      jobs.push({ name: ISSUED_JOB_NAME, data: { v: CONTRACT_VERSION, events: [], issued: marks.slice(i, i + MAX_ISSUED_PER_JOB) }, opts: this.#jobOpts });
    await this.#addBulk(jobs);
  }

  /** Adds jobs through the gate; a queue whose start-up failed for good is renewed for the next call. */
  async #addBulk(jobs: Parameters<EventsQueue['addBulk']>[0]): Promise<void> {
    const queue = this.#queue;
    try {
      await this.#gate.run(() => queue.addBulk(jobs));
    } catch (e) {
      await this.#renewIfBroken(queue, e);
      throw e;
    }
  }

  #tell(r: { sessions: number; error: unknown }): void {
    try {
      this.#onIssuedReport?.(r);
    } catch {
      // A reporting hook must not break the producer.
    }
  }

  #flushBuffer(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#immediate) {
      clearImmediate(this.#immediate);
      this.#immediate = null;
    }
    if (!this.#buffer.length) return;
    const items = this.#buffer;
    this.#buffer = [];
    this.#bufferBytes = 0;
    const p = this.#send(items).finally(() => this.#inflight.delete(p));
    this.#inflight.add(p);
  }

  async #send(items: Pending[]): Promise<void> {
    // Called synchronously, before any await: each session's numbers are reserved in flush order, so
    // they follow emit order even when several flushes are in flight.
    const numbering = this.#assignSequences(items);
    let open = items;
    try {
      const refused = await numbering;
      if (refused.size) {
        for (const [failure, list] of refused) {
          this.#reject(list, failure.cause, {
            reason: 'sequence_seed_failed',
            message: `${failure.message} (${errorMessage(failure.cause)}); no sequence numbers were drawn for them`,
          });
        }
        const gone = new Set([...refused.values()].flat());
        open = items.filter((it) => !gone.has(it));
      }
      if (!open.length) return;
      const jobs: { name: string; data: { v: number; events: unknown[] }; opts: Record<string, unknown> }[] = [];
      let events: unknown[] = [];
      let bytes = 0;
      for (const { event } of open) {
        if (events.length && (events.length >= this.#maxEvents || bytes + event.bytes > this.#maxBytes)) {
          jobs.push({ name: EVENT_JOB_NAME, data: { v: CONTRACT_VERSION, events }, opts: this.#jobOpts });
          events = [];
          bytes = 0;
        }
        events.push(wire(event));
        bytes += event.bytes;
      }
      if (events.length) jobs.push({ name: EVENT_JOB_NAME, data: { v: CONTRACT_VERSION, events }, opts: this.#jobOpts });
      await this.#addBulk(jobs);
      this.stats.jobs += jobs.length;
      this.stats.enqueued += open.length;
      for (const it of open) it.resolve({ id: it.event.id, seq: it.event.seq });
    } catch (e) {
      this.#reject(open, e, this.#gate.explain(e));
    } finally {
      this.#unsettled -= items.length;
      this.stats.buffered = this.#unsettled;
    }
  }

  /**
   * BullMQ remembers a failed start-up for good (the queue's readiness promise stays rejected): on
   * PostgreSQL a queue made while the server was down, on Redis one whose start-up version check
   * (INFO) was cut off by a Redis crash or made before Redis was up would never send again, every
   * flush failing as "connection lost" while Redis is back (found by the chaos suite's Redis crash).
   * After such a failure the next call gets a fresh queue.
   */
  async #renewIfBroken(queue: EventsQueue, e: unknown): Promise<void> {
    const pgDown = isPostgresUrl(this.#target.connection) && this.#gate.explain(e).reason === 'postgres_unavailable';
    if ((pgDown || (await startFailed(queue))) && this.#queue === queue && !this.#closed) {
      this.#queue = this.#openQueue();
      void queue.close().catch(() => {});
    }
  }

  #reject(items: Pending[], cause: unknown, explained: { reason: EnqueueReason; message: string }): void {
    this.stats.failed += items.length;
    const err = new EnqueueError(
      items.map((i) => wire(i.event)),
      cause,
      explained,
    );
    for (const it of items) it.reject(err);
  }

  /**
   * Numbers the events that have none: one contiguous block per session, in emit order. Resolves with
   * the items that must not be sent, by seed failure (their session's stored seq could not be read);
   * rejects if the store failed (then the whole flush fails).
   */
  async #assignSequences(items: Pending[]): Promise<Map<SeedFailure, Pending[]>> {
    const need = new Map<string, Pending[]>();
    for (const it of items) {
      const { event } = it;
      if (event.seq !== null || event.sessionId === null || UNSEQUENCED.has(event.type)) continue;
      const list = need.get(event.sessionId);
      if (list) list.push(it);
      else need.set(event.sessionId, [it]);
    }
    const refused = new Map<SeedFailure, Pending[]>();
    if (!need.size) return refused;
    const blocks = [...need].map(([sid, list]) => this.#seqs.reserve(sid, list.length));
    const settled = await Promise.allSettled(blocks);
    let storeError: { e: unknown } | null = null;
    let i = 0;
    for (const list of need.values()) {
      const r = settled[i++];
      if (r.status === 'fulfilled') {
        let seq = r.value;
        for (const it of list) it.event.seq = seq++;
      } else if (r.reason instanceof SeedFailure) {
        const same = refused.get(r.reason);
        if (same) same.push(...list);
        else refused.set(r.reason, [...list]);
      } else storeError ??= { e: r.reason };
    }
    if (storeError) throw storeError.e;
    return refused;
  }
}

/** Session ids are compared as text: 42 and "42" are one session (the contract stores ids as text). */
function sessionKey(sessionId: string | number): string {
  if (!isId(sessionId)) throw new ContractError('sessionId', idReason(sessionId));
  return String(sessionId);
}

let lastMs = 0;
let lastIso = '';
/** Events emitted in the same millisecond share one ISO string instead of formatting a Date each. */
function nowIso(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

/** The event as it travels: one object shape for every event (absent ids are null). */
function wire(e: CheckedEvent): Record<string, unknown> {
  return { id: e.id, type: e.type, sessionId: e.sessionId, seq: e.seq, at: e.at, player: e.player, data: e.data };
}

// The typed helpers (producer.move(...), producer.vote(...), ...) are installed in the constructor.
export interface Producer extends Helpers {}

export function createProducer(opts: ProducerOptions): Producer {
  return new Producer(opts);
}

/** Whether the queue's start-up failed for good (its readiness promise rejected); false while it is still starting. */
async function startFailed(queue: EventsQueue): Promise<boolean> {
  return Promise.race([
    queue.waitUntilReady().then(
      () => false,
      () => true,
    ),
    new Promise<boolean>((r) => setImmediate(() => r(false))),
  ]);
}
