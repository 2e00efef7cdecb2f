/**
 * Per-session sequence numbers that survive the store losing its counters. Numbers come from a counter
 * per session, shared by every producer of the deployment: a Redis key (`{prefix}:seq:{sessionId}`,
 * ./redis-counters.ts) or, on the PostgreSQL queue backend, a row of `sequence_counters`
 * (./pg-counters.ts). Either can lose or roll a counter back (Redis: FLUSHALL, a failover to a lagging
 * replica, an AOF cut at the fsync window; both: 30 days of silence); drawing from such a counter
 * would hand out numbers already used. So each draw carries a floor: the highest number this process
 * issued or learned for the session, and, before the first draw, the session's highest stored seq from
 * `sequenceSeed` (PostgreSQL). A counter found missing or below its floor is raised to it first and the
 * re-seed is reported.
 *
 * Draws are single-flight: while one round trip is out, new requests queue and the next round draws
 * for all of them at once, each session's requests in the order they were made (so seqs follow emit
 * order across concurrent flushes), and a session waiting for its seed never holds up the others.
 *
 * The floor protects numbers, not events: events the store acknowledged and then lost with nothing
 * after them in their session leave no gap. So the allocator also remembers when it last drew for each
 * session, and `issuedSince` lists the sessions drawn for since a moment with their high-water marks:
 * after its Redis may have rolled back, the producer reports them through the queue (./issued-report.ts).
 */

import type { IssuedMark } from '../contract/issued.ts';

/**
 * Seconds a session's counter lives after its last draw. It bounds what Redis (or the table) keeps for finished
 * sessions; a session silent for longer is continued from the local high-water mark or the seed.
 */
export const SEQUENCE_KEY_TTL_SECONDS = 30 * 24 * 3600;

/** Sessions whose high-water mark one producer remembers; beyond this the least recently used is forgotten. */
export const MAX_TRACKED_SESSIONS = 100_000;

/**
 * Returns the highest stored seq of each given session (absent or 0: none stored). Called once per
 * flush for the sessions this process has not drawn for yet. `pgSequenceSeed(reader)` reads
 * `sessions.last_seq`.
 */
export type SequenceSeed = (sessionIds: string[]) => Promise<Map<string, number> | Record<string, number>>;

/** A counter the store had lost (`found: null`) or rolled back (`found` below `floor`), raised to `floor`. */
export interface SequenceReseed {
  sessionId: string;
  /** The counter's value before the draw; null when it was missing. */
  found: number | null;
  /** What it was raised to: the highest seq this process issued or learned for the session. */
  floor: number;
}

/** One session's part of a draw round. */
export interface Draw {
  sessionId: string;
  count: number;
  floor: number;
}

/**
 * Where the counters live. `draw` is one round trip for a whole round: each counter missing or below
 * its floor is set to the floor, then increased by its count (count 0 only raises it); it answers, in
 * the order of `draws`, the new value and the value found before (-1: missing). Errors are the store's
 * own; the producer's gate (`explain`) turns them into an EnqueueError reason.
 */
export interface SequenceCounters {
  draw(draws: Draw[]): Promise<{ last: number; found: number }[]>;
  /** The counter's value; null when there is none. */
  read(sessionId: string): Promise<number | null>;
}

/** A session's seed could not be read: its events must not get numbers (they could repeat stored ones). */
export class SeedFailure extends Error {
  readonly sessionIds: string[];
  constructor(sessionIds: string[], cause: unknown) {
    super(`sequenceSeed failed for session(s) ${sessionIds.slice(0, 5).join(', ')}${sessionIds.length > 5 ? ', …' : ''}`, { cause });
    this.name = 'SeedFailure';
    this.sessionIds = sessionIds;
  }
}

interface Tracked {
  /** Highest seq this process issued or learned for the session. */
  high: number;
  /** The seed was read (or given through seedSequence) since this entry was created. */
  seeded: boolean;
  /** When this process last drew numbers for the session (performance.now(); 0: never). */
  drawnAt: number;
}

