/**
 * The producer SDK: validates events, assigns ids and per-session sequence numbers, and packs them
 * into BullMQ jobs by count, bytes and a short linger. An awaited emit resolves once its job is in
 * Redis. The buffer is bounded: when Redis is slow or gone, emits fail fast instead of piling up.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { EventData, EventType } from '../contract/events.ts';
import { uuidv7 } from '../contract/ids.ts';
import {
  CONTRACT_VERSION,
  DEFAULT_LIMITS,
  DEFAULT_QUEUE_NAME,
  DEFAULT_QUEUE_PREFIX,
  EVENT_JOB_NAME,
  MAX_EVENTS_PER_JOB,
  sequenceKey,
  type Limits,
} from '../contract/limits.ts';
import { validateEvent, type CheckedEvent } from '../contract/validate.ts';
import { BackpressureError, ClosedError, EnqueueError } from '../errors.ts';

export interface ProducerOptions {
  /** An ioredis client or a redis:// URL. */
  connection: Redis | string;
  /** @defaultValue gp */
  prefix?: string;
  /** @defaultValue events */
  queueName?: string;
  /** Events per job at most. @defaultValue 100 */
  maxBatchEvents?: number;
  /** JSON bytes per job at most. @defaultValue 262144 */
  maxBatchBytes?: number;
  /** How long an event may wait for companions before its job is sent. @defaultValue 5 */
  lingerMs?: number;
  /** Events accepted but not yet in Redis; past this, emits are refused. @defaultValue 20000 */
  maxBufferedEvents?: number;
  /** Contract limits; must not be looser than the workers'. */
  limits?: Partial<Limits>;
  /** BullMQ retry policy for jobs whose write fails transiently. @defaultValue 20 attempts, exponential from 1 s */
  attempts?: number;
  /** Seconds a failed job is kept in Redis for inspection. @defaultValue 604800 (7 days) */
  keepFailedSeconds?: number;
  /** How long a send waits for a (re)connecting Redis before failing. @defaultValue 1000 */
  readyTimeoutMs?: number;
  /**
   * Where missing sequence numbers come from. `redis` (default) draws them from a per-session counter
   * in Redis (`{prefix}:seq:{sessionId}`), so a restarted game server continues where it stopped.
   */
  sequence?: 'redis';
}

/** Envelope fields every helper accepts next to the event's own data. */
export interface EnvelopeInput {
  sessionId: string | number;
  player?: string | number;
  /** Defaults to a fresh UUIDv7. Re-emitting with the same id is deduplicated by workers. */
  id?: string;
  /** Per-session sequence number; assigned from Redis when absent. */
  seq?: number;
  /** Defaults to now. */
  at?: string | Date;
}

type QueueEnvelopeInput = Omit<EnvelopeInput, 'sessionId'> & { sessionId?: string | number };

/** What a helper takes: envelope fields and the event's data fields side by side. */
export type EventInput<T extends EventType> = (T extends `queue.${string}` ? QueueEnvelopeInput : EnvelopeInput) & EventData<T>;

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
} as const satisfies Record<string, EventType>;

type Helpers = { [K in keyof typeof HELPERS]: (input: EventInput<(typeof HELPERS)[K]>) => Promise<Emitted> };

interface Pending {
  event: CheckedEvent;
  resolve(e: Emitted): void;
  reject(e: unknown): void;
}

export interface ProducerStats {
  emitted: number;
  enqueued: number;
  jobs: number;
  failed: number;
  buffered: number;
}

/**
 * One round trip for every session of a flush: INCRBY each counter by its event count, refresh the
 * TTL, return the new values. KEYS = counters; ARGV[1] = ttl seconds, ARGV[2..] = counts.
 */
const ASSIGN_SEQ_LUA = `
local out = {}
for i, key in ipairs(KEYS) do
  out[i] = redis.call('INCRBY', key, ARGV[i + 1])
  redis.call('EXPIRE', key, ARGV[1])
end
return out`;