interface Request {
  count: number;
  resolve(first: number): void;
  reject(e: unknown): void;
}

export interface SequenceOptions {
  counters: SequenceCounters;
  seed?: SequenceSeed;
  seedTimeoutMs: number;
  onReseed(r: SequenceReseed): void;
  maxTracked?: number;
}

export class SequenceAllocator {
  readonly #counters: SequenceCounters;
  readonly #seedFn: SequenceSeed | undefined;
  readonly #seedTimeoutMs: number;
  readonly #onReseed: (r: SequenceReseed) => void;
  readonly #maxTracked: number;
  /** Insertion order is recency order: a touch moves a session to the end, the first one is evicted. */
  readonly #tracked = new Map<string, Tracked>();
  /** Requests not yet drawn, per session, in the order they were made. */
  readonly #waiting = new Map<string, Request[]>();
  readonly #seeding = new Set<string>();
  #toSeed: string[] = [];
  #drawing = false;
  #roundScheduled = false;

  constructor(opts: SequenceOptions) {
    this.#counters = opts.counters;
    this.#seedFn = opts.seed;
    this.#seedTimeoutMs = opts.seedTimeoutMs;
    this.#onReseed = opts.onReseed;
    this.#maxTracked = opts.maxTracked ?? MAX_TRACKED_SESSIONS;
  }

  /**
   * Reserves `count` consecutive numbers for a session; resolves with the first. Requests made in one
   * tick share one round trip (and one seed call for the sessions new to this process). Rejects with
   * SeedFailure when the session's seed cannot be read, or with the store's error.
   */
  reserve(sessionId: string, count: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const list = this.#waiting.get(sessionId);
      if (list) list.push({ count, resolve, reject });
      else this.#waiting.set(sessionId, [{ count, resolve, reject }]);
      this.#scheduleRound();
    });
  }

  /** The last number issued for the session in this deployment: max(shared counter, local high-water), 0 if none. */
  async lastSeq(sessionId: string): Promise<number> {
    const counter = (await this.#counters.read(sessionId)) ?? 0;
    return this.#learn(sessionId, Number.isSafeInteger(counter) ? counter : 0, false).high;
  }

  /**
   * Raises the session's counter (and the local floor) to at least `lastStoredSeq`, never lowering
   * either. The value is what the database holds, so it also stands for the seed of this session.
   */
  async seed(sessionId: string, lastStoredSeq: number): Promise<void> {
    const floor = this.#learn(sessionId, lastStoredSeq, true).high;
    await this.#counters.draw([{ sessionId, count: 0, floor }]);
  }

  /**
   * The sessions this process drew numbers for at or after `since` (performance.now()), each with the
   * highest number it issued or learned for it: what an issued-seq report carries.
   */
  issuedSince(since: number): IssuedMark[] {
    const out: IssuedMark[] = [];
    for (const [sessionId, t] of this.#tracked) if (t.drawnAt > 0 && t.drawnAt >= since && t.high > 0) out.push({ sessionId, seq: t.high });
    return out;
  }

  /**
   * Raises the sessions' counters to their marks (never lowering one), in rounds of `chunk`, reporting
   * each counter found missing or below as a re-seed: after a rollback no producer of the deployment
   * draws a number this one issued, even for a session it never draws for again.
   */
  async raise(marks: readonly IssuedMark[], chunk = 1000): Promise<void> {
    for (let i = 0; i < marks.length; i += chunk) {
      const part = marks.slice(i, i + chunk);
      const reply = await this.#counters.draw(part.map((m) => ({ sessionId: m.sessionId, count: 0, floor: m.seq })));
      part.forEach((m, j) => {
        const { found } = reply[j]!;
        if (found < m.seq) this.#onReseed({ sessionId: m.sessionId, found: found < 0 ? null : found, floor: m.seq });
      });
    }
  }

  /** Raises the local high-water mark (and marks the seed read); returns the entry, now the most recent. */
  #learn(sessionId: string, seq: number, seeded: boolean): Tracked {
    let t = this.#tracked.get(sessionId);
    if (t) this.#tracked.delete(sessionId);
    else t = { high: 0, seeded: false, drawnAt: 0 };
    this.#tracked.set(sessionId, t);
    if (this.#tracked.size > this.#maxTracked) this.#tracked.delete(this.#tracked.keys().next().value!);
    if (seq > t.high) t.high = seq;
    if (seeded) t.seeded = true;
    return t;
  }

  #needsSeed(sessionId: string): boolean {
    return this.#seedFn !== undefined && !this.#tracked.get(sessionId)?.seeded;
  }

  #scheduleRound(): void {
    if (this.#roundScheduled || this.#drawing) return;
    this.#roundScheduled = true;
    queueMicrotask(() => {
      this.#roundScheduled = false;
      void this.#round();
    });
  }

  /** Draws for every waiting session whose floor is known, in one round trip. */
  async #round(): Promise<void> {
    if (this.#drawing) return;
    const batch: [string, Request[], number][] = [];
    for (const [sid, list] of this.#waiting) {
      // First draw of this process for the session (or its entry was evicted): read the seed first, so
      // a counter the store lost cannot hand out numbers the database already holds.
      if (this.#needsSeed(sid)) {
        this.#requestSeed(sid);
        continue;
      }
      this.#waiting.delete(sid);
      batch.push([sid, list, this.#tracked.get(sid)?.high ?? 0]);
    }
    if (!batch.length) return;
    this.#drawing = true;
    try {
      const reply = await this.#counters.draw(batch.map(([sessionId, list, floor]) => ({ sessionId, count: list.reduce((n, r) => n + r.count, 0), floor })));
      const now = performance.now();
      batch.forEach(([sid, list, floor], i) => {
        const { last, found } = reply[i]!;
        let next = last - list.reduce((n, r) => n + r.count, 0) + 1;
        this.#learn(sid, last, false).drawnAt = now;
        // A missing counter with floor 0 is simply a new session.
        if (floor > 0 && found < floor) this.#onReseed({ sessionId: sid, found: found < 0 ? null : found, floor });
        for (const r of list) {
          r.resolve(next);
          next += r.count;
        }
      });
    } catch (e) {
      for (const [, list] of batch) for (const r of list) r.reject(e);
    } finally {
      this.#drawing = false;
      if (this.#waiting.size) this.#scheduleRound();
    }
  }

  #requestSeed(sessionId: string): void {
    if (this.#seeding.has(sessionId)) return;
    this.#seeding.add(sessionId);
    this.#toSeed.push(sessionId);
    // Every session of the round is collected before the call: one seed call per flush.
    if (this.#toSeed.length === 1) queueMicrotask(() => void this.#runSeed());
  }

  async #runSeed(): Promise<void> {
    const ids = this.#toSeed;
    this.#toSeed = [];
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`sequenceSeed did not answer within ${this.#seedTimeoutMs} ms`)), this.#seedTimeoutMs);
      });
      // A hung seed must not hold the session's events forever: they are refused (and can be re-emitted).
      const result = await Promise.race([Promise.resolve().then(() => this.#seedFn!(ids)), timeout]);
      const values = ids.map((id) => {
        const v = result instanceof Map ? result.get(id) : Object.hasOwn(result, id) ? result[id] : undefined;
        const n = v === undefined || v === null ? 0 : Number(v);
        if (!Number.isSafeInteger(n) || n < 0) throw new Error(`sequenceSeed returned ${String(v)} for session ${id}; expected an integer >= 0`);
        return n;
      });
      ids.forEach((id, i) => this.#learn(id, values[i], true));
    } catch (e) {
      const failure = new SeedFailure(ids, e);
      for (const id of ids) {
        const list = this.#waiting.get(id);
        this.#waiting.delete(id);
        if (list) for (const r of list) r.reject(failure);
      }
    } finally {
      clearTimeout(timer);
      for (const id of ids) this.#seeding.delete(id);
      this.#scheduleRound();
    }
  }
}