interface SeqClient {
  gpAssignSeq(numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

const ENVELOPE_INPUT = new Set(['sessionId', 'player', 'id', 'seq', 'at']);
const SEQ_KEY_TTL_SECONDS = 30 * 24 * 3600;

export class Producer {
  readonly queue: Queue;
  readonly #redis: Redis;
  readonly #ownsRedis: boolean;
  readonly #prefix: string;
  readonly #maxEvents: number;
  readonly #maxBytes: number;
  readonly #linger: number;
  readonly #maxBuffered: number;
  readonly #limits: Limits;
  readonly #jobOpts: Record<string, unknown>;
  readonly #readyTimeout: number;
  #buffer: Pending[] = [];
  #bufferBytes = 0;
  /** Accepted, not yet acknowledged by Redis (in the buffer or in a flush). */
  #unsettled = 0;
  #timer: NodeJS.Timeout | null = null;
  #immediate: NodeJS.Immediate | null = null;
  #inflight = new Set<Promise<void>>();
  #closed = false;
  readonly stats: ProducerStats = { emitted: 0, enqueued: 0, jobs: 0, failed: 0, buffered: 0 };

  constructor(opts: ProducerOptions) {
    if (typeof opts.connection === 'string') {
      // Fail fast: sends are gated on a ready connection (#ready) and a command caught by a
      // disconnect is retried once, not held in memory until Redis returns.
      this.#redis = new Redis(opts.connection, { maxRetriesPerRequest: 1 });
      this.#redis.on('error', () => {}); // surfaced through emit/flush rejections instead
      this.#ownsRedis = true;
    } else {
      this.#redis = opts.connection;
      this.#ownsRedis = false;
    }
    this.#prefix = opts.prefix ?? DEFAULT_QUEUE_PREFIX;
    this.#maxEvents = Math.min(opts.maxBatchEvents ?? 100, MAX_EVENTS_PER_JOB);
    this.#maxBytes = opts.maxBatchBytes ?? 256 * 1024;
    this.#linger = opts.lingerMs ?? 5;
    this.#maxBuffered = opts.maxBufferedEvents ?? 20_000;
    this.#limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.#readyTimeout = opts.readyTimeoutMs ?? 1000;
    this.#jobOpts = {
      removeOnComplete: true,
      removeOnFail: { age: opts.keepFailedSeconds ?? 7 * 24 * 3600 },
      attempts: opts.attempts ?? 20,
      backoff: { type: 'exponential', delay: 1000 },
    };
    this.queue = new Queue(opts.queueName ?? DEFAULT_QUEUE_NAME, {
      connection: this.#redis,
      prefix: this.#prefix,
      skipWaitingForReady: true,
    });
    this.queue.on('error', () => {});
    if (!('gpAssignSeq' in this.#redis)) this.#redis.defineCommand('gpAssignSeq', { lua: ASSIGN_SEQ_LUA });
    for (const [name, type] of Object.entries(HELPERS)) {
      (this as unknown as Record<string, unknown>)[name] = (input: Record<string, unknown>) => this.emitInput(type, input);
    }
  }

  /**
   * Emits one event given in wire form (`{ type, sessionId, data, ... }`). A contract violation rejects
   * with a ContractError naming the field; nothing is enqueued for it.
   */
  emit<T extends EventType>(event: {
    type: T;
    sessionId?: string | number | null;
    player?: string | number | null;
    id?: string;
    seq?: number | null;
    at?: string | Date;
    data: EventData<T>;
  }): Promise<Emitted> {
    try {
      if (this.#closed) throw new ClosedError('producer');
      const at = event.at instanceof Date ? event.at.toISOString() : (event.at ?? nowIso());
      const checked = validateEvent(
        {
          id: event.id ?? uuidv7(),
          type: event.type,
          sessionId: event.sessionId ?? undefined,
          seq: event.seq ?? undefined,
          at,
          player: event.player ?? undefined,
          data: event.data,
        },
        { limits: this.#limits, clone: true, seqAssignedLater: true },
      );
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
      data: data as EventData<T>,
    });
  }

  #accept(event: CheckedEvent): Promise<Emitted> {
    if (this.#unsettled >= this.#maxBuffered) return Promise.reject(new BackpressureError(this.#unsettled, this.#maxBuffered));
    return new Promise<Emitted>((resolve, reject) => {
      this.#buffer.push({ event, resolve, reject });
      this.#bufferBytes += event.bytes;
      this.#unsettled++;
      this.stats.emitted++;
      // A full job's worth goes out on the next turn of the event loop, so a burst of emits from
      // one tick still shares a single addBulk round trip; otherwise wait at most lingerMs.
      if (this.#buffer.length >= this.#maxEvents || this.#bufferBytes >= this.#maxBytes) {
        if (!this.#immediate) this.#immediate = setImmediate(() => this.#flushBuffer());
      } else if (!this.#timer) this.#timer = setTimeout(() => this.#flushBuffer(), this.#linger);
    });
  }

  /** Sends everything buffered now and waits until every send so far has settled. */
  async flush(): Promise<void> {
    this.#flushBuffer();
    while (this.#inflight.size) await Promise.allSettled([...this.#inflight]);
  }

  /** Flushes, then releases the queue (and the Redis client if the producer made it). */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    await this.queue.close();
    if (this.#ownsRedis) await this.#redis.quit().catch(() => this.#redis.disconnect());
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
    try {
      await this.#ready();
      await this.#assignSequences(items);
      const jobs: { name: string; data: { v: number; events: unknown[] }; opts: Record<string, unknown> }[] = [];
      let events: unknown[] = [];
      let bytes = 0;
      for (const { event } of items) {
        if (events.length && (events.length >= this.#maxEvents || bytes + event.bytes > this.#maxBytes)) {
          jobs.push({ name: EVENT_JOB_NAME, data: { v: CONTRACT_VERSION, events }, opts: this.#jobOpts });
          events = [];
          bytes = 0;
        }
        events.push(wire(event));
        bytes += event.bytes;
      }
      if (events.length) jobs.push({ name: EVENT_JOB_NAME, data: { v: CONTRACT_VERSION, events }, opts: this.#jobOpts });
      await this.queue.addBulk(jobs);
      this.stats.jobs += jobs.length;
      this.stats.enqueued += items.length;
      for (const it of items) it.resolve({ id: it.event.id, seq: it.event.seq });
    } catch (e) {
      this.stats.failed += items.length;
      const err = new EnqueueError(
        items.map((i) => wire(i.event)),
        e,
      );
      for (const it of items) it.reject(err);
    } finally {
      this.#unsettled -= items.length;
    }
  }

  /** Waits a bounded time for a connecting client; never queues commands for a dead server. */
  async #ready(): Promise<void> {
    const r = this.#redis;
    if (r.status === 'ready') return;
    if (r.status === 'end' || r.status === 'close') throw new Error(`Redis connection is ${r.status}`);
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        r.off('ready', onReady);
        if (err) reject(err);
        else resolve();
      };
      const onReady = () => done();
      const timer = setTimeout(() => done(new Error(`Redis not reachable within ${this.#readyTimeout} ms (status ${r.status})`)), this.#readyTimeout);
      r.on('ready', onReady);
    });
  }

  /**
   * Draws missing sequence numbers from Redis in one round trip: INCRBY per session hands out a
   * contiguous block, in emit order, that no other producer (or a restarted one) will reuse.
   */
  async #assignSequences(items: Pending[]): Promise<void> {
    const need = new Map<string, CheckedEvent[]>();
    for (const { event } of items) {
      if (event.seq !== null || event.sessionId === null) continue;
      const list = need.get(event.sessionId);
      if (list) list.push(event);
      else need.set(event.sessionId, [event]);
    }
    if (!need.size) return;
    const keys: string[] = [];
    const counts: number[] = [];
    for (const [sid, list] of need) {
      keys.push(sequenceKey(this.#prefix, sid));
      counts.push(list.length);
    }
    const lasts = (await (this.#redis as unknown as SeqClient).gpAssignSeq(keys.length, ...keys, SEQ_KEY_TTL_SECONDS, ...counts)) as number[];
    let i = 0;
    for (const list of need.values()) {
      let seq = Number(lasts[i]) - list.length;
      i++;
      for (const ev of list) ev.seq = ++seq;
    }
  }
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
